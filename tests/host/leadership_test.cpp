// Leader election seen from the host: a replica that stops being the leader hands its sinks one empty,
// whole batch, so they drop what it published (gauges, KEDA answers) rather than serve it stale beside the
// new leader's; then nothing until it leads again. Runs the real Host over a LocalCluster folder.
#include <gtest/gtest.h>

#include <atomic>
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
metadata: {name: llama-h100, namespace: llm, labels: {llmd.ai/model: llama}}
spec: {replicas: 2}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: llama, namespace: llm}
spec: {modelID: llama}
)";

TEST(Leadership, AReplicaThatStopsLeadingWithdrawsWhatItPublishedOnce) {
  char tmpl[] = "/tmp/wva-leadership-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  std::ofstream(dir / "manifests.yaml") << kManifests;
  auto cluster = std::make_shared<LocalCluster>(dir, "workload-variant-autoscaler-system");
  auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  auto clock = std::make_shared<VirtualClock>(sdk::TimePoint{} + 1'700'000'000s);
  std::atomic<bool> leader{true};
  HostOptions options;
  options.may_publish = [&] { return leader.load(); };
  auto sink = std::make_shared<testing::RecordingSink>();
  {
    Host host(options, cluster, clock, log);
    host.add_plugin("sources", "src", std::make_shared<testing::ScriptedSource>([](auto models) {
                      std::map<sdk::ModelKey, sdk::ModelMetrics> out;
                      for (const auto& m : models) out[m.key] = testing::ok_metrics();
                      return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
                    }));
    host.add_plugin("analyzers", "fn",
                    std::make_shared<testing::FnAnalyzer>("fn", [](auto&, auto&) { return std::optional<int>(3); }));
    host.add_plugin("sinks", "rec", sink);
    auto parsed = parse_pipelines_yaml(
        "sources: {src: {}}\nanalyzers: {fn: {}}\nsinks: {rec: {}}\n"
        "pipelines:\n  p:\n    source: src\n    analyzers: [fn]\n    sinks: [rec]\n",
        60s, "test");
    ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].to_string();
    auto errors = host.start_with(*parsed.config);
    ASSERT_TRUE(errors.empty()) << errors[0].to_string();

    auto cycle = [&] {
      auto outcomes = host.run_once();
      EXPECT_EQ(outcomes.size(), 1u);
      return outcomes.empty() ? std::size_t{0} : outcomes[0].decisions.size();
    };
    EXPECT_EQ(cycle(), 1u);  // leader: published
    leader = false;
    EXPECT_EQ(cycle(), 1u) << "a replica that does not lead still decides";  // the withdrawal
    EXPECT_EQ(cycle(), 1u);                                                  // not leading: nothing
    leader = true;
    EXPECT_EQ(cycle(), 1u);  // leading again: published
    host.shutdown();
  }
  std::lock_guard lock(sink->mutex);
  ASSERT_EQ(sink->batches.size(), 3u);
  ASSERT_EQ(sink->batches[0].size(), 1u);
  EXPECT_EQ(sink->batches[0][0].desired, 3);
  EXPECT_TRUE(sink->batches[1].empty()) << "the withdrawal: an empty batch";
  EXPECT_FALSE(sink->partial[1]) << "whole, so the sinks drop what is not in it";
  EXPECT_TRUE(sink->conditions[1].empty());
  ASSERT_EQ(sink->batches[2].size(), 1u);
  EXPECT_EQ(sink->batches[2][0].desired, 3);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace wva::framework
