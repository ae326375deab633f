// The capacity policy end to end: `wva simulate` on a short ramp scenario (the example manifests, the
// emulator with client timeouts, the HPA model) against a static fleet of the same peak size, on the
// evaluation's multi-turn long-context trace, where a fleet one pod short collapses, and on a 32B model
// whose ITL SLO is two decode steps, where one pod short misses a fifth of the requests; and beside a
// variant whose pods never come.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>

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

// What a run needs that the build lacks (bin/wva, a plugin): empty when nothing is missing.
std::string missing(std::initializer_list<const char*> plugins) {
  for (const char* lib : plugins)
    if (!fs::exists(fs::path(WVA_PLUGIN_DIR) / lib)) return lib;
  if (!fs::exists(fs::path(WVA_BUILD_DIR) / "bin" / "wva")) return "bin/wva";
  return {};
}

// A scenario folder under the temporary directory, removed when the test ends.
struct ScenarioDir {
  fs::path path;
  explicit ScenarioDir(const std::string& name)
      : path(fs::temp_directory_path() / ("wva-capacity-" + name + "-" + std::to_string(getpid()))) {
    fs::create_directories(path);
  }
  ~ScenarioDir() { fs::remove_all(path); }
  ScenarioDir(const ScenarioDir&) = delete;
  ScenarioDir& operator=(const ScenarioDir&) = delete;
};

// `wva simulate SCENARIO --output json`: its exit code and the report (null when it printed none).
std::pair<int, nlohmann::json> simulate(const fs::path& scenario) {
  const auto [rc, out] = run((fs::path(WVA_BUILD_DIR) / "bin" / "wva").string() + " simulate " + scenario.string() +
                             " --output json --plugin-path " + WVA_PLUGIN_DIR + " 2>/dev/null");
  return {rc, nlohmann::json::parse(out, nullptr, false)};
}

TEST(CapacitySimulate, RampIsServedAtLowerCostThanThePeakStaticFleet) {
  if (const auto lacks = missing({"libcapacity.so", "libemulator.so", "libsaturation.so"}); !lacks.empty())
    GTEST_SKIP() << "needs " << lacks;
  const ScenarioDir dir("ramp");
  fs::copy(fs::path(WVA_SOURCE_DIR) / "examples/scenarios/llama-8b-h100-h200", dir.path / "manifests");
  std::ofstream(dir.path / "ramp.yaml") << R"(
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
  const auto [rc, report] = simulate(dir.path / "ramp.yaml");
  ASSERT_EQ(rc, 0) << report.dump();
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

// The model runs on three H200s; the cheaper H100's Deployment is at 0 while its HorizontalPodAutoscaler's
// minReplicas is 1, so the emulated HPA, like Kubernetes, does not scale it at all (scaling is disabled
// for a target scaled to 0). The H100 pods the policy prefers never come: the H200s must keep serving
// (counting the H100's minimum pod as capacity left one H200, the HPA's floor, and 57 % attainment).
TEST(CapacitySimulate, RunningPodsAreKeptWhileThePreferredVariantsPodsNeverCome) {
  if (const auto lacks = missing({"libcapacity.so", "libemulator.so"}); !lacks.empty())
    GTEST_SKIP() << "needs " << lacks;
  const ScenarioDir dir("never-ready");
  fs::copy(fs::path(WVA_SOURCE_DIR) / "examples/scenarios/llama-8b-h100-h200", dir.path / "manifests");
  std::ofstream(dir.path / "never-ready.yaml") << R"(
name: never-ready
duration: 20m
manifests: manifests
initialReplicas: {llama-8b-h100: 0, llama-8b-h200: 3}
emulator:
  variants:
    llama-8b-h100: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H100, startupDelay: 60s,
                    costPerGpuHour: 3.0, minReplicas: 1, maxReplicas: 8}
    llama-8b-h200: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H200, startupDelay: 60s,
                    costPerGpuHour: 3.9, minReplicas: 0, maxReplicas: 8}
  client: {ttftTimeout: 60s}
  workloads:
    - {namespace: llm, model: meta/llama-3.1-8b, rate: {constant: 25},
       inputTokens: 1000, outputTokens: 200, slo: {ttftMs: 2000, itlMs: 50}}
analyzers:
  capacity: {plugin: capacity, startupDelay: 60s, defaultSlo: {ttftMs: 2000, itlMs: 50}}
pipelines:
  capacity: {interval: 30s, analyzers: [capacity]}
)";
  const auto [rc, report] = simulate(dir.path / "never-ready.yaml");
  ASSERT_EQ(rc, 0) << report.dump();
  const auto& run = report["runs"][0];
  ASSERT_TRUE(run["totals"]["sloAttainment"].is_number()) << run.dump();
  EXPECT_GE(run["totals"]["sloAttainment"].get<double>(), 0.95) << run["summary"].dump();
  EXPECT_EQ(run["summary"]["models"][0]["failed"], 0) << run["summary"].dump();
  for (const auto& v : run["summary"]["variants"])
    if (v["name"] == "llama-8b-h200") {
      EXPECT_GE(v["finalReplicas"].get<int>(), 2) << "the H200s still carry the demand: " << v.dump();
    }
}

// 12,000-token prompts re-sending the conversation (examples/evaluation/traces/multiturn-long.jsonl, prefix
// caching, prefix-aware routing): 3 H100 collapse there (a burst of long prompts fills the KV and
// preemptions recompute them: a static 3xH100 fleet reaches 3 %), 4 hold. The policy must keep the fleet
// out of that collapse without paying for the peak all the time.
TEST(CapacitySimulate, LongContextMultiTurnTraceStaysOutOfTheKvCollapse) {
  if (const auto lacks = missing({"libcapacity.so", "libemulator.so"}); !lacks.empty())
    GTEST_SKIP() << "needs " << lacks;
  const ScenarioDir dir("long");
  const fs::path evaluation = fs::path(WVA_SOURCE_DIR) / "examples/evaluation";
  fs::copy(evaluation / "fleet", dir.path / "fleet");  // the evaluation's manifests (VA, Deployments, costs)
  const fs::path trace = evaluation / "traces/multiturn-long.jsonl";
  std::ofstream(dir.path / "long.yaml") << R"(
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
      trace: {file: )" << trace.string() << R"(, speedup: 2, loop: true}
      slo: {ttftMs: 5000, itlMs: 50}
analyzers:
  capacity: {plugin: capacity, startupDelay: 90s, defaultSlo: {ttftMs: 5000, itlMs: 50}}
pipelines:
  capacity: {interval: 30s, analyzers: [capacity]}
  static-3: {static: {llama-8b-h100: 3}}
  static-7: {static: {llama-8b-h100: 7}}
)";
  const auto [rc, report] = simulate(dir.path / "long.yaml");
  ASSERT_EQ(rc, 0) << report.dump();
  ASSERT_EQ(report["runs"].size(), 3u);
  const auto& policy = report["runs"][0]["totals"];
  ASSERT_TRUE(policy["sloAttainment"].is_number());
  EXPECT_LT(report["runs"][1]["totals"]["sloAttainment"].get<double>(), 0.5) << "3 H100 collapse here";
  EXPECT_GE(policy["sloAttainment"].get<double>(), 0.99) << report["runs"][0]["summary"].dump();
  EXPECT_LT(policy["cost"].get<double>(), report["runs"][2]["totals"]["cost"].get<double>())
      << "cheaper than 7 H100 held all along";
  EXPECT_GT(report["runs"][0]["summary"]["models"][0]["prefixCacheHitTokens"].get<double>(), 0);
}

// Qwen2.5-32B on H100 (the measured profile: a 25 ms decode step, 48k tokens of KV cache) at a steady
// 8 req/s: 3.2-3.5 pods are needed at latencyMargin, and 3 pods, the nearest whole count, keep the mean ITL
// under the 50 ms SLO but put a fifth of the requests over it. The policy holds 4 (whole pods carry at
// most 5 % past the margin); rounding to the nearest count alone gave 94.96 % here.
TEST(CapacitySimulate, LargeModelIsNotRoundedDownOntoItsSlo) {
  if (const auto lacks = missing({"libcapacity.so", "libemulator.so"}); !lacks.empty())
    GTEST_SKIP() << "needs " << lacks;
  const ScenarioDir dir("32b");
  fs::copy(fs::path(WVA_SOURCE_DIR) / "examples/evaluation/fleet-32b", dir.path / "fleet-32b");
  std::ofstream(dir.path / "steady.yaml") << R"(
name: steady-32b
duration: 30m
manifests: fleet-32b
initialReplicas: {qwen-32b-h100: 4, qwen-32b-h200: 0}
emulator:
  variants:
    qwen-32b-h100: {namespace: llm, model: qwen/qwen2.5-32b, profile: qwen2.5-32b/H100, startupDelay: 90s,
                    costPerGpuHour: 3.0, minReplicas: 1, maxReplicas: 12}
    qwen-32b-h200: {namespace: llm, model: qwen/qwen2.5-32b, profile: qwen2.5-32b/H200, startupDelay: 90s,
                    costPerGpuHour: 3.9, minReplicas: 0, maxReplicas: 8}
  client: {ttftTimeout: 60s}
  workloads:
    - namespace: llm
      model: qwen/qwen2.5-32b
      rate: {constant: 8}
      inputTokens: {lognormal: {mean: 1000, stddev: 600}, max: 8000}
      outputTokens: {lognormal: {mean: 220, stddev: 150}, max: 2000}
      slo: {ttftMs: 2000, itlMs: 50}
      seed: 3
analyzers:   # the rounding at a steady load: without the cold start's headroom (tested apart)
  capacity: {plugin: capacity, startupDelay: 90s, defaultSlo: {ttftMs: 2000, itlMs: 50}, coldStartHeadroom: 0}
pipelines:
  capacity: {interval: 30s, analyzers: [capacity]}
  static-3: {static: {qwen-32b-h100: 3}}
  static-4: {static: {qwen-32b-h100: 4}}
)";
  const auto [rc, report] = simulate(dir.path / "steady.yaml");
  ASSERT_EQ(rc, 0) << report.dump();
  ASSERT_EQ(report["runs"].size(), 3u);
  const auto& policy = report["runs"][0]["totals"];
  ASSERT_TRUE(policy["sloAttainment"].is_number());
  EXPECT_LT(report["runs"][1]["totals"]["sloAttainment"].get<double>(), 0.9) << "3 H100 miss the ITL SLO";
  EXPECT_GE(report["runs"][2]["totals"]["sloAttainment"].get<double>(), 0.985) << "4 H100 meet it";
  EXPECT_GE(policy["sloAttainment"].get<double>(), 0.975) << report["runs"][0]["summary"].dump();
  // Settled at 4 H100; before the first measurements the prior (scaled from the model ID) may ask for a
  // fifth, which the HPA's scale-down window holds 5 minutes.
  EXPECT_LE(policy["cost"].get<double>(), 1.1 * report["runs"][2]["totals"]["cost"].get<double>());
  for (const auto& v : report["runs"][0]["summary"]["variants"])
    if (v["name"] == "qwen-32b-h100") {
      EXPECT_EQ(v["finalReplicas"], 4) << v.dump();
    }
}

}  // namespace
