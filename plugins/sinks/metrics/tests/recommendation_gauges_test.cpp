#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
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
  // An empty whole batch (the host's withdrawal when this replica stops leading) leaves no series to be
  // scraped beside the new leader's.
  stats = g.publish(reg, batch("default", {}));
  EXPECT_EQ(stats.removed, 1u);
  EXPECT_EQ(reg.series_count(kDesiredReplicas), 0u);
  EXPECT_EQ(reg.series_count(kCurrentReplicas), 0u);
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

// The gauges as they were before the incremental writes: every series of every batch written, a
// std::set of labels per pipeline. The registry must read the same after every batch.
class WriteEverythingGauges {
 public:
  GaugeStats publish(sdk::MetricsRegistry& registry, const sdk::PublishBatch& batch) {
    GaugeStats stats;
    std::set<sdk::Labels> now;
    for (const auto& d : batch.decisions) {
      if (d.variant.empty() || d.desired < 0) {
        ++stats.skipped;
        continue;
      }
      sdk::Labels l = series_labels(d);
      const int current = d.current < 0 ? 0 : d.current;
      registry.set_gauge(kDesiredReplicas, "d", l, static_cast<double>(d.desired));
      registry.set_gauge(kCurrentReplicas, "c", l, static_cast<double>(current));
      registry.set_gauge(kDesiredRatio, "r", l, desired_ratio(d.desired, current));
      if (now.insert(std::move(l)).second) ++stats.set;
    }
    auto& previous = by_pipeline_[batch.pipeline];
    if (batch.partial) {
      previous.insert(now.begin(), now.end());
      return stats;
    }
    for (const auto& l : previous) {
      if (now.count(l)) continue;
      bool elsewhere = false;
      for (const auto& [pipeline, series] : by_pipeline_)
        if (pipeline != batch.pipeline && series.count(l)) elsewhere = true;
      if (elsewhere) continue;
      for (const char* name : {kDesiredReplicas, kCurrentReplicas, kDesiredRatio}) registry.remove(name, l);
      ++stats.removed;
    }
    previous = std::move(now);
    return stats;
  }

 private:
  std::map<std::string, std::set<sdk::Labels>> by_pipeline_;
};

// Series values of the three families, without help texts (the reference writes its own).
std::map<std::string, double> gauge_values(const InMemoryMetrics& reg, const std::vector<sdk::Labels>& universe) {
  std::map<std::string, double> out;
  for (const char* name : {kDesiredReplicas, kCurrentReplicas, kDesiredRatio})
    for (const auto& l : universe)
      if (auto v = reg.value(name, l)) {
        std::string key = name;
        for (const auto& [k, val] : l) key += "," + k + "=" + val;
        out[key] = *v;
      }
  return out;
}

TEST(RecommendationGauges, IncrementalWritesLeaveTheRegistryAsWritingEverything) {
  // Random batches of 3 pipelines over 12 variants (accelerators changing, variants moving between
  // pipelines, partial batches, skipped decisions, duplicates): after every batch the registry holds the
  // same series with the same values, and the stats agree.
  std::mt19937 rng(20261206);
  const std::vector<std::string> accelerators = {"H100", "A100"};
  std::vector<sdk::Labels> universe;
  for (int v = 0; v < 12; ++v)
    for (const auto& acc : accelerators) universe.push_back(labels("v" + std::to_string(v), acc));
  for (int round = 0; round < 20; ++round) {
    InMemoryMetrics incremental_reg, reference_reg;
    RecommendationGauges incremental;
    WriteEverythingGauges reference;
    for (int step = 0; step < 60; ++step) {
      const std::string pipeline = "p" + std::to_string(rng() % 3);
      std::vector<Decision> ds;
      const int n = static_cast<int>(rng() % 8);
      for (int i = 0; i < n; ++i) {
        const int v = static_cast<int>(rng() % 12);
        ds.push_back(decision(rng() % 20 == 0 ? "" : "v" + std::to_string(v), static_cast<int>(rng() % 4) - 1,
                              static_cast<int>(rng() % 5) - (rng() % 15 == 0 ? 3 : 0), accelerators[rng() % 2]));
      }
      auto b = batch(pipeline, ds);
      b.partial = rng() % 5 == 0;
      const GaugeStats got = incremental.publish(incremental_reg, b);
      const GaugeStats want = reference.publish(reference_reg, b);
      ASSERT_EQ(got.set, want.set) << "round " << round << " step " << step;
      ASSERT_EQ(got.removed, want.removed) << "round " << round << " step " << step;
      ASSERT_EQ(got.skipped, want.skipped) << "round " << round << " step " << step;
      ASSERT_EQ(gauge_values(incremental_reg, universe), gauge_values(reference_reg, universe))
          << "round " << round << " step " << step;
    }
  }
}

TEST(RecommendationGauges, UnchangedValuesAreNotWrittenAgain) {
  // What makes a steady fleet cheap: the second identical batch writes nothing (a registry that counts
  // writes sees none), a changed value is written.
  class CountingMetrics : public InMemoryMetrics {
   public:
    void set_gauge(std::string_view name, std::string_view help, const sdk::Labels& l, double value) override {
      ++writes;
      InMemoryMetrics::set_gauge(name, help, l, value);
    }
    int writes = 0;
  };
  CountingMetrics reg;
  RecommendationGauges g;
  std::vector<Decision> ds = {decision("a", 1, 2), decision("b", 2, 2)};
  (void)g.publish(reg, batch("p", ds));
  EXPECT_EQ(reg.writes, 6);
  (void)g.publish(reg, batch("p", ds));
  EXPECT_EQ(reg.writes, 6);
  ds[1].desired = 3;
  (void)g.publish(reg, batch("p", ds));
  EXPECT_EQ(reg.writes, 9);
  EXPECT_EQ(reg.value(kDesiredReplicas, labels("b")), 3.0);
}

TEST(RecommendationGauges, ASeriesRemovedBehindItsBackIsWrittenAgainWithinTheRewritePeriod) {
  // A replaced instance that stops late clears the same series from the registry; the incremental
  // writer does not know, and writes everything again every kRewriteEvery batches.
  InMemoryMetrics reg;
  RecommendationGauges g;
  std::vector<Decision> ds = {decision("a", 1, 2)};
  (void)g.publish(reg, batch("p", ds));
  for (const char* name : {kDesiredReplicas, kCurrentReplicas, kDesiredRatio}) reg.remove(name, labels("a"));
  std::size_t batches = 0;
  while (!reg.value(kDesiredReplicas, labels("a")) && batches < RecommendationGauges::kRewriteEvery) {
    (void)g.publish(reg, batch("p", ds));
    ++batches;
  }
  EXPECT_EQ(reg.value(kDesiredReplicas, labels("a")), 2.0) << "after " << batches << " batches";
  EXPECT_EQ(reg.value(kCurrentReplicas, labels("a")), 1.0);
  EXPECT_EQ(reg.value(kDesiredRatio, labels("a")), 2.0);
}

}  // namespace
}  // namespace wva::plugins::metrics
