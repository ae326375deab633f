// Initial sync + one cycle of the real `wva` binary (`run --once`) against FakeApiServer (in this process,
// standing in for kube-apiserver) holding N VariantAutoscalings, each with 3 Deployments of 4 pods (with
// their ReplicaSets). Reports the controller's wall time, CPU time (user + system) and peak RSS, and the
// sync time it logs ("caches synced in X ms").
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "fake_apiserver.h"
#include "kube_objects.h"

namespace {

using namespace wva::testing;
namespace fs = std::filesystem;

void seed(FakeApiServer& server, int models) {
  std::ostringstream fixed;
  fixed << "sources:\n  emulator:\n    fixedMetrics:\n";
  for (int m = 0; m < models; ++m) {
    const std::string model = "org/model-" + std::to_string(m);
    const std::string label = "org.model-" + std::to_string(m);
    server.create(variant_autoscaling("bench", "va-" + std::to_string(m), model));
    for (int v = 0; v < 3; ++v) {
      const std::string name = "model-" + std::to_string(m) + "-v" + std::to_string(v);
      server.create(deployment("bench", name, 4, label));
      server.create(replicaset("bench", name, "6b7c"));
      // Metrics for the first 100 models (their decisions change the status); the others have none
      // (MetricsAvailable=False, held), which keeps the emulator's config small at 10,000 models.
      if (m < 100) fixed << "      " << name << ":\n";
      for (int p = 0; p < 4; ++p) {
        server.create(pod("bench", name + "-6b7c", name, "p" + std::to_string(p)));
        if (m < 100) fixed << "        - {kvCacheUsage: 0.5, waiting: 1, running: 10}\n";
      }
    }
  }
  fixed << "analyzers:\n  saturation: {}\nsinks:\n  status: {}\npipelines:\n  default:\n    selector: {}\n"
           "    interval: 60s\n    source: emulator\n    analyzers: [saturation]\n    sinks: [status]\n";
  server.create(config_map("workload-variant-autoscaler-system", "wva-pipelines", {{"pipelines.yaml", fixed.str()}}));
  server.create(config_map("workload-variant-autoscaler-system", "accelerator-unitcost", {{"costs", "H100: 50.0\n"}}));
}

void BM_SyncAndOneCycle(benchmark::State& state) {
  const int models = static_cast<int>(state.range(0));
  FakeApiServer server;
  seed(server, models);
  server.compact();  // the seeding history is not needed (wva lists first) and would double the memory
  const fs::path dir = fs::temp_directory_path() / ("wva-kube-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cfg = write_kubeconfig((dir / "config").string(), server.url());
  const std::string wva = std::string(WVA_BUILD_DIR) + "/bin/wva";
  for (auto _ : state) {
    const std::string err_file = (dir / "stderr").string();
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      freopen("/dev/null", "w", stdout);
      freopen(err_file.c_str(), "w", stderr);
      execl(wva.c_str(), wva.c_str(), "run", "--kubeconfig", cfg.c_str(), "--once", "--output", "json",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(wall);
    std::ifstream in(err_file);
    std::stringstream text;
    text << in.rdbuf();
    std::smatch m;
    const std::string log = text.str();
    if (std::regex_search(log, m, std::regex("caches synced in ([0-9]+) ms")))
      state.counters["sync_s"] = std::stod(m[1]) / 1000.0;
    state.counters["wall_s"] = wall;
    state.counters["cpu_s"] =
        usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    state.counters["peak_rss_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
    state.counters["status_patches"] = static_cast<double>(server.count("PATCH", "/status"));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError(("wva failed: " + log).c_str());
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_SyncAndOneCycle)->Arg(1000)->Arg(10000)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
