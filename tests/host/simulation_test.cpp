// The framework's public simulation API (wva/framework/simulation.h): the host's pipelines cycle by cycle
// on a virtual clock over a folder of manifests, every cycle's decisions handed to an observer. Runs the
// real plugins (the emulator's fixed metrics as the source, saturation, status) on the quick start's
// manifests, as a simulation driver would.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "prerequisite.h"
#include "wva/framework/simulation.h"

namespace wva::framework {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kConfig = R"(
sources:
  fixed:
    plugin: emulator
    fixedMetrics:
      llama-8b-h100:
        - {kvCacheUsage: 0.78, waiting: 2, running: 24}
        - {kvCacheUsage: 0.74, waiting: 1, running: 22}
      llama-8b-a100:
        - {kvCacheUsage: 0.85, waiting: 0, running: 30}
        - {kvCacheUsage: 0.60, waiting: 1, running: 18}
analyzers: {saturation: {}}
sinks: {status: {}}
pipelines:
  default: {interval: 30s, source: fixed, analyzers: [saturation], sinks: [status]}
)";

struct Recorder final : DecisionObserver {
  std::vector<SimulatedCycle> cycles;
  void on_cycle(const SimulatedCycle& cycle) override { cycles.push_back(cycle); }
};

const sdk::TimePoint kStart = sdk::TimePoint(1'767'225'600s);

SimulationOptions options(std::string config = kConfig) {
  SimulationOptions o;
  o.config_text = std::move(config);
  o.manifests = fs::path(WVA_SOURCE_DIR) / "examples" / "quickstart";
  o.plugin_paths = {WVA_PLUGIN_DIR};
  o.start = kStart;
  return o;
}

bool have_plugins() {
  for (const char* lib : {"libemulator.so", "libsaturation.so", "libstatus.so"})
    if (!fs::exists(fs::path(WVA_PLUGIN_DIR) / lib)) return false;
  return true;
}

const sdk::Decision* find(const SimulatedCycle& cycle, const std::string& variant) {
  for (const auto& d : cycle.decisions)
    if (d.variant == variant) return &d;
  return nullptr;
}

TEST(Simulation, EveryCycleOnTheVirtualClockReachesTheObserver) {
  WVA_REQUIRE(have_plugins()) << "needs libemulator.so, libsaturation.so and libstatus.so";
  Simulation sim(options());
  ASSERT_TRUE(sim.load_cluster().ok());
  const auto errors = sim.start();
  ASSERT_TRUE(errors.empty()) << errors.front().to_string();
  Recorder recorder;
  sim.run(10min, recorder);
  sim.shutdown();
  // 10 minutes at 30 s, the first cycle at t = 0: 21 cycles, 30 s of virtual time apart.
  ASSERT_EQ(recorder.cycles.size(), 21u);
  for (std::size_t i = 0; i < recorder.cycles.size(); ++i) {
    const auto& c = recorder.cycles[i];
    EXPECT_EQ(c.pipeline, "default");
    EXPECT_EQ(c.time, kStart + i * 30s) << "cycle " << i;
    EXPECT_FALSE(c.idle_check);
    EXPECT_TRUE(c.errors.empty()) << c.errors.front();
    ASSERT_EQ(c.decisions.size(), 2u) << "one per variant";
  }
  EXPECT_EQ(sim.clock().now(), kStart + 10min);
  const sdk::Decision* h100 = find(recorder.cycles.front(), "llama-8b-h100");
  ASSERT_NE(h100, nullptr);
  EXPECT_EQ(h100->current, 2) << "the manifests' replicas";
}

TEST(Simulation, ScaleBeforeStartIsTheFleetTheFirstCycleSees) {
  WVA_REQUIRE(have_plugins()) << "needs libemulator.so, libsaturation.so and libstatus.so";
  Simulation sim(options());
  ASSERT_TRUE(sim.load_cluster().ok());
  ASSERT_TRUE(sim.scale("llm", "llama-8b-h100", 3).ok());
  EXPECT_FALSE(sim.scale("llm", "no-such-deployment", 1).ok());
  ASSERT_TRUE(sim.start().empty());
  Recorder recorder;
  sim.run(0s, recorder);
  ASSERT_EQ(recorder.cycles.size(), 1u);
  const sdk::Decision* h100 = find(recorder.cycles.front(), "llama-8b-h100");
  ASSERT_NE(h100, nullptr);
  EXPECT_EQ(h100->current, 3);
}

TEST(Simulation, ConfigErrorsComeBackWithTheirPaths) {
  WVA_REQUIRE(have_plugins()) << "needs libemulator.so, libsaturation.so and libstatus.so";
  std::string config = kConfig;
  config.replace(config.find("analyzers: [saturation]"), 23, "analyzers: [saturaton]");
  Simulation sim(options(config));
  ASSERT_TRUE(sim.load_cluster().ok());
  const auto errors = sim.start();
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.front().to_string().find("pipelines.default.analyzers"), std::string::npos)
      << errors.front().to_string();
  Recorder recorder;
  sim.run(1min, recorder);  // not started: nothing runs
  EXPECT_TRUE(recorder.cycles.empty());
}

TEST(Simulation, AMissingManifestsFolderIsAnErrorNamingIt) {
  SimulationOptions o = options();
  o.manifests = fs::temp_directory_path() / "wva-simulation-test-no-such-folder";
  Simulation sim(o);
  const auto r = sim.load_cluster();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("wva-simulation-test-no-such-folder"), std::string::npos)
      << r.error().to_string();
}

}  // namespace
}  // namespace wva::framework
