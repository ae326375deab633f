// libFuzzer target: one manifest file -> LocalCluster::load() (the local backend's loader of a folder of
// Kubernetes YAML), then the model views built from what loaded (VAs, Deployments, pods, HPAs, the
// ConfigMaps). The input is written as the folder's only file; every rejection is an error value
// (sdk::Result) and every bad field a warning, so any exception, sanitizer report or crash is a finding.
#include <unistd.h>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cluster/local_cluster.h"
#include "model/model_builder.h"

namespace {

// One private folder per fuzzing process, under TMPDIR (never the repository).
const std::filesystem::path& folder() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/wva-fuzz-manifest-XXXXXX";
    if (!mkdtemp(templ.data())) std::abort();
    return std::filesystem::path(templ);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = folder() / "manifests.yaml";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) std::abort();
  }
  wva::framework::LocalCluster cluster(folder(), "workload-variant-autoscaler-system");
  const auto loaded = cluster.load();
  if (!loaded) {
    if (loaded.error().message.empty()) std::abort();
    return 0;
  }
  // A loaded folder answers list() for what it holds.
  if (!cluster.list("VariantAutoscaling", "default")) std::abort();
  const auto models = wva::framework::build_models(cluster);
  if (!models && models.error().message.empty()) std::abort();
  return 0;
}
