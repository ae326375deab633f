// End to end with real processes: the FAQ's VariantAutoscaling (`spec.modelId`, no scaleTargetRef) over
// Deployments that carry no llmd.ai/model label. `wva-emulator` serves vLLM metrics (model_name,
// namespace, pod) for the quickstart's pods, a real Prometheus scrapes it, and `wva run` finds the two
// variants through the prometheus source's model discovery and decides for them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "real_prometheus.h"
#include "subprocess.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using wva::prometheus::testing::RealPrometheus;
using wva::testing::Process;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The variants of the newest `--output json` cycle that decided any.
std::set<std::string> decided_variants(const std::string& out) {
  std::istringstream lines(out);
  std::set<std::string> latest;
  for (std::string line; std::getline(lines, line);) {
    auto doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("decisions") || doc["decisions"].empty()) continue;
    latest.clear();
    for (const auto& d : doc["decisions"]) latest.insert(d.value("variant", ""));
  }
  return latest;
}

TEST(EndToEnd, FindsUnlabelledVariantsByThePodsMetrics) {
  const std::string wva = WVA_BUILD_DIR "/bin/wva";
  const std::string emulator = WVA_BUILD_DIR "/bin/wva-emulator";
  auto prometheus = wva::prometheus::testing::find_in_path("prometheus");
  ASSERT_TRUE(prometheus) << "the prometheus binary is not installed (scripts/install-deps.sh installs it)";

  char tmpl[] = "/tmp/wva-prom-discovery-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  const fs::path emulated = dir / "emulated", cluster = dir / "cluster";
  fs::create_directories(emulated);
  fs::create_directories(cluster);
  // The emulator serves the quickstart's pods as they are (it needs to know their model to serve it).
  for (const auto& e : fs::directory_iterator(WVA_SOURCE_DIR "/examples/quickstart"))
    if (e.path().filename() != "30-config.yaml") fs::copy(e.path(), emulated / e.path().filename());
  // The controller sees the same objects without any model label, and the VA as the FAQ writes it.
  fs::copy(WVA_SOURCE_DIR "/examples/quickstart/00-namespaces.yaml", cluster / "00-namespaces.yaml");
  std::string deployments = read(WVA_SOURCE_DIR "/examples/quickstart/10-deployments.yaml");
  deployments = std::regex_replace(deployments, std::regex(R"(\n *llmd\.ai/model: meta\.llama-3\.1-8b[^\n]*)"), "");
  deployments = std::regex_replace(deployments, std::regex(R"(, llmd\.ai/model: meta\.llama-3\.1-8b)"), "");
  ASSERT_EQ(deployments.find("llmd.ai/model"), std::string::npos) << deployments;
  std::ofstream(cluster / "10-deployments.yaml") << deployments;
  std::ofstream(cluster / "20-va.yaml") << "apiVersion: llmd.ai/v1alpha1\nkind: VariantAutoscaling\n"
                                           "metadata: {name: llama-8b-autoscaler, namespace: llm}\n"
                                           "spec: {modelId: meta/llama-3.1-8b}\n";

  const int emu_port = wva::prometheus::testing::free_port();
  Process emu({emulator, "--local", emulated.string(), "--listen", "127.0.0.1:" + std::to_string(emu_port)});
  RealPrometheus prom(*prometheus, {"127.0.0.1:" + std::to_string(emu_port)});
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();
  // The first scrape lands a few seconds after start; discovery asks at start and then every 30 s, so wait
  // for the pods' series before starting the controller.
  {
    httplib::Client c("127.0.0.1", prom.port());
    bool scraped = false;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!scraped && std::chrono::steady_clock::now() < until) {
      auto r = c.Get("/api/v1/query?query=count(vllm:num_requests_running)");
      scraped = r && r->status == 200 && r->body.find("\"4\"") != std::string::npos;
      if (!scraped) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ASSERT_TRUE(scraped) << "Prometheus never scraped the emulator's four pods\n" << prom.log();
  }
  std::ofstream(cluster / "30-config.yaml")
      << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wva-pipelines, namespace: "
         "workload-variant-autoscaler-system}\ndata:\n  pipelines.yaml: |\n"
         "    sources:\n      prometheus: {url: \""
      << prom.url()
      << "\", timeout: 2s, retries: 0}\n"
         "    analyzers: {saturation: {}}\n    sinks: {log: {output: stderr}, status: {}}\n"
         "    pipelines:\n      default: {source: prometheus, analyzers: [saturation], sinks: [log, status]}\n";

  const fs::path status_file = dir / "status.json";
  Process run({wva, "run", "--local", cluster.string(), "--interval", "1s", "--output", "json", "--status-file",
               status_file.string()});
  std::set<std::string> variants;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (variants.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    run.pump(std::chrono::milliseconds(200));
    variants = decided_variants(run.out);
  }
  EXPECT_EQ(variants, (std::set<std::string>{"llama-8b-a100", "llama-8b-h100"})) << "stdout:\n"
                                                                                 << run.out << "\nstderr:\n"
                                                                                 << run.err;
  auto status = json::parse(read(status_file), nullptr, false);
  ASSERT_TRUE(status.is_object()) << read(status_file);
  bool resolved = false;
  for (const auto& c : status["llm/llama-8b-autoscaler"].value("conditions", json::array()))
    if (c.value("type", "") == "TargetResolved")
      resolved = c.value("status", "") == "True" &&
                 c.value("message", "").find("their pods report model_name=meta/llama-3.1-8b") != std::string::npos;
  EXPECT_TRUE(resolved) << status.dump(2);

  run.signal(SIGTERM);
  EXPECT_EQ(run.wait(std::chrono::seconds(10)), 0) << run.err;
  emu.signal(SIGTERM);
  emu.wait(std::chrono::seconds(5));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
