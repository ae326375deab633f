#include <gtest/gtest.h>

#include <vector>

#include "recommendation_gauges.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::metrics {
namespace {

using sdk::Decision;
using sdk::testing::InMemoryMetrics;

Decision decision(const std::string& variant, int current, int desired, const std::string& acc = "H100") {
  Decision d;
  d.model = sdk::ModelKey{"ns", "meta/llama"};
  d.va_name = "llama";
  d.variant = variant;
  d.accelerator = acc;
  d.current = current;
  d.desired = desired;
  return d;
}

sdk::PublishBatch batch(const std::string& pipeline, const std::vector<Decision>& ds) {
  sdk::PublishBatch b;
  b.pipeline = pipeline;
  b.decisions = ds;
  return b;
}

sdk::Labels labels(const std::string& variant, const std::string& acc = "H100") {
  return {{"variant_name", variant}, {"namespace", "ns"}, {"accelerator_type", acc}, {"model_name", "meta/llama"}};
}

TEST(DesiredRatio, DividesAndFallsBackToDesiredAtZero) {
  EXPECT_DOUBLE_EQ(desired_ratio(6, 4), 1.5);
  EXPECT_DOUBLE_EQ(desired_ratio(2, 4), 0.5);
  EXPECT_DOUBLE_EQ(desired_ratio(3, 0), 3.0);
  EXPECT_DOUBLE_EQ(desired_ratio(0, 0), 0.0);
}

TEST(RecommendationGauges, SetsThreeGaugesPerVariant) {
  InMemoryMetrics reg;
  RecommendationGauges g;
  std::vector<Decision> ds = {decision("llama-h100", 4, 6), decision("llama-a100", 0, 2, "A100")};
  auto stats = g.publish(reg, batch("default", ds));
  EXPECT_EQ(stats.set, 2u);
  EXPECT_EQ(reg.value(kDesiredReplicas, labels("llama-h100")), 6.0);
  EXPECT_EQ(reg.value(kCurrentReplicas, labels("llama-h100")), 4.0);
  EXPECT_EQ(reg.value(kDesiredRatio, labels("llama-h100")), 1.5);
  EXPECT_EQ(reg.value(kDesiredRatio, labels("llama-a100", "A100")), 2.0);
  EXPECT_EQ(reg.type(kDesiredReplicas), "gauge");
}

TEST(RecommendationGauges, RemovesSeriesOfVariantsGoneFromThePipeline) {
  InMemoryMetrics reg;
  RecommendationGauges g;
  std::vector<Decision> both = {decision("a", 1, 1), decision("b", 1, 2)};
  (void)g.publish(reg, batch("default", both));
  ASSERT_EQ(reg.series_count(kDesiredReplicas), 2u);
  std::vector<Decision> only_a = {decision("a", 1, 3)};
  auto stats = g.publish(reg, batch("default", only_a));
  EXPECT_EQ(stats.removed, 1u);
  EXPECT_EQ(reg.series_count(kDesiredReplicas), 1u);
  EXPECT_FALSE(reg.value(kDesiredReplicas, labels("b")).has_value());
  EXPECT_FALSE(reg.value(kCurrentReplicas, labels("b")).has_value());
  EXPECT_FALSE(reg.value(kDesiredRatio, labels("b")).has_value());
  EXPECT_EQ(reg.value(kDesiredReplicas, labels("a")), 3.0);
}

TEST(RecommendationGauges, PartialBatchKeepsTheModelsItDoesNotCarry) {
  // The idle check publishes only the models at zero: the others' series stay, and a later full batch
  // still removes what is gone.
  InMemoryMetrics reg;
  RecommendationGauges g;
  std::vector<Decision> both = {decision("busy", 2, 2), decision("idle", 0, 0)};
  (void)g.publish(reg, batch("default", both));
  std::vector<Decision> idle_only = {decision("idle", 0, 1)};
  auto partial = batch("default", idle_only);
  partial.partial = true;
  auto stats = g.publish(reg, partial);
  EXPECT_EQ(stats.removed, 0u);
  EXPECT_EQ(reg.value(kDesiredReplicas, labels("busy")), 2.0);
  EXPECT_EQ(reg.value(kDesiredReplicas, labels("idle")), 1.0);
  std::vector<Decision> busy_only = {decision("busy", 2, 3)};
  stats = g.publish(reg, batch("default", busy_only));
  EXPECT_EQ(stats.removed, 1u);
  EXPECT_FALSE(reg.value(kDesiredReplicas, labels("idle")).has_value());
}

TEST(RecommendationGauges, AcceleratorChangeReplacesTheSeries) {
  InMemoryMetrics reg;
  RecommendationGauges g;
  std::vector<Decision> h = {decision("a", 1, 1, "H100")};
  std::vector<Decision> l = {decision("a", 1, 1, "L40S")};
  (void)g.publish(reg, batch("default", h));
  (void)g.publish(reg, batch("default", l));
  EXPECT_EQ(reg.series_count(kDesiredReplicas), 1u);
  EXPECT_TRUE(reg.value(kDesiredReplicas, labels("a", "L40S")).has_value());
}

TEST(RecommendationGauges, OtherPipelinesSeriesAreLeftAlone) {
  InMemoryMetrics reg;
  RecommendationGauges g;
  std::vector<Decision> a = {decision("a", 1, 1)};
  std::vector<Decision> b = {decision("b", 1, 1)};
  std::vector<Decision> none;
  (void)g.publish(reg, batch("p1", a));
  (void)g.publish(reg, batch("p2", b));
  (void)g.publish(reg, batch("p1", none));
  EXPECT_FALSE(reg.value(kDesiredReplicas, labels("a")).has_value());
  EXPECT_TRUE(reg.value(kDesiredReplicas, labels("b")).has_value()) << "p2's series untouched";

  // A variant that moved from p2 to p1 is not removed by p2's next batch.
  (void)g.publish(reg, batch("p1", b));
  (void)g.publish(reg, batch("p2", none));
  EXPECT_TRUE(reg.value(kDesiredReplicas, labels("b")).has_value());
}

TEST(RecommendationGauges, NeverEmitsWithoutADecisionOrWithNegativeReplicas) {
  InMemoryMetrics reg;
  RecommendationGauges g;
  std::vector<Decision> ds = {decision("", 1, 1), decision("neg", 1, -2)};
  auto stats = g.publish(reg, batch("default", ds));
  EXPECT_EQ(stats.skipped, 2u);
  EXPECT_EQ(reg.series_count(kDesiredReplicas), 0u);
  EXPECT_EQ(reg.render(), "");
}

TEST(RecommendationGauges, ClearRemovesEverythingItSet) {
  InMemoryMetrics reg;
  reg.set_gauge("wva_cycle_seconds", "host metric", {}, 0.2);
  RecommendationGauges g;
  std::vector<Decision> ds = {decision("a", 1, 1)};
  (void)g.publish(reg, batch("p1", ds));
  EXPECT_EQ(g.clear(reg), 1u);
  EXPECT_EQ(reg.series_count(kDesiredReplicas), 0u);
  EXPECT_TRUE(reg.value("wva_cycle_seconds").has_value()) << "the host's own metrics are not touched";
}

}  // namespace
}  // namespace wva::plugins::metrics
