// The plugin object with the SDK fakes: ConfigMaps read once per cycle, limited mode across models.
#include <gtest/gtest.h>

#include "queueing_plugin.h"
#include "test_helpers.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::queueing {
namespace {

using namespace wva::queueing::test;
using sdk::testing::FakeContext;

nlohmann::json config_map(const std::string& ns, const std::string& name, nlohmann::json data) {
  return {{"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", ns}}}, {"data", std::move(data)}};
}

const char* kServiceClasses =
    "name: Premium\npriority: 1\ndata:\n  - model: default/default\n    slo-tpot: 24\n    slo-ttft: 500\n";
const char* kFreemium =
    "name: Freemium\npriority: 10\ndata:\n  - model: cheap/model\n    slo-tpot: 24\n    slo-ttft: 500\n";

sdk::ModelView example_model(std::string id, double rate) {
  auto m = model(std::move(id),
                 {variant("vllme-" + std::to_string(static_cast<int>(rate)), "A100", 1.0, 1, sample_profile())},
                 std::nullopt);
  m.metrics.load_by_variant[m.variants[0].name] = load(rate, 128, 128);
  return m;
}

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ns = ctx.cluster().system_namespace();
    ASSERT_TRUE(ctx.fake_cluster()
                    .put(config_map(ns, "service-classes-config",
                                    {{"premium.yaml", kServiceClasses}, {"freemium.yaml", kFreemium}}))
                    .ok());
  }
  FakeContext ctx{"queueing"};
  std::string ns;
  QueueingPlugin plugin;
};

TEST_F(PluginTest, ReadsSlosFromTheServiceClassConfigMapEachCycle) {
  ASSERT_TRUE(sdk::testing::configure_as_host(plugin, nlohmann::json::object(), "analyzers.queueing").empty());
  ASSERT_TRUE(plugin.start(ctx).ok());
  std::vector<sdk::ModelView> models = {example_model("default/default", 5.0)};
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  auto rec = plugin.analyze(models[0], nullptr);
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->has_opinion) << rec->reason;
  EXPECT_EQ(rec->analyzer, "queueing");
  EXPECT_EQ(rec->targets[0].replicas, 7);

  // A broken class is reported with its path and skipped; the other classes still apply (the rule of
  // the one parser, wva/sdk/util/service_classes.h: one bad entry does not hold every model).
  ASSERT_TRUE(ctx.fake_cluster()
                  .put(config_map(ns, "service-classes-config",
                                  {{"premium.yaml", "data: [unclosed"}, {"freemium.yaml", kFreemium}}))
                  .ok());
  std::vector<sdk::ModelView> both = {example_model("default/default", 5.0), example_model("cheap/model", 5.0)};
  both[1].variants[0].name = "cheap";
  both[1].metrics.load_by_variant = {{"cheap", load(5.0, 128, 128)}};
  ASSERT_TRUE(plugin.prepare_cycle(both).ok());
  auto skipped = plugin.analyze(both[0], nullptr);
  ASSERT_TRUE(skipped.ok());
  EXPECT_FALSE(skipped->has_opinion);
  EXPECT_NE(skipped->reason.find("no SLO"), std::string::npos) << skipped->reason;
  auto kept = plugin.analyze(both[1], nullptr);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(kept->has_opinion) << kept->reason;
  EXPECT_EQ(kept->targets[0].replicas, 7);
  ASSERT_EQ(plugin.snapshot().warnings.size(), 1u);
  EXPECT_NE(plugin.snapshot().warnings[0].find("ConfigMap " + ns + "/service-classes-config.data[premium.yaml]: "),
            std::string::npos)
      << plugin.snapshot().warnings[0];
  const auto diagnostics = ctx.diagnostics();
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].path, "ConfigMap " + ns + "/service-classes-config.data[premium.yaml]");

  // Deleting the ConfigMap removes the SLOs: no opinion.
  ASSERT_TRUE(ctx.fake_cluster().remove("ConfigMap", ns, "service-classes-config"));
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  auto none = plugin.analyze(models[0], nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_opinion);
}

TEST_F(PluginTest, ProfilesConfigMapKeyedByModelAndAccelerator) {
  ASSERT_TRUE(ctx.fake_cluster()
                  .put(config_map(ns, "wva-performance-profiles",
                                  {{"vllme.yaml",
                                    "model: default/default\nacc: A100\nmaxBatchSize: 4\nperfParms:\n"
                                    "  decodeParms: {alpha: 20.58, beta: 0.41}\n"
                                    "  prefillParms: {gamma: 5.2, delta: 0.1}\n"}}))
                  .ok());
  ASSERT_TRUE(sdk::testing::configure_as_host(plugin, nlohmann::json::object(), "analyzers.queueing").empty());
  ASSERT_TRUE(plugin.start(ctx).ok());
  auto m = example_model("default/default", 5.0);
  m.variants[0].profile.reset();
  std::vector<sdk::ModelView> models = {m};
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  auto rec = plugin.analyze(models[0], nullptr);
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->has_opinion) << rec->reason;
  EXPECT_EQ(rec->targets[0].replicas, 7);
  EXPECT_NE(rec->targets[0].reason.find("ConfigMap wva-performance-profiles"), std::string::npos);
}

TEST_F(PluginTest, LimitedModeSharesGpusByPriority) {
  ASSERT_TRUE(ctx.fake_cluster().put(config_map(ns, "wva-accelerator-capacity", {{"A100", "10"}})).ok());
  ASSERT_TRUE(sdk::testing::configure_as_host(plugin, {{"mode", "limited"}, {"bestEffort", "PriorityExhaustive"}},
                                              "analyzers.queueing")
                  .empty());
  ASSERT_TRUE(plugin.start(ctx).ok());
  // Premium needs 7 A100s, Freemium 7 too: 10 exist. Premium gets 7, Freemium the 3 left (best effort).
  std::vector<sdk::ModelView> models = {example_model("cheap/model", 5.0), example_model("default/default", 5.0)};
  models[0].variants[0].name = "cheap";
  models[0].metrics.load_by_variant = {{"cheap", load(5.0, 128, 128)}};
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  auto premium = plugin.analyze(models[1], nullptr);
  auto freemium = plugin.analyze(models[0], nullptr);
  ASSERT_TRUE(premium.ok() && freemium.ok());
  EXPECT_EQ(premium->targets[0].replicas, 7) << premium->reason;
  ASSERT_TRUE(freemium->has_opinion) << freemium->reason;
  EXPECT_EQ(freemium->targets[0].replicas, 3) << freemium->reason;
  EXPECT_EQ(freemium->conditions.back().reason, "InsufficientCapacity");
}

TEST_F(PluginTest, LimitedModeReservesGpusOfModelsWithoutAnOpinion) {
  ASSERT_TRUE(ctx.fake_cluster().put(config_map(ns, "wva-accelerator-capacity", {{"A100", "10"}})).ok());
  ASSERT_TRUE(sdk::testing::configure_as_host(plugin, {{"mode", "limited"}}, "analyzers.queueing").empty());
  ASSERT_TRUE(plugin.start(ctx).ok());
  auto silent = example_model("no/slo", 5.0);  // no SLO anywhere: no opinion, keeps its 6 GPUs
  silent.variants[0].current_replicas = 6;
  std::vector<sdk::ModelView> models = {example_model("default/default", 5.0), silent};
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  auto rec = plugin.analyze(models[0], nullptr);
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->has_opinion);  // needs 7, only 4 free; policy None
  EXPECT_EQ(rec->conditions.back().reason, "InsufficientCapacity");
}

TEST_F(PluginTest, NodeCapacitySourceCountsAllocatableGpusByProduct) {
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(ctx.fake_cluster()
                    .put({{"kind", "Node"},
                          {"metadata",
                           {{"name", "n" + std::to_string(i)},
                            {"labels", {{"nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB"}}}}},
                          {"status", {{"allocatable", {{"nvidia.com/gpu", "4"}}}}}})
                    .ok());
  ASSERT_TRUE(
      sdk::testing::configure_as_host(plugin, {{"mode", "limited"}, {"capacitySource", "nodes"}}, "analyzers.queueing")
          .empty());
  ASSERT_TRUE(plugin.start(ctx).ok());
  std::vector<sdk::ModelView> models = {example_model("default/default", 5.0)};
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  EXPECT_EQ(plugin.snapshot().capacity.at("A100"), 8);
  auto rec = plugin.analyze(models[0], nullptr);
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->has_opinion) << rec->reason;  // 7 needed, 8 exist
  EXPECT_EQ(rec->targets[0].replicas, 7);
  // One node fewer: 4 GPUs, 7 needed, policy None: no opinion, never a partial or zero target.
  ASSERT_TRUE(ctx.fake_cluster().remove("Node", "default", "n1"));
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  EXPECT_EQ(plugin.snapshot().capacity.at("A100"), 4);
  auto short_rec = plugin.analyze(models[0], nullptr);
  ASSERT_TRUE(short_rec.ok());
  EXPECT_FALSE(short_rec->has_opinion);
}

TEST_F(PluginTest, ConfigureRefusesBadSettingsWithPath) {
  auto r = sdk::testing::configure_as_host(plugin, {{"bestEffort", "Sometimes"}}, "analyzers.q2");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code, sdk::ErrorCode::kInvalidConfig);
  EXPECT_EQ(r[0].path, "analyzers.q2.bestEffort");
}

TEST_F(PluginTest, ClusterFailureKeepsLastGoodAndDoesNotFailTheCycle) {
  ASSERT_TRUE(sdk::testing::configure_as_host(plugin, nlohmann::json::object(), "analyzers.queueing").empty());
  ASSERT_TRUE(plugin.start(ctx).ok());
  std::vector<sdk::ModelView> models = {example_model("default/default", 5.0)};
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  ctx.fake_cluster().fail_next("get", sdk::make_error(sdk::ErrorCode::kUnavailable, "api down"), 5);
  ASSERT_TRUE(plugin.prepare_cycle(models).ok());
  auto rec = plugin.analyze(models[0], nullptr);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->targets[0].replicas, 7);
  EXPECT_NE(rec->reason.find("api down"), std::string::npos) << rec->reason;
}

}  // namespace
}  // namespace wva::queueing
