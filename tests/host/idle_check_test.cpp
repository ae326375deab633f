// The idle check (pipelines.yaml `idleCheckInterval`): between a pipeline's full cycles, its models whose
// variants all run 0 replicas are cycled alone, as partial batches, so scale from zero does not wait for
// `interval`. Runs the real Host scheduler on a virtual clock over a LocalCluster folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <spdlog/sinks/null_sink.h>

#include "cluster/local_cluster.h"
#include "config/pipeline_config.h"
#include "host/clock.h"
#include "host/host.h"
#include "in_process_plugins.h"

namespace wva::framework {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kManifests = R"(apiVersion: v1
kind: Namespace
metadata: {name: llm}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: busy-h100, namespace: llm, labels: {llmd.ai/model: busy}}
spec: {replicas: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle-h100, namespace: llm, labels: {llmd.ai/model: idle}}
spec: {replicas: 0}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: busy, namespace: llm}
spec: {modelID: busy, minReplicas: 0}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: idle, namespace: llm}
spec: {modelID: idle, minReplicas: 0}
)";

struct Fixture {
  fs::path dir;
  std::shared_ptr<VirtualClock> clock = std::make_shared<VirtualClock>(sdk::TimePoint{} + 1'700'000'000s);
  std::shared_ptr<testing::RecordingSink> sink = std::make_shared<testing::RecordingSink>();
  std::vector<std::size_t> collected;  // models per collect() call
  std::unique_ptr<Host> host;

  explicit Fixture(const std::string& pipeline_extra) {
    char tmpl[] = "/tmp/wva-idle-check-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::ofstream(dir / "manifests.yaml") << kManifests;
    auto cluster = std::make_shared<LocalCluster>(dir, "workload-variant-autoscaler-system");
    auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    host = std::make_unique<Host>(HostOptions{}, cluster, clock, log);
    host->add_plugin("sources", "src", std::make_shared<testing::ScriptedSource>([this](auto models) {
                       collected.push_back(models.size());
                       std::map<sdk::ModelKey, sdk::ModelMetrics> out;
                       for (const auto& m : models) out[m.key] = testing::ok_metrics();
                       return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
                     }));
    // Scale from zero in one line: a model at 0 gets 1, the others keep what they run.
    host->add_plugin("analyzers", "fn",
                     std::make_shared<testing::FnAnalyzer>("fn", [](const sdk::ModelView&, const sdk::Variant& v) {
                       return std::optional<int>(v.current_replicas == 0 ? 1 : v.current_replicas);
                     }));
    host->add_plugin("sinks", "rec", sink);
    auto parsed = parse_pipelines_yaml(
        "sources: {src: {}}\nanalyzers: {fn: {}}\nsinks: {rec: {}}\n"
        "pipelines:\n  p:\n    source: src\n    analyzers: [fn]\n    sinks: [rec]\n"
        "    interval: 60s\n" +
            pipeline_extra,
        60s, "test");
    EXPECT_TRUE(parsed.errors.empty()) << (parsed.errors.empty() ? "" : parsed.errors[0].to_string());
    auto errors = host->start_with(*parsed.config);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors[0].to_string());
  }
  ~Fixture() {
    host->shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void run_for(std::chrono::milliseconds d) {
    StopSignal stop;
    host->run(d, stop, {});
  }
};

TEST(IdleCheck, ModelsAtZeroAreCycledAloneBetweenFullCycles) {
  Fixture f("    idleCheckInterval: 5s\n");
  f.run_for(59s);
  std::lock_guard lock(f.sink->mutex);
  // t = 0: the full cycle (both models); then every 5 s until 55 s an idle check of the model at zero.
  ASSERT_EQ(f.sink->batches.size(), 12u);
  EXPECT_FALSE(f.sink->partial[0]);
  EXPECT_EQ(f.sink->batches[0].size(), 2u);
  for (std::size_t i = 1; i < f.sink->batches.size(); ++i) {
    EXPECT_TRUE(f.sink->partial[i]) << i;
    ASSERT_EQ(f.sink->batches[i].size(), 1u) << i;
    EXPECT_EQ(f.sink->batches[i][0].variant, "idle-h100");
    EXPECT_EQ(f.sink->batches[i][0].desired, 1) << "scale from zero decided by the idle check";
    EXPECT_EQ(f.sink->times[i] - f.sink->times[0], std::chrono::seconds(5 * i)) << i;
  }
  EXPECT_EQ(f.collected, (std::vector<std::size_t>{2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
}

TEST(IdleCheck, ZeroTurnsItOff) {
  Fixture f("    idleCheckInterval: 0\n");
  f.run_for(119s);
  std::lock_guard lock(f.sink->mutex);
  ASSERT_EQ(f.sink->batches.size(), 2u);  // t = 0 and t = 60 s, full cycles only
  EXPECT_FALSE(f.sink->partial[0]);
  EXPECT_FALSE(f.sink->partial[1]);
}

TEST(IdleCheck, NoModelAtZeroMeansNoExtraCycle) {
  Fixture f("    idleCheckInterval: 5s\n    selector: {modelIds: [busy]}\n");
  f.run_for(59s);
  std::lock_guard lock(f.sink->mutex);
  EXPECT_EQ(f.sink->batches.size(), 1u);
  EXPECT_EQ(f.collected, (std::vector<std::size_t>{1}));
}

}  // namespace
}  // namespace wva::framework
