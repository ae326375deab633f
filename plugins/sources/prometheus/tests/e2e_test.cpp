// End to end with real processes only: `wva-emulator` serves vLLM metrics for the quickstart's pods, a
// real Prometheus scrapes it, and `wva run` (prometheus source -> saturation -> log + status sinks)
// decides from them. Then Prometheus is stopped: the decisions are held (not dropped to the minimum)
// and the VariantAutoscaling status says MetricsAvailable=False with the FAQ's message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "real_prometheus.h"
#include "subprocess.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using wva::prometheus::testing::RealPrometheus;
using wva::testing::Process;

// The last complete JSON line of `out` whose decisions satisfy `pred`, if any.
template <class Pred>
std::optional<json> find_cycle(const std::string& out, Pred pred) {
  std::istringstream lines(out);
  std::optional<json> found;
  for (std::string line; std::getline(lines, line);) {
    auto doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object() && doc.contains("decisions") && pred(doc["decisions"])) found = doc;
  }
  return found;
}

json decision(const json& decisions, const std::string& variant) {
  for (const auto& d : decisions)
    if (d.value("variant", "") == variant) return d;
  return json();
}

std::optional<json> metrics_condition(const fs::path& status_file) {
  std::ifstream in(status_file);
  auto doc = json::parse(in, nullptr, false);
  if (!doc.is_object() || !doc.contains("llm/llama-8b")) return std::nullopt;
  for (const auto& c : doc["llm/llama-8b"].value("conditions", json::array()))
    if (c.value("type", "") == "MetricsAvailable") return c;
  return std::nullopt;
}

TEST(EndToEnd, DecidesFromPrometheusThenHoldsWhenItGoesAway) {
  const std::string wva = WVA_BUILD_DIR "/bin/wva";
  const std::string emulator = WVA_BUILD_DIR "/bin/wva-emulator";
  auto prometheus = wva::prometheus::testing::find_in_path("prometheus");
  ASSERT_TRUE(prometheus) << "the prometheus binary is not installed (scripts/install-deps.sh installs it)";

  char tmpl[] = "/tmp/wva-prom-e2e-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  for (const auto& e : fs::directory_iterator(WVA_SOURCE_DIR "/examples/quickstart"))
    if (e.path().filename() != "30-config.yaml") fs::copy(e.path(), dir / e.path().filename());
  std::ofstream(dir / "31-costs.yaml") << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: accelerator-unitcost, "
                                          "namespace: workload-variant-autoscaler-system}\ndata:\n  costs: |\n"
                                          "    A100: 30.0\n    H100: 50.0\n";

  // The quickstart's four pods, idle, as one wva-emulator process.
  const int emu_port = wva::prometheus::testing::free_port();
  Process emu({emulator, "--local", dir.string(), "--listen", "127.0.0.1:" + std::to_string(emu_port)});
  RealPrometheus prom(*prometheus, {"127.0.0.1:" + std::to_string(emu_port)});
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();
  std::ofstream(dir / "30-config.yaml")
      << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wva-pipelines, namespace: "
         "workload-variant-autoscaler-system}\ndata:\n  pipelines.yaml: |\n"
         "    sources:\n      prometheus: {url: \""
      << prom.url()
      << "\", timeout: 2s, retries: 0}\n"
         "    analyzers: {saturation: {}}\n    sinks: {log: {output: stderr}, status: {}}\n"
         "    pipelines:\n      default: {source: prometheus, analyzers: [saturation], sinks: [log, status]}\n";

  const fs::path status_file = dir / "status.json";
  Process run({wva, "run", "--local", dir.string(), "--interval", "1s", "--output", "json", "--status-file",
               status_file.string()});

  // 1. Idle pods: the N-1 rule removes one replica of the most expensive variant (H100 50 > A100 30).
  std::optional<json> decided;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!decided && std::chrono::steady_clock::now() < deadline) {
    run.pump(std::chrono::milliseconds(200));
    decided = find_cycle(run.out, [](const json& ds) {
      return decision(ds, "llama-8b-h100").value("desired", -1) == 1 &&
             !decision(ds, "llama-8b-h100").value("held", false);
    });
  }
  ASSERT_TRUE(decided) << "no decision from Prometheus data\nstdout:\n" << run.out << "\nstderr:\n" << run.err;
  EXPECT_EQ(decision((*decided)["decisions"], "llama-8b-a100").value("desired", -1), 2) << decided->dump();
  auto available = metrics_condition(status_file);
  ASSERT_TRUE(available) << "no status written";
  EXPECT_EQ((*available)["status"], "True") << available->dump();

  // 2. Prometheus goes away: decisions are held at their last values (A100 stays 2, above its min of 1).
  prom.stop();
  const std::size_t seen = run.out.size();
  std::optional<json> held, down;
  const auto deadline2 = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((!held || !down) && std::chrono::steady_clock::now() < deadline2) {
    run.pump(std::chrono::milliseconds(200));
    held = find_cycle(run.out.substr(seen), [](const json& ds) {
      return decision(ds, "llama-8b-h100").value("held", false) && decision(ds, "llama-8b-a100").value("held", false);
    });
    if (auto c = metrics_condition(status_file); c && (*c)["status"] == "False") down = c;
  }
  ASSERT_TRUE(held) << "no held decisions after Prometheus stopped\nstdout:\n" << run.out.substr(seen);
  EXPECT_EQ(decision((*held)["decisions"], "llama-8b-h100")["desired"], 1) << held->dump();
  EXPECT_EQ(decision((*held)["decisions"], "llama-8b-a100")["desired"], 2) << held->dump();
  ASSERT_TRUE(down) << "status never said MetricsAvailable=False";
  EXPECT_EQ((*down)["reason"], "PrometheusError") << down->dump();
  EXPECT_NE((*down)["message"].get<std::string>().find("Failed to get metrics from Prometheus"), std::string::npos)
      << down->dump();
  EXPECT_NE(run.err.find("Failed to get metrics from Prometheus"), std::string::npos);

  run.signal(SIGTERM);
  EXPECT_EQ(run.wait(std::chrono::seconds(10)), 0) << run.err;
  emu.signal(SIGTERM);
  emu.wait(std::chrono::seconds(5));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
