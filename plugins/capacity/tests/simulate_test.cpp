// The capacity policy end to end: `wva simulate` on a short ramp scenario (the example manifests, the
// emulator with client timeouts, the HPA model) against a static fleet of the same peak size, and on the
// evaluation's multi-turn long-context trace, where a fleet one pod short collapses.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* f = popen(command.c_str(), "r");
  if (!f) return {-1, out};
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int status = pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(CapacitySimulate, RampIsServedAtLowerCostThanThePeakStaticFleet) {
  const fs::path wva = fs::path(WVA_BUILD_DIR) / "bin" / "wva";
  for (const char* lib : {"libcapacity.so", "libemulator.so", "libsaturation.so"})
    if (!fs::exists(fs::path(WVA_PLUGIN_DIR) / lib)) GTEST_SKIP() << "needs " << lib;
  if (!fs::exists(wva)) GTEST_SKIP() << "needs bin/wva";
  const fs::path dir = fs::temp_directory_path() / ("wva-capacity-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::copy(fs::path(WVA_SOURCE_DIR) / "examples/scenarios/llama-8b-h100-h200", dir / "manifests");
  std::ofstream(dir / "ramp.yaml") << R"(
name: ramp
duration: 1500
manifests: manifests
emulator:
  variants:
    llama-8b-h100: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H100, startupDelay: 60s,
                    costPerGpuHour: 3.0, minReplicas: 1, maxReplicas: 8}
    llama-8b-h200: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H200, startupDelay: 60s,
                    costPerGpuHour: 3.9, minReplicas: 0, maxReplicas: 8}
  client: {ttftTimeout: 60s}
  workloads:
    - {namespace: llm, model: meta/llama-3.1-8b,
       rate: {ramps: [{at: 0s, rate: 4}, {at: 10m, rate: 40}, {at: 15m, rate: 40}, {at: 25m, rate: 4}]},
       inputTokens: 1000, outputTokens: 200, slo: {ttftMs: 2000, itlMs: 50}}
analyzers:
  capacity: {plugin: capacity, startupDelay: 60s, defaultSlo: {ttftMs: 2000, itlMs: 50}}
pipelines:
  capacity: {interval: 30s, analyzers: [capacity]}
  static-peak: {static: {llama-8b-h100: 4}}
)";
  const auto [rc, out] = run(wva.string() + " simulate " + (dir / "ramp.yaml").string() +
                             " --output json --plugin-path " + WVA_PLUGIN_DIR + " 2>/dev/null");
  fs::remove_all(dir);
  ASSERT_EQ(rc, 0) << out;
  const auto report = nlohmann::json::parse(out);
  ASSERT_EQ(report["runs"].size(), 2u);
  const auto& policy = report["runs"][0]["totals"];
  const auto& fixed = report["runs"][1]["totals"];
  EXPECT_EQ(report["runs"][0]["failedCycles"], 0);
  ASSERT_TRUE(policy["sloAttainment"].is_number());
  EXPECT_GE(policy["sloAttainment"].get<double>(), 0.97) << report["runs"][0]["summary"].dump();
  EXPECT_LT(policy["cost"].get<double>(), fixed["cost"].get<double>());
  EXPECT_GT(policy["replicaChanges"].get<double>(), 0) << "it scaled with the ramp";
  EXPECT_LT(policy["replicaChangesPerHour"].get<double>(), 40) << "without churning";
}

// 12,000-token prompts re-sending the conversation (examples/evaluation/traces/multiturn-long.jsonl, prefix
// caching, prefix-aware routing): 3 H100 collapse there (a burst of long prompts fills the KV and
// preemptions recompute them: a static 3xH100 fleet reaches 3 %), 4 hold. The policy must keep the fleet
// out of that collapse without paying for the peak all the time.
TEST(CapacitySimulate, LongContextMultiTurnTraceStaysOutOfTheKvCollapse) {
  const fs::path wva = fs::path(WVA_BUILD_DIR) / "bin" / "wva";
  for (const char* lib : {"libcapacity.so", "libemulator.so"})
    if (!fs::exists(fs::path(WVA_PLUGIN_DIR) / lib)) GTEST_SKIP() << "needs " << lib;
  if (!fs::exists(wva)) GTEST_SKIP() << "needs bin/wva";
  const fs::path dir = fs::temp_directory_path() / ("wva-capacity-long-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path evaluation = fs::path(WVA_SOURCE_DIR) / "examples/evaluation";
  fs::copy(evaluation / "fleet", dir / "fleet");  // the evaluation's manifests (VA, Deployments, costs)
  const fs::path trace = evaluation / "traces/multiturn-long.jsonl";
  std::ofstream(dir / "long.yaml") << R"(
name: long
duration: 30m
manifests: fleet
initialReplicas: {llama-8b-h100: 5, llama-8b-h200: 0}
emulator:
  variants:
    llama-8b-h100: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H100, startupDelay: 90s,
                    costPerGpuHour: 3.0, minReplicas: 1, maxReplicas: 12}
    llama-8b-h200: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H200, startupDelay: 90s,
                    costPerGpuHour: 3.9, minReplicas: 0, maxReplicas: 8}
  router: {policy: prefixAware}
  client: {ttftTimeout: 60s}
  workloads:
    - namespace: llm
      model: meta/llama-3.1-8b
      trace: {file: )" << trace.string()
                                   << R"(, speedup: 2, loop: true}
      slo: {ttftMs: 5000, itlMs: 50}
analyzers:
  capacity: {plugin: capacity, startupDelay: 90s, defaultSlo: {ttftMs: 5000, itlMs: 50}}
pipelines:
  capacity: {interval: 30s, analyzers: [capacity]}
  static-3: {static: {llama-8b-h100: 3}}
  static-7: {static: {llama-8b-h100: 7}}
)";
  const auto [rc, out] = run(wva.string() + " simulate " + (dir / "long.yaml").string() +
                             " --output json --plugin-path " + WVA_PLUGIN_DIR + " 2>/dev/null");
  fs::remove_all(dir);
  ASSERT_EQ(rc, 0) << out;
  const auto report = nlohmann::json::parse(out);
  ASSERT_EQ(report["runs"].size(), 3u);
  const auto& policy = report["runs"][0]["totals"];
  ASSERT_TRUE(policy["sloAttainment"].is_number());
  EXPECT_LT(report["runs"][1]["totals"]["sloAttainment"].get<double>(), 0.5) << "3 H100 collapse here";
  EXPECT_GE(policy["sloAttainment"].get<double>(), 0.99) << report["runs"][0]["summary"].dump();
  EXPECT_LT(policy["cost"].get<double>(), report["runs"][2]["totals"]["cost"].get<double>())
      << "cheaper than 7 H100 held all along";
  EXPECT_GT(report["runs"][0]["summary"]["models"][0]["prefixCacheHitTokens"].get<double>(), 0);
}

}  // namespace
