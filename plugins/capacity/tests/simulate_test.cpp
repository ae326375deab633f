// The capacity policy end to end: `wva simulate` on a short ramp scenario (the example manifests, the
// emulator with client timeouts, the HPA model) against a static fleet of the same peak size.
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

}  // namespace
