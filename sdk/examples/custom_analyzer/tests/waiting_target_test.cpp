// Tests of the waiting-target example, against the built .so, with the SDK's testing kit.
#include <gtest/gtest.h>

#include "wva/sdk/testing/conformance.h"

namespace {

using wva::sdk::testing::ConformanceCase;
using wva::sdk::testing::LoadedPlugin;

// The conformance suite every plugin passes.
WVA_PLUGIN_CONFORMANCE(WaitingTarget, ConformanceCase{WAITING_TARGET_PLUGIN,
                                                      {{"targetWaitingPerReplica", 4}},
                                                      {{"targetWaitingPerReplica", 0}},
                                                      "waiting-target",
                                                      WVA_KIND_ANALYZER});

wva::sdk::ReplicaMetrics pod(std::string name, std::string variant, std::optional<double> waiting) {
  wva::sdk::ReplicaMetrics r;
  r.pod = std::move(name);
  r.variant = std::move(variant);
  r.waiting = waiting;
  return r;
}

class WaitingTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto error = LoadedPlugin::load(WAITING_TARGET_PLUGIN, lib_);
    ASSERT_FALSE(error.has_value()) << *error;
    plugin_ = lib_->create();
    ASSERT_NE(plugin_, nullptr);
    ASSERT_TRUE(plugin_->configure({{"targetWaitingPerReplica", 4}}, "analyzers.waiting-target").ok());
    ASSERT_TRUE(plugin_->start(ctx_).ok());
    analyzer_ = plugin_->as_analyzer();
    ASSERT_NE(analyzer_, nullptr);
  }
  void TearDown() override {
    if (plugin_) plugin_->stop();
    plugin_.reset();
  }

  static wva::sdk::ModelView model() {
    wva::sdk::ModelView m;
    m.key = {"llm", "meta/llama"};
    for (const char* name : {"a100", "h100"}) {
      wva::sdk::Variant v;
      v.name = name;
      v.min_replicas = 1;
      m.variants.push_back(v);
    }
    m.metrics.state = wva::sdk::MetricsState::kOk;
    return m;
  }

  std::shared_ptr<LoadedPlugin> lib_;
  LoadedPlugin::Instance plugin_;
  wva::sdk::Analyzer* analyzer_ = nullptr;
  wva::sdk::testing::FakeContext ctx_{"waiting-target"};
};

TEST_F(WaitingTargetTest, DesiredIsCeilOfWaitingOverTargetAtLeastMin) {
  auto m = model();
  m.metrics.replicas = {pod("h100-0", "h100", 7), pod("h100-1", "h100", 6),  // 13 / 4 -> 4
                        pod("a100-0", "a100", 0)};                           // 0 -> min 1
  auto r = analyzer_->analyze(m, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->has_opinion);
  EXPECT_EQ(r->analyzer, "waiting-target");
  ASSERT_NE(r->target_for("h100"), nullptr);
  EXPECT_EQ(r->target_for("h100")->replicas, 4);
  ASSERT_NE(r->target_for("a100"), nullptr);
  EXPECT_EQ(r->target_for("a100")->replicas, 1);
  EXPECT_TRUE(ctx_.fake_logger().contains("4 waiting requests per replica"));
}

TEST_F(WaitingTargetTest, ExactMultipleDoesNotRoundUpAndMaxCaps) {
  auto m = model();
  m.variants[1].max_replicas = 2;
  m.metrics.replicas = {pod("a100-0", "a100", 8), pod("h100-0", "h100", 40)};
  auto r = analyzer_->analyze(m, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target_for("a100")->replicas, 2);
  EXPECT_EQ(r->target_for("h100")->replicas, 2);  // 10, capped at max 2
}

TEST_F(WaitingTargetTest, MissingWaitingIsNoOpinionNotZero) {
  auto m = model();
  m.metrics.replicas = {pod("h100-0", "h100", std::nullopt), pod("a100-0", "a100", 9)};
  auto r = analyzer_->analyze(m, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->target_for("h100"), nullptr);
  EXPECT_EQ(r->target_for("a100")->replicas, 3);

  m.metrics.state = wva::sdk::MetricsState::kStale;
  auto stale = analyzer_->analyze(m, nullptr);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->has_opinion);
}

TEST(WaitingTargetConfig, RefusesBadValuesWithTheirPath) {
  std::shared_ptr<LoadedPlugin> lib;
  ASSERT_FALSE(LoadedPlugin::load(WAITING_TARGET_PLUGIN, lib).has_value());
  auto p = lib->create();
  for (const auto& bad :
       {nlohmann::json{{"targetWaitingPerReplica", -1}}, nlohmann::json{{"targetWaitingPerReplica", "4"}}}) {
    auto r = p->configure(bad, "analyzers.wt");
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().path, "analyzers.wt.targetWaitingPerReplica");
  }
  auto unknown = p->configure({{"target", 3}}, "analyzers.wt");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().path, "analyzers.wt.target");
}

}  // namespace
