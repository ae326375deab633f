// `wva simulate` end to end on a short scenario (the example manifests, 15 simulated minutes of a step
// load): the JSON report, report.json and a self-contained report.html with SVG charts.
// Skips when the wva binary or libsaturation.so are not built (e.g. with a plugin filter).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include "prerequisite.h"

namespace {

namespace fs = std::filesystem;

struct Command {
  int rc;
  std::string out;
};

Command run(const std::string& command) {
  Command c{-1, {}};
  FILE* f = popen(command.c_str(), "r");
  if (!f) return c;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) c.out.append(buf, n);
  const int status = pclose(f);
  c.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return c;
}

TEST(WvaSimulate, StepLoadReportWithChartsPerPipeline) {
  const fs::path wva = fs::path(WVA_BUILD_DIR) / "bin" / "wva";
  WVA_REQUIRE(fs::exists(wva) && fs::exists(fs::path(WVA_PLUGIN_DIR) / "libsaturation.so") &&
              fs::exists(fs::path(WVA_PLUGIN_DIR) / "libemulator.so"))
      << "needs bin/wva, libsaturation.so and libemulator.so";
  const fs::path dir = fs::temp_directory_path() / ("wva-simulate-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::copy(fs::path(WVA_SOURCE_DIR) / "examples/scenarios/llama-8b-h100-h200", dir / "manifests");
  std::ofstream(dir / "step.yaml") << R"(
name: step
duration: 20m
manifests: manifests
emulator:
  variants:
    llama-8b-h100: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H100, startupDelay: 60s,
                    costPerGpuHour: 3.0, minReplicas: 1, maxReplicas: 8}
    llama-8b-h200: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H200, startupDelay: 60s,
                    costPerGpuHour: 3.9, minReplicas: 1, maxReplicas: 8}
  workloads:
    - {namespace: llm, model: meta/llama-3.1-8b, rate: {steps: [{at: 0s, rate: 5}, {at: 2m, rate: 60}, {at: 8m, rate: 5}]},
       inputTokens: 1500, outputTokens: 150, slo: {ttftMs: 2000, itlMs: 50}}
analyzers:
  sat: {plugin: saturation, mode: improved}
pipelines:
  improved: {interval: 30s, analyzers: [sat]}
)";
  const Command c = run(wva.string() + " simulate " + (dir / "step.yaml").string() + " --report " +
                        (dir / "out").string() + " --output json --plugin-path " WVA_PLUGIN_DIR " 2>&1");
  ASSERT_EQ(c.rc, 0) << c.out;
  const auto json_start = c.out.find('{');
  ASSERT_NE(json_start, std::string::npos) << c.out;
  const auto report = nlohmann::json::parse(c.out.substr(json_start), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << c.out;
  ASSERT_EQ(report["runs"].size(), 1u);
  const auto& run0 = report["runs"][0];
  EXPECT_EQ(run0["pipeline"], "improved");
  EXPECT_EQ(run0["cycles"], 41) << "20 min at 30 s, the first cycle at t = 0";
  const auto& model = run0["summary"]["models"][0];
  EXPECT_GT(model["requests"].get<int>(), 15000);
  EXPECT_GT(model["completed"].get<int>(), 0.9 * model["requests"].get<int>());
  EXPECT_TRUE(model["sloAttainment"].is_number());
  int max_pods = 0, changes = 0, final_replicas = 0;
  for (const auto& v : run0["summary"]["variants"]) {
    max_pods += v["maxPods"].get<int>();
    final_replicas += v["finalReplicas"].get<int>();
    changes += v["replicaChanges"].get<int>();
    EXPECT_GT(v["gpuHours"].get<double>(), 0.2);
    EXPECT_TRUE(v["cost"].is_number());
  }
  EXPECT_GT(max_pods, 2) << "the step makes the fleet grow";
  EXPECT_GT(changes, 0);
  EXPECT_LT(final_replicas, max_pods) << "and shrinks after the step ends (12 min later, past the 300 s window)";
  std::ifstream html_in(dir / "out" / "report.html");
  std::stringstream html;
  html << html_in.rdbuf();
  EXPECT_NE(html.str().find("<svg"), std::string::npos);
  EXPECT_EQ(html.str().find("<script"), std::string::npos) << "self-contained, no scripts";
  EXPECT_EQ(html.str().find("http://") == std::string::npos ||
                html.str().find("xmlns=\"http://www.w3.org") != std::string::npos,
            true);
  std::ifstream json_in(dir / "out" / "report.json");
  const auto full = nlohmann::json::parse(json_in, nullptr, false);
  ASSERT_FALSE(full.is_discarded());
  const auto& series = full["runs"][0]["series"]["models"]["llm/meta/llama-3.1-8b"]["waiting"];
  ASSERT_GT(series.size(), 10u);
  int peak = 0;
  for (const auto& w : series) peak = std::max(peak, w.get<int>());
  EXPECT_GT(peak, 5) << "the step builds a queue";
  EXPECT_LE(series.back().get<int>(), 2) << "which drains";
  fs::remove_all(dir);
}

}  // namespace
