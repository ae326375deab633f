// The plugin object with the SDK fakes: ConfigMaps read once per cycle through the cluster view, an
// invalid entry logged with its path while the rest apply, namespace-local copies, read failures, and
// concurrent analyze() calls over one snapshot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "model_fixture.h"
#include "saturation_plugin.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::saturation {
namespace {

using nlohmann::json;
using sdk::testing::FakeContext;
using ::testing::HasSubstr;
using testing::make_model;
using testing::target_of;
using testing::VariantSpec;

const std::string kSystem = "workload-variant-autoscaler-system";

json config_map(const std::string& ns, const std::map<std::string, std::string>& data,
                const std::string& name = "capacity-scaling-config") {
  json cm{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
  cm["data"] = json::object();
  for (const auto& [k, v] : data) cm["data"][k] = v;
  return cm;
}

// The worked example: scale-up of a-l4 with the code defaults.
sdk::ModelView example(const std::string& ns = "llm", const std::string& model = "meta/llama-3.1-8b") {
  return make_model({VariantSpec{.name = "a-l4", .cost = 5.0, .current = 2, .pods = {{0.74, 1}, {0.78, 2}}},
                     VariantSpec{.name = "b-a100", .cost = 20.0, .current = 2, .pods = {{0.85, 0}, {0.60, 1}}}},
                    ns, model);
}

struct Started {
  FakeContext ctx{"saturation"};
  SaturationAnalyzer plugin;
  explicit Started(const json& cfg = json::object()) {
    EXPECT_TRUE(sdk::testing::configure_as_host(plugin, cfg, "analyzers.saturation").empty());
    EXPECT_TRUE(plugin.start(ctx).ok());
  }
  sdk::Recommendation cycle(const sdk::ModelView& m) {
    std::vector<sdk::ModelView> models{m};
    auto prep = plugin.prepare_cycle(models);
    EXPECT_TRUE(prep.ok()) << prep.error().to_string();
    auto r = plugin.analyze(m, nullptr);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? r.value() : sdk::Recommendation{};
  }
};

TEST(SaturationPlugin, NoConfigMapUsesCodeDefaults) {
  Started s;
  const auto rec = s.cycle(example());
  EXPECT_EQ(rec.analyzer, "saturation");
  EXPECT_EQ(target_of(rec, "a-l4"), 3);
  EXPECT_EQ(s.plugin.snapshot()->thresholds_for(example().key).values, Thresholds{});
}

TEST(SaturationPlugin, ReadsTheGlobalConfigMapEachCycle) {
  Started s;
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map(kSystem, {{"default", "kvCacheThreshold: 0.9\n"}})).ok());
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 2);  // 0.85 is no longer saturated; spare 0.1575
  // Edited: the next cycle sees it.
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map(kSystem, {{"default", "kvCacheThreshold: 0.8\n"}})).ok());
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 3);
  // Deleted: code defaults.
  s.ctx.fake_cluster().remove("ConfigMap", kSystem, "capacity-scaling-config");
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 3);
  EXPECT_EQ(s.plugin.snapshot()->global, nullptr);
}

// Issue 14, defect 4, through the plugin: the live decision keeps the last good threshold, the log says
// so, and the recommendation's reason (the VA's status.variants[].reason) names the entry kept.
TEST(SaturationPlugin, Defect4InvalidEditKeepsLastGoodThresholdsAndSaysSo) {
  Started s;
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map(kSystem, {{"default", "kvCacheThreshold: 0.9\n"}})).ok());
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 2);  // as ReadsTheGlobalConfigMapEachCycle
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map(kSystem, {{"default", "kvCacheThreshold: 1.5\n"}})).ok());
  const auto rec = s.cycle(example());
  EXPECT_EQ(target_of(rec, "a-l4"), 2) << "the code default 0.8 would scale up to 3";
  EXPECT_EQ(s.plugin.snapshot()->thresholds_for(example().key).values.kv_cache_threshold, 0.9);
  EXPECT_THAT(rec.reason, HasSubstr("thresholds: ConfigMap " + kSystem +
                                    "/capacity-scaling-config default invalid, last good value kept"));
  EXPECT_TRUE(s.ctx.fake_logger().contains("data.default: invalid; keeping its last good value", sdk::LogLevel::kWarn))
      << s.ctx.fake_logger().dump();
}

TEST(SaturationPlugin, InvalidEntryIsLoggedWithItsPathOnceAndTheRestApply) {
  Started s;
  ASSERT_TRUE(s.ctx.fake_cluster()
                  .put(config_map(kSystem, {{"default", "kvCacheThreshold: 0.9\n"},
                                            {"llama-override", "model_id: meta/llama-3.1-8b\nkvCacheThreshold: 7\n"}}))
                  .ok());
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 2);  // default 0.9 applies, the override does not
  const std::string expected =
      "ConfigMap workload-variant-autoscaler-system/capacity-scaling-config: data.llama-override.kvCacheThreshold: "
      "must be in [0,1] (got 7)";
  EXPECT_TRUE(s.ctx.fake_logger().contains(expected, sdk::LogLevel::kWarn)) << s.ctx.fake_logger().dump();
  (void)s.cycle(example());
  (void)s.cycle(example());
  int count = 0;
  for (const auto& line : s.ctx.fake_logger().lines())
    if (line.message.find(expected) != std::string::npos) ++count;
  EXPECT_EQ(count, 1) << "logged when it appears, not every cycle";
}

TEST(SaturationPlugin, PerModelOverrideApplies) {
  Started s;
  ASSERT_TRUE(s.ctx.fake_cluster()
                  .put(config_map(kSystem, {{"llama", "model_id: meta/llama-3.1-8b\nkvSpareTrigger: 0.05\n"}}))
                  .ok());
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 2);                // spare 0.093 >= 0.05
  EXPECT_EQ(target_of(s.cycle(example("llm", "other")), "a-l4"), 3);  // default trigger 0.10
}

TEST(SaturationPlugin, NamespaceLocalCopyLayersOverTheGlobalOne) {
  Started s;
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map(kSystem, {{"default", "queueLengthThreshold: 6\n"}})).ok());
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map("llm", {{"default", "kvSpareTrigger: 0.05\n"}})).ok());
  EXPECT_EQ(target_of(s.cycle(example("llm")), "a-l4"), 2);
  EXPECT_EQ(s.plugin.snapshot()->thresholds_for(example("llm").key).values, (Thresholds{0.8, 6, 0.05, 3}));
  EXPECT_EQ(target_of(s.cycle(example("other-ns")), "a-l4"), 3);
}

TEST(SaturationPlugin, NamespaceCopiesCanBeSwitchedOff) {
  Started s(json{{"namespaceConfigMaps", false}});
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map("llm", {{"default", "kvSpareTrigger: 0.05\n"}})).ok());
  EXPECT_EQ(target_of(s.cycle(example("llm")), "a-l4"), 3);
}

TEST(SaturationPlugin, ConfigMapNameIsConfigurable) {
  Started s(json{{"configMap", "my-thresholds"}});
  ASSERT_TRUE(
      s.ctx.fake_cluster().put(config_map(kSystem, {{"default", "kvSpareTrigger: 0.05\n"}}, "my-thresholds")).ok());
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 2);
}

TEST(SaturationPlugin, ReadFailureKeepsTheLastThresholds) {
  Started s;
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map(kSystem, {{"default", "kvSpareTrigger: 0.05\n"}})).ok());
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 2);
  s.ctx.fake_cluster().fail_next("get", sdk::make_error(sdk::ErrorCode::kUnavailable, "API server down"), 1);
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 2) << "kept the thresholds read before";
  EXPECT_TRUE(s.ctx.fake_logger().contains("API server down", sdk::LogLevel::kWarn));
}

TEST(SaturationPlugin, ModeComesFromTheSettings) {
  // A saturated replica among idle peers: compatible scales down, improved scales up.
  const auto m = make_model(
      {VariantSpec{.name = "a", .cost = 1, .current = 4, .pods = {{1.0, 10}, {0.1, 0}, {0.1, 0}, {0.1, 0}}}});
  Started compat;
  EXPECT_EQ(target_of(compat.cycle(m), "a"), 3);
  Started improved(json{{"mode", "improved"}});
  EXPECT_GT(target_of(improved.cycle(m), "a"), 4);
}

TEST(SaturationPlugin, InvalidSettingsAreRefusedWithPath) {
  SaturationAnalyzer p;
  auto r = sdk::testing::configure_as_host(p, json{{"mode", "aggressive"}}, "analyzers.sat-fast");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].path, "analyzers.sat-fast.mode");
  EXPECT_EQ(r[0].code, sdk::ErrorCode::kInvalidConfig);
}

TEST(SaturationPlugin, NoMetricsIsNoOpinion) {
  Started s;
  auto m = example();
  m.metrics = sdk::ModelMetrics{};
  m.metrics.state = sdk::MetricsState::kNoData;
  const auto rec = s.cycle(m);
  EXPECT_FALSE(rec.has_opinion);
  EXPECT_THAT(rec.reason, HasSubstr("no metrics (no data)"));
}

TEST(SaturationPlugin, AnalyzeBeforePrepareUsesDefaults) {
  FakeContext ctx;
  SaturationAnalyzer p;
  ASSERT_TRUE(p.start(ctx).ok());
  auto r = p.analyze(example(), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(target_of(*r, "a-l4"), 3);
}

TEST(SaturationPlugin, PrepareBeforeStartIsAnError) {
  SaturationAnalyzer p;
  auto r = p.prepare_cycle({});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("before start()"));
}

TEST(SaturationPlugin, ConcurrentAnalyzeReadsOneSnapshot) {
  Started s;
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map(kSystem, {{"m1", "model_id: m1\nkvSpareTrigger: 0.05\n"}})).ok());
  std::vector<sdk::ModelView> models;
  for (int i = 0; i < 8; ++i) models.push_back(example("ns" + std::to_string(i % 3), "m" + std::to_string(i)));
  ASSERT_TRUE(s.plugin.prepare_cycle(models).ok());
  std::vector<int> targets(models.size() * 50, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t k = static_cast<std::size_t>(t); k < targets.size(); k += 4) {
        auto r = s.plugin.analyze(models[k % models.size()], nullptr);
        targets[k] = r.ok() ? target_of(*r, "a-l4") : -2;
      }
    });
  for (auto& th : threads) th.join();
  for (std::size_t k = 0; k < targets.size(); ++k)
    EXPECT_EQ(targets[k], k % models.size() == 1 ? 2 : 3) << "model " << k % models.size();
}

TEST(SaturationPlugin, StopIsIdempotentAndRestartWorks) {
  Started s;
  (void)s.cycle(example());
  s.plugin.stop();
  s.plugin.stop();
  EXPECT_EQ(s.plugin.snapshot(), nullptr);
  ASSERT_TRUE(s.plugin.start(s.ctx).ok());
  EXPECT_EQ(target_of(s.cycle(example()), "a-l4"), 3);
}

}  // namespace
}  // namespace wva::saturation
