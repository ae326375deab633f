// mode: compatible is the upstream V1 analyzer rule for rule (docs/upstream.md sections 4.2-4.5).
// Boundary cases use thresholds and loads that are exact in binary (0.75, 0.25, 0.5, ...), so that
// "exactly at" means exactly, and the test checks the comparison (>=, <), not rounding.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "analysis.h"
#include "model_fixture.h"

namespace wva::saturation {
namespace {

using ::testing::HasSubstr;
using testing::make_model;
using testing::PodSpec;
using testing::target_of;
using testing::VariantSpec;

const Thresholds kDefaults{};               // FAQ values: 0.80, 5, 0.10, 3
const Thresholds kExact{0.75, 4, 0.25, 2};  // binary-exact values for boundary tests

Outcome run(const sdk::ModelView& m, const Thresholds& t = kDefaults) {
  return analyze_model(m, t, Options::compatible());
}

// ---- docs/upstream.md section 4.5: the worked example ----------------------------------------------------------

sdk::ModelView worked_example(double a2_kv = 0.78) {
  return make_model({
      VariantSpec{.name = "a-l4", .cost = 5.0, .current = 2, .pods = {{0.74, 1}, {a2_kv, 2}}, .desired = 2},
      VariantSpec{.name = "b-a100", .cost = 20.0, .current = 2, .pods = {{0.85, 0}, {0.60, 1}}},
  });
}

TEST(CompatibleWorkedExample, ScalesUpTheCheapestVariant) {
  const auto o = run(worked_example());
  EXPECT_EQ(o.details.replicas_counted, 3);
  EXPECT_EQ(o.details.saturated, 1);
  ASSERT_TRUE(o.details.avg_spare_kv);
  EXPECT_NEAR(*o.details.avg_spare_kv, 0.28 / 3, 1e-12);
  EXPECT_NEAR(*o.details.avg_spare_queue, 11.0 / 3, 1e-12);
  EXPECT_TRUE(o.details.kv_low);
  EXPECT_FALSE(o.details.queue_low);
  EXPECT_TRUE(o.details.scale_up);
  // The safety check would say unsafe: remKv = 0.80 - 0.7067 * 1.5 = -0.26.
  EXPECT_FALSE(o.details.scale_down_safe);
  ASSERT_TRUE(o.details.rem_kv);
  EXPECT_NEAR(*o.details.rem_kv, 0.80 - (0.80 - 0.28 / 3) * 1.5, 1e-12);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 3);
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 2);
  EXPECT_EQ(o.recommendation.reason,
            "KV cache spare 0.09 < trigger 0.10 on 3 non-saturated replicas; +1 on a-l4 (cheapest, cost 5.0)");
  EXPECT_EQ(o.recommendation.targets[0].reason, o.recommendation.reason);
  EXPECT_FALSE(o.recommendation.scale_down_safe);
  EXPECT_TRUE(o.recommendation.has_opinion);
}

TEST(CompatibleWorkedExample, NoScaleUpAndUnsafeDownHolds) {
  // docs/upstream.md section 4.5 says "avgSpareKv 0.1167 ... remKv -0.225" for a2 = 0.75; the rules give spare
  // {0.06, 0.05, 0.20} -> 0.1033 and remKv 0.80 - 0.6967 * 1.5 = -0.245 (its figures fit a2 = 0.71).
  // Either way: no scale-up, unsafe scale-down, targets stay 2/2.
  const auto o = run(worked_example(0.75));
  EXPECT_NEAR(*o.details.avg_spare_kv, 0.31 / 3, 1e-12);
  EXPECT_FALSE(o.details.scale_up);
  EXPECT_FALSE(o.details.scale_down_safe);
  EXPECT_NEAR(*o.details.rem_kv, -0.245, 1e-9);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 2);
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 2);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("KV spare after removing one replica -0.24 < 0.10"));
  EXPECT_THAT(o.recommendation.reason, HasSubstr("holding"));
}

TEST(CompatibleWorkedExample, SectionFiguresFitA2At071) {
  const auto o = run(worked_example(0.71));
  EXPECT_NEAR(*o.details.avg_spare_kv, 0.35 / 3, 1e-12);
  EXPECT_NEAR(*o.details.rem_kv, -0.225, 1e-9);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 2);
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 2);
}

TEST(CompatibleWorkedExample, ScaleDownSequenceMostExpensiveFirstThenFloorOfOne) {
  // Four idle pods: b-a100 2 -> 1, then a-l4 2 -> 1, then no candidate.
  auto m = make_model({
      VariantSpec{.name = "a-l4", .cost = 5.0, .current = 2, .pods = {{0.2, 0}, {0.2, 0}}},
      VariantSpec{.name = "b-a100", .cost = 20.0, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}},
  });
  auto o = run(m);
  EXPECT_NEAR(*o.details.avg_spare_kv, 0.65, 1e-12);
  EXPECT_NEAR(*o.details.avg_spare_queue, 5, 1e-12);
  EXPECT_NEAR(*o.details.rem_kv, 0.60, 1e-12);
  EXPECT_NEAR(*o.details.rem_queue, 5, 1e-12);
  EXPECT_TRUE(o.details.scale_down_safe);
  EXPECT_TRUE(o.recommendation.scale_down_safe);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 2);
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 1);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("-1 on b-a100 (most expensive, cost 20.0)"));

  m = make_model({
      VariantSpec{.name = "a-l4", .cost = 5.0, .current = 2, .pods = {{0.2, 0}, {0.2, 0}}},
      VariantSpec{.name = "b-a100", .cost = 20.0, .current = 1, .pods = {{0.1, 0}}},
  });
  o = run(m);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 1);
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 1);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("-1 on a-l4 (most expensive available, cost 5.0)"));

  m = make_model({
      VariantSpec{.name = "a-l4", .cost = 5.0, .current = 1, .pods = {{0.2, 0}}},
      VariantSpec{.name = "b-a100", .cost = 20.0, .current = 1, .pods = {{0.1, 0}}},
  });
  o = run(m);
  EXPECT_TRUE(o.details.scale_down_safe);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 1);
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 1);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("every variant is at its floor"));
}

// ---- Table: every rule and boundary --------------------------------------------------------------

struct Case {
  const char* name;
  std::vector<VariantSpec> variants;
  Thresholds thresholds;
  std::vector<std::pair<const char*, int>> targets;
  const char* reason_has;
};

class CompatibleRules : public ::testing::TestWithParam<Case> {};

TEST_P(CompatibleRules, Targets) {
  const Case& c = GetParam();
  const auto o = run(make_model(c.variants), c.thresholds);
  for (const auto& [variant, replicas] : c.targets)
    EXPECT_EQ(target_of(o.recommendation, variant), replicas) << "variant " << variant << "\n"
                                                              << o.recommendation.reason;
  EXPECT_THAT(o.recommendation.reason, HasSubstr(c.reason_has));
  EXPECT_EQ(o.recommendation.targets.size(), c.variants.size());
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

INSTANTIATE_TEST_SUITE_P(
    Table, CompatibleRules,
    ::testing::Values(
        // Saturation: kv >= kvT (exactly at threshold is saturated). 0.75 saturated -> 1 non-saturated.
        Case{"KvExactlyAtThresholdIsSaturated",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.75, 0}, {0.25, 0}}}},
             kExact,
             {{"a", 2}},
             "only 1 non-saturated replica (at least 2 needed)"},
        Case{"KvJustBelowThresholdIsNot",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.71875, 0}, {0.0, 0}}}},
             kExact,
             {{"a", 2}},
             "on 2 non-saturated replicas"},
        // Saturation: q >= qT.
        Case{"QueueExactlyAtThresholdIsSaturated",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.0, 4}, {0.0, 0}}}},
             kExact,
             {{"a", 2}},
             "only 1 non-saturated replica"},
        // Waiting is a count: 4.9 is truncated to 4 (< qT 5), as upstream's int(value).
        Case{"QueueTruncated",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.1, 4.9}, {0.1, 0}}}},
             kDefaults,
             {{"a", 2}},
             "on 2 non-saturated replicas"},
        // Scale-up trigger is strict: spare == trigger does not scale up.
        Case{"KvSpareExactlyAtTriggerNoScaleUp",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.5, 0}, {0.5, 0}}}},
             kExact,
             {{"a", 2}},
             "KV cache spare 0.25 >= trigger 0.25"},
        Case{"KvSpareBelowTriggerScalesUp",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.53125, 0}, {0.5, 0}}}},
             kExact,
             {{"a", 3}},
             "KV cache spare 0.23 < trigger 0.25 on 2 non-saturated replicas; +1 on a"},
        Case{"QueueSpareExactlyAtTriggerNoScaleUp",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.0, 2}, {0.0, 2}}}},
             kExact,
             {{"a", 2}},
             "queue spare 2.00 >= trigger 2.00"},
        Case{"QueueSpareBelowTriggerScalesUp",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.0, 3}, {0.0, 2}}}},
             kExact,
             {{"a", 3}},
             "queue spare 1.50 < trigger 2.00"},
        Case{"BothLow",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.625, 3}, {0.625, 3}}}},
             kExact,
             {{"a", 3}},
             "KV cache spare 0.12 < trigger 0.25 and queue spare 1.00 < trigger 2.00"},
        // N-1 safety is inclusive: remaining spare == trigger is safe.
        Case{"KvSafetyExactlyAtTriggerScalesDown",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.25, 0}, {0.25, 0}}}},
             kExact,
             {{"a", 1}},
             "spare after removing one replica: KV 0.25 >= 0.25"},
        Case{"KvSafetyBelowTriggerHolds",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.25, 0}, {0.28125, 0}}}},
             kExact,
             {{"a", 2}},
             "KV spare after removing one replica 0.22 < 0.25"},
        Case{"QueueSafetyExactlyAtTriggerScalesDown",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.0, 1}, {0.0, 1}}}},
             kExact,
             {{"a", 1}},
             "queue 2.00 >= 2.00"},
        Case{"QueueSafetyBelowTriggerHolds",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.0, 1}, {0.0, 2}}}},
             kExact,
             {{"a", 2}},
             "queue spare after removing one replica 1.00 < 2.00"},
        // All replicas saturated: averages are 0, so scale-up.
        Case{"AllSaturatedScalesUp",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.9, 0}, {0.1, 7}}}},
             kDefaults,
             {{"a", 3}},
             "all 2 replicas saturated (KV >= 0.80 or queue >= 5.00); +1 on a"},
        // ... unless both triggers are 0 (0 < 0 is false): then hold (and unsafe).
        Case{"AllSaturatedWithZeroTriggersHolds",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.9, 0}, {0.9, 0}}}},
             Thresholds{0.8, 5, 0, 0},
             {{"a", 2}},
             "only 0 non-saturated replicas"},
        // One replica: never a scale-down, however idle.
        Case{"OneReplicaNeverScalesDown",
             {{.name = "a", .cost = 1, .current = 1, .pods = {{0.0, 0}}}},
             kDefaults,
             {{"a", 1}},
             "only 1 non-saturated replica (at least 2 needed)"},
        Case{"OneReplicaScalesUp",
             {{.name = "a", .cost = 1, .current = 1, .pods = {{0.75, 0}}}},
             kDefaults,
             {{"a", 2}},
             "+1 on a (cheapest, cost 1.0)"},
        // Ties: equal cost -> alphabetical for up, reverse alphabetical for down.
        Case{"UpTieSmallestName",
             {{.name = "beta", .cost = 7, .current = 1, .pods = {{0.75, 0}}},
              {.name = "alpha", .cost = 7, .current = 1, .pods = {{0.75, 0}}}},
             kDefaults,
             {{"alpha", 2}, {"beta", 1}},
             "+1 on alpha (cheapest, cost 7.0)"},
        Case{"DownTieLargestName",
             {{.name = "alpha", .cost = 7, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}},
              {.name = "beta", .cost = 7, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}}},
             kDefaults,
             {{"alpha", 2}, {"beta", 1}},
             "-1 on beta (most expensive, cost 7.0)"},
        // Cost beats name.
        Case{"CheapestByCostNotName",
             {{.name = "a-dear", .cost = 9, .current = 1, .pods = {{0.75, 0}}},
              {.name = "z-cheap", .cost = 1, .current = 1, .pods = {{0.75, 0}}}},
             kDefaults,
             {{"a-dear", 1}, {"z-cheap", 2}},
             "+1 on z-cheap (cheapest, cost 1.0)"},
        // Scale-down skips a variant at 1 even when it is the most expensive.
        Case{"DownSkipsVariantAtOne",
             {{.name = "a-l4", .cost = 5, .current = 3, .pods = {{0.1, 0}, {0.1, 0}, {0.1, 0}}},
              {.name = "b-h100", .cost = 50, .current = 1, .pods = {{0.1, 0}}}},
             kDefaults,
             {{"a-l4", 2}, {"b-h100", 1}},
             "-1 on a-l4 (most expensive available, cost 5.0)"},
        // The cheapest variant with pending replicas is skipped (its pending pod still reports metrics,
        // so the model is not in transition).
        Case{"UpSkipsCheapestWithPending",
             {{.name = "a-l4", .cost = 5, .current = 2, .pods = {{0.78, 1}, {0.78, 1}}, .ready = 1},
              {.name = "b-a100", .cost = 20, .current = 1, .pods = {{0.78, 1}}}},
             kDefaults,
             {{"a-l4", 2}, {"b-a100", 2}},
             "+1 on b-a100 (cheapest available, cost 20.0)"},
        Case{"UpWithEveryVariantPendingHolds",
             {{.name = "a-l4", .cost = 5, .current = 2, .pods = {{0.78, 1}, {0.78, 1}}, .ready = 1}},
             kDefaults,
             {{"a-l4", 2}},
             "no variant can take a replica (every variant has pending replicas)"},
        // Transition: desired != current freezes every variant; desired wins where it differs.
        Case{"TransitionDesiredDiffers",
             {{.name = "a-l4", .cost = 5, .current = 2, .pods = {{0.78, 1}, {0.78, 1}}, .desired = 3},
              {.name = "b-a100", .cost = 20, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}, .desired = 2}},
             kDefaults,
             {{"a-l4", 3}, {"b-a100", 2}},
             "model in transition (a-l4: desired 3 != current 2); holding every variant"},
        // Transition: fewer pods with metrics than current replicas.
        Case{"TransitionMissingPodMetrics",
             {{.name = "a-l4", .cost = 5, .current = 3, .pods = {{0.78, 4}, {0.78, 4}}},
              {.name = "b-a100", .cost = 20, .current = 1, .pods = {{0.79, 4}}}},
             kDefaults,
             {{"a-l4", 3}, {"b-a100", 1}},
             "a-l4: 2 of 3 replicas report metrics"},
        // Desired 0 means unset (no transition).
        Case{"DesiredZeroIsUnset",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.78, 0}, {0.78, 0}}, .desired = 0}},
             kDefaults,
             {{"a", 3}},
             "+1 on a"},
        // A pod with no value at all does not report: 1 of 2 -> transition.
        Case{"PodWithoutValuesDoesNotReport",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.5, 1}, {std::nullopt, std::nullopt}}}},
             kDefaults,
             {{"a", 2}},
             "a: 1 of 2 replicas report metrics"},
        // A pod with one value: the other is read as 0 (upstream). KV 0 dilutes the average here.
        Case{"MissingValueReadAsZero",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.78, 1}, {std::nullopt, 1}}}},
             kDefaults,
             {{"a", 2}},
             "KV cache spare 0.41 >= trigger 0.10"},
        // NaN is 0 (upstream fixNaN).
        Case{"NaNIsZero",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{kNaN, 1}, {0.2, 1}}}},
             kDefaults,
             {{"a", 1}},
             "-1 on a"},
        // Unknown cost: scaled up last.
        Case{"UnknownCostScaledUpLast",
             {{.name = "a-mystery", .cost = std::nullopt, .current = 1, .pods = {{0.78, 0}}},
              {.name = "b-a100", .cost = 20, .current = 1, .pods = {{0.78, 0}}}},
             kDefaults,
             {{"a-mystery", 1}, {"b-a100", 2}},
             "+1 on b-a100 (cheapest, cost 20.0)"},
        // Unknown cost: scaled down first.
        Case{"UnknownCostScaledDownFirst",
             {{.name = "a-mystery", .cost = std::nullopt, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}},
              {.name = "b-h100", .cost = 50, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}}},
             kDefaults,
             {{"a-mystery", 1}, {"b-h100", 2}},
             "-1 on a-mystery (most expensive, cost unknown)"},
        // A variant without reporting pods is neither a candidate nor a transition; it keeps its desired.
        Case{"VariantWithoutMetricsKeepsDesired",
             {{.name = "a-l4", .cost = 5, .current = 2, .pods = {{0.78, 1}, {0.78, 1}}},
              {.name = "c-cheap", .cost = 1, .current = 0, .pods = {}, .desired = 4}},
             kDefaults,
             {{"a-l4", 3}, {"c-cheap", 4}},
             "+1 on a-l4 (cheapest available, cost 5.0)"},
        // Only one variant moves per cycle, by exactly one.
        Case{"OneStepPerModel",
             {{.name = "a", .cost = 1, .current = 2, .pods = {{0.79, 4}, {0.79, 4}}},
              {.name = "b", .cost = 2, .current = 2, .pods = {{0.79, 4}, {0.79, 4}}}},
             kDefaults,
             {{"a", 3}, {"b", 2}},
             "+1 on a (cheapest, cost 1.0)"}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// ---- Outside the table ---------------------------------------------------------------------------

TEST(Compatible, NoMetricsIsNoOpinion) {
  auto m = make_model({{.name = "a", .cost = 1, .current = 2, .pods = {}, .desired = 3}});
  m.metrics.state = sdk::MetricsState::kError;
  m.metrics.message = "connection refused";
  const auto o = run(m);
  EXPECT_FALSE(o.recommendation.has_opinion);
  EXPECT_FALSE(o.recommendation.scale_down_safe);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("no metrics (error: connection refused)"));
  ASSERT_EQ(o.recommendation.conditions.size(), 1u);
  EXPECT_EQ(o.recommendation.conditions[0].type, "MetricsAvailable");
  EXPECT_EQ(o.recommendation.conditions[0].status, "False");
  EXPECT_EQ(o.recommendation.conditions[0].reason, "MetricsUnavailable");
  EXPECT_EQ(target_of(o.recommendation, "a"), 3);  // the last decision, for whoever reads targets
}

TEST(Compatible, OkStateButNoReportingPodIsNoOpinion) {
  const auto o = run(make_model({{.name = "a", .cost = 1, .current = 2, .pods = {{std::nullopt, std::nullopt}}}}));
  EXPECT_FALSE(o.recommendation.has_opinion);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("no pod of the model reports"));
  EXPECT_EQ(o.recommendation.conditions.at(0).reason, "NoPodMetrics");
}

TEST(Compatible, PodsOfOtherVariantsAreIgnored) {
  auto m = make_model({{.name = "a", .cost = 1, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}}});
  sdk::ReplicaMetrics stray;
  stray.pod = "other-0";
  stray.variant = "other";
  stray.kv_cache_usage = 0.99;
  stray.waiting = 50;
  m.metrics.replicas.push_back(stray);
  const auto o = run(m);
  EXPECT_EQ(o.details.saturated, 0);
  EXPECT_EQ(target_of(o.recommendation, "a"), 1);
}

TEST(Compatible, UnknownCostIsAConditionNotZero) {
  const auto o = run(make_model({
      {.name = "a-mystery", .cost = std::nullopt, .current = 1, .pods = {{0.78, 0}}},
      {.name = "b-a100", .cost = 20, .current = 1, .pods = {{0.78, 0}}},
  }));
  ASSERT_EQ(o.recommendation.conditions.size(), 1u);
  const auto& c = o.recommendation.conditions[0];
  EXPECT_EQ(c.type, "CostAvailable");
  EXPECT_EQ(c.status, "False");
  EXPECT_EQ(c.reason, "AcceleratorCostUnknown");
  EXPECT_THAT(c.message, HasSubstr("a-mystery (mystery) has no cost: accelerator mystery not in accelerator-unitcost"));
}

TEST(Compatible, ScaleDownSafeOnlyWhenSafeAndNoScaleUp) {
  EXPECT_FALSE(run(worked_example()).recommendation.scale_down_safe);      // scale-up
  EXPECT_FALSE(run(worked_example(0.75)).recommendation.scale_down_safe);  // unsafe
  EXPECT_TRUE(run(make_model({{.name = "a", .cost = 1, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}}}))
                  .recommendation.scale_down_safe);
  // In transition: not safe.
  EXPECT_FALSE(run(make_model({{.name = "a", .cost = 1, .current = 2, .pods = {{0.1, 0}, {0.1, 0}}, .desired = 3}}))
                   .recommendation.scale_down_safe);
}

TEST(Compatible, ThresholdsChangeTheDecision) {
  // Same pods, kvCacheThreshold 0.9: spare {0.16, 0.12, 0.05(sat? no: 0.85 < 0.9), 0.30} -> no scale-up.
  Thresholds t;
  t.kv_cache_threshold = 0.9;
  const auto o = run(worked_example(), t);
  EXPECT_EQ(o.details.saturated, 0);
  EXPECT_FALSE(o.details.scale_up);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 2);
}

TEST(Compatible, TargetsFollowVariantOrderAndNameTheAnalyzer) {
  const auto o = analyze_model(worked_example(), kDefaults, Options::compatible(), "sat-premium");
  ASSERT_EQ(o.recommendation.targets.size(), 2u);
  EXPECT_EQ(o.recommendation.targets[0].variant, "a-l4");
  EXPECT_EQ(o.recommendation.targets[1].variant, "b-a100");
  EXPECT_EQ(o.recommendation.analyzer, "sat-premium");
}

TEST(Compatible, DoesNotClampToMax) {
  // Upstream V1 publishes current + 1 even above the HPA's max (the seed of the deadlock, see improved).
  const auto o = run(make_model({{.name = "a", .cost = 1, .current = 2, .pods = {{0.79, 4}, {0.79, 4}}, .max = 2}}));
  EXPECT_EQ(target_of(o.recommendation, "a"), 3);
}

}  // namespace
}  // namespace wva::saturation
