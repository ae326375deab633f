// mode: improved. Each option is tested on an input where the compatible rules fail, with that option
// alone switched on (to show it is the one that fixes it) and with the whole improved mode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "analysis.h"
#include "model_fixture.h"

namespace wva::saturation {
namespace {

using ::testing::HasSubstr;
using testing::make_model;
using testing::PodSpec;
using testing::target_of;
using testing::VariantSpec;

const Thresholds kDefaults{};

Options only(bool Options::*flag) {
  Options o = Options::compatible();
  o.*flag = true;
  return o;
}

std::vector<PodSpec> pods(int n, PodSpec p) { return std::vector<PodSpec>(static_cast<std::size_t>(n), p); }

// ---- 1. No transition deadlock --------------------------------------------------------------------

// The HPA clamps at maxReplicas 10, so current stays 10 while WVA's last desired was 11. The load then
// falls to idle. Cycle after cycle, compatible sees desired != current and freezes at 11; improved
// scales down. The loop plays the HPA: next current = clamp(desired, min, max).
TEST(ImprovedNoDeadlock, HpaClampedAtMaxDoesNotFreezeTheModel) {
  auto cycle = [](const Options& opt) {
    int current = 10, desired = 11;
    for (int i = 0; i < 5; ++i) {
      auto m = make_model({VariantSpec{.name = "a-l4",
                                       .cost = 5,
                                       .current = current,
                                       .pods = pods(current, {0.1, 0}),
                                       .desired = desired,
                                       .max = 10}});
      desired = target_of(analyze_model(m, kDefaults, opt).recommendation, "a-l4");
      current = std::clamp(desired, 1, 10);
    }
    return std::make_pair(current, desired);
  };
  const auto compat = cycle(Options::compatible());
  EXPECT_EQ(compat.first, 10) << "compatible: frozen at the HPA's max";
  EXPECT_EQ(compat.second, 11) << "compatible: keeps publishing the unreachable 11";

  const auto unblocked = cycle(only(&Options::unblock_transitions));
  EXPECT_EQ(unblocked.first, 5) << "one step down per cycle";
  const auto improved = cycle(Options::improved());
  EXPECT_LT(improved.first, 10);
}

TEST(ImprovedNoDeadlock, ClampedAtMinDoesNotFreezeTheModel) {
  // The HPA keeps 3 (minReplicas 3) while desired was 2; the load now needs more.
  auto m = make_model(
      {VariantSpec{.name = "a-l4", .cost = 5, .current = 3, .pods = pods(3, {0.78, 1}), .desired = 2, .min = 3}});
  EXPECT_EQ(target_of(analyze_model(m, kDefaults, Options::compatible()).recommendation, "a-l4"), 2);
  const auto o = analyze_model(m, kDefaults, only(&Options::unblock_transitions));
  EXPECT_FALSE(o.details.in_transition);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 4);
}

TEST(ImprovedNoDeadlock, OnePodLosingItsMetricsDoesNotFreezeTheModel) {
  // 3 ready replicas, the third's scrape fails. The other two are nearly full.
  auto m = make_model({VariantSpec{
      .name = "a-l4", .cost = 5, .current = 3, .pods = {{0.78, 1}, {0.79, 1}, {std::nullopt, std::nullopt}}}});
  const auto compat = analyze_model(m, kDefaults, Options::compatible());
  EXPECT_TRUE(compat.details.in_transition);
  EXPECT_EQ(target_of(compat.recommendation, "a-l4"), 3);

  const auto unblocked = analyze_model(m, kDefaults, only(&Options::unblock_transitions));
  EXPECT_EQ(target_of(unblocked.recommendation, "a-l4"), 4);
  const auto improved = analyze_model(m, kDefaults, Options::improved());
  EXPECT_EQ(improved.details.unknown, 1) << "the silent pod is assumed at the mean load, not at zero";
  EXPECT_GE(target_of(improved.recommendation, "a-l4"), 4);
  EXPECT_THAT(improved.recommendation.reason, HasSubstr("1 without metrics (assumed at the mean)"));
}

TEST(ImprovedNoDeadlock, TargetsAreClampedToMax) {
  auto m = make_model({VariantSpec{.name = "a", .cost = 1, .current = 2, .pods = pods(2, {0.79, 4}), .max = 2}});
  EXPECT_EQ(target_of(analyze_model(m, kDefaults, Options::compatible()).recommendation, "a"), 3);
  const auto o = analyze_model(m, kDefaults, only(&Options::unblock_transitions));
  EXPECT_EQ(target_of(o.recommendation, "a"), 2);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("every variant has pending replicas or is at its max"));
}

// ---- 2. Pending replicas are capacity in flight; missing values are not zero ---------------------

// a-l4 asked for 3 last cycle; its third pod is loading (pending, no metrics yet). Its two ready pods
// and b-a100's pod are busy enough that, without the pod in flight, spare KV is 0.053 < 0.10.
sdk::ModelView loading_model(PodSpec busy) {
  return make_model({
      VariantSpec{.name = "a-l4", .cost = 5, .current = 3, .pods = {busy, busy}, .ready = 2, .desired = 3},
      VariantSpec{.name = "b-a100", .cost = 20, .current = 1, .pods = {busy}},
  });
}

TEST(ImprovedPendingAsCapacity, NoCascadeWhilePodsLoad) {
  const auto m = loading_model({0.7467, 1});
  // Compatible freezes (2 of 3 pods report): no cascade, but no reaction either (see next test).
  const auto compat = analyze_model(m, kDefaults, Options::compatible());
  EXPECT_TRUE(compat.details.in_transition);
  // Without the freeze but without counting the pod in flight, every cycle while a-l4's pod loads adds
  // a replica, and since a-l4 has pending replicas it goes to the expensive b-a100: the cascade.
  const auto cascade = analyze_model(m, kDefaults, only(&Options::unblock_transitions));
  EXPECT_EQ(target_of(cascade.recommendation, "a-l4"), 3);
  EXPECT_EQ(target_of(cascade.recommendation, "b-a100"), 2);
  // Counting it: 3 pods' load over 4 replicas leaves spare 0.24 >= 0.10: nothing more to add.
  Options opt = only(&Options::unblock_transitions);
  opt.pending_as_capacity = true;
  const auto fixed = analyze_model(m, kDefaults, opt);
  EXPECT_EQ(fixed.details.pending, 1);
  EXPECT_FALSE(fixed.details.scale_up);
  EXPECT_NEAR(fixed.details.spare_kv, 0.8 - 0.7467 * 3 / 4, 1e-9);
  EXPECT_EQ(target_of(fixed.recommendation, "a-l4"), 3);
  EXPECT_EQ(target_of(fixed.recommendation, "b-a100"), 1);
  const auto improved = analyze_model(m, kDefaults, Options::improved());
  EXPECT_EQ(target_of(improved.recommendation, "a-l4"), 3);
  EXPECT_EQ(target_of(improved.recommendation, "b-a100"), 1);
  EXPECT_THAT(improved.recommendation.reason, HasSubstr("+ 1 pending (capacity in flight)"));
}

TEST(ImprovedPendingAsCapacity, SurgeWhilePodsLoadStillScalesUp) {
  // Queue 4 per pod: even with the pod in flight, spare queue = 5 - 12/4 = 2 < 3.
  const auto m = loading_model({0.79, 4});
  const auto compat = analyze_model(m, kDefaults, Options::compatible());
  EXPECT_EQ(target_of(compat.recommendation, "a-l4"), 3) << "compatible waits for the pod to load";
  EXPECT_EQ(target_of(compat.recommendation, "b-a100"), 1);

  Options opt = only(&Options::unblock_transitions);
  opt.pending_as_capacity = true;
  const auto o = analyze_model(m, kDefaults, opt);
  EXPECT_TRUE(o.details.queue_low);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 4) << "the cheapest still takes the step, pending or not";
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 1);
}

TEST(ImprovedPendingAsCapacity, MissingValueIsNotZero) {
  // The third pod reports its queue but not its KV cache. Compatible reads KV 0 and sees plenty of
  // spare; the two pods that do report KV are at 0.75 (spare 0.05 < 0.10).
  auto m = make_model(
      {VariantSpec{.name = "a", .cost = 1, .current = 3, .pods = {{0.75, 1}, {0.75, 1}, {std::nullopt, 1}}}});
  const auto compat = analyze_model(m, kDefaults, Options::compatible());
  EXPECT_NEAR(*compat.details.avg_spare_kv, 0.3, 1e-12);
  EXPECT_EQ(target_of(compat.recommendation, "a"), 3);

  const auto o = analyze_model(m, kDefaults, only(&Options::pending_as_capacity));
  EXPECT_NEAR(*o.details.avg_spare_kv, 0.05, 1e-12);
  EXPECT_TRUE(o.details.kv_low);
  EXPECT_EQ(target_of(o.recommendation, "a"), 4);
}

TEST(ImprovedPendingAsCapacity, SilentPodIsNotIdleCapacityForScaleDown) {
  // 3 ready pods, one silent; the two that report are moderately loaded. Read as "not there", the
  // compatible freeze holds; read as idle (a zero), the N-1 check would pass. Improved assumes the
  // mean: remaining spare after removing one = 0.8 - 0.35 * 3/2 = 0.275 -> safe, but it is computed
  // with the silent pod's load, not zero.
  auto m = make_model({VariantSpec{
      .name = "a", .cost = 1, .current = 3, .pods = {{0.35, 0}, {0.35, 0}, {std::nullopt, std::nullopt}}}});
  Options opt = Options::improved();
  opt.hysteresis = false;
  const auto o = analyze_model(m, kDefaults, opt);
  ASSERT_TRUE(o.details.rem_kv);
  EXPECT_NEAR(*o.details.rem_kv, 0.8 - 0.35 * 3 / 2, 1e-12);
}

TEST(ImprovedPendingAsCapacity, VariantAtZeroCanTakeTheScaleUp) {
  // c-cheap has no replica (so no metrics). Compatible only considers variants that report.
  auto m = make_model({
      VariantSpec{.name = "a-l4", .cost = 5, .current = 2, .pods = pods(2, {0.78, 1})},
      VariantSpec{.name = "c-t4", .cost = 1, .current = 0, .pods = {}, .min = 0},
  });
  EXPECT_EQ(target_of(analyze_model(m, kDefaults, Options::compatible()).recommendation, "c-t4"), 0);
  const auto o = analyze_model(m, kDefaults, Options::improved());
  EXPECT_EQ(target_of(o.recommendation, "c-t4"), 1);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 2);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("+1 on c-t4 (cheapest, cost 1.0)"));
}

// ---- 3. Proportional steps ------------------------------------------------------------------------

TEST(ImprovedProportional, FarAboveCapacityAddsWhatTheArithmeticNeeds) {
  // Two pods with 4 waiting each (not saturated, queue spare 1 < 3): the queue load of 8 needs
  // ceil(8 / (5 - 3)) = 4 replicas; compatible adds one per cycle.
  auto m = make_model({VariantSpec{.name = "a-l4", .cost = 5, .current = 2, .pods = pods(2, {0.5, 4}), .max = 10}});
  EXPECT_EQ(target_of(analyze_model(m, kDefaults, Options::compatible()).recommendation, "a-l4"), 3);
  const auto o = analyze_model(m, kDefaults, only(&Options::proportional_steps));
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 4);
  EXPECT_EQ(o.details.step, 2);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("load needs 4 replicas, 2 counted; +2 on a-l4 (cheapest, cost 5.0)"));
}

TEST(ImprovedProportional, BoundedByMaxThenOverflowsToTheNextCheapest) {
  // Everything saturated with deep queues: 45 waiting need 23 replicas; the step is at most the 3
  // counted (doubling). a-l4 may grow to 3 only, so the rest overflows to b-a100.
  auto m = make_model({
      VariantSpec{.name = "a-l4", .cost = 5, .current = 2, .pods = pods(2, {0.9, 15}), .max = 3},
      VariantSpec{.name = "b-a100", .cost = 20, .current = 1, .pods = pods(1, {0.9, 15}), .max = 4},
  });
  const auto compat = analyze_model(m, kDefaults, Options::compatible());
  EXPECT_EQ(target_of(compat.recommendation, "a-l4"), 3);
  EXPECT_EQ(target_of(compat.recommendation, "b-a100"), 1);

  const auto o = analyze_model(m, kDefaults, only(&Options::proportional_steps));
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 3);
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 3);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("(at most doubling per cycle)"));
  EXPECT_THAT(o.recommendation.reason, HasSubstr("+1 on a-l4 (cheapest, cost 5.0, at max), +2 on b-a100 (cost 20.0)"));
}

TEST(ImprovedProportional, AtMostDoublesPerCycle) {
  // A queue backlog is drained, not carried forever: 2 pods with 15 waiting each "need" 15 replicas by
  // the arithmetic, but one cycle adds at most the 2 counted.
  auto m = make_model({VariantSpec{.name = "a-l4", .cost = 5, .current = 2, .pods = pods(2, {0.9, 15}), .max = 50}});
  const auto o = analyze_model(m, kDefaults, only(&Options::proportional_steps));
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 4);
}

TEST(ImprovedProportional, WhileAStepIsInFlightAddsOneAtMost) {
  // 2 ready pods with deep queues and 2 more still loading: the backlog keeps growing until they are
  // ready; sizing for it again would cascade. With pending counted as capacity, +1 at most.
  auto m = make_model(
      {VariantSpec{.name = "a-l4", .cost = 5, .current = 4, .pods = pods(2, {0.9, 15}), .ready = 2, .max = 50}});
  Options opt = only(&Options::proportional_steps);
  opt.pending_as_capacity = opt.unblock_transitions = true;
  const auto o = analyze_model(m, kDefaults, opt);
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 5);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("step in flight"));
}

TEST(ImprovedProportional, MaxScaleUpStepBoundsTheStep) {
  auto m = make_model({VariantSpec{.name = "a-l4", .cost = 5, .current = 8, .pods = pods(8, {0.9, 15}), .max = 50}});
  Options opt = only(&Options::proportional_steps);
  EXPECT_EQ(target_of(analyze_model(m, kDefaults, opt).recommendation, "a-l4"), 16);  // doubling
  opt.max_scale_up_step = 5;
  EXPECT_EQ(target_of(analyze_model(m, kDefaults, opt).recommendation, "a-l4"), 13);
}

TEST(ImprovedProportional, ScalesDownOneReplicaPerCycleEvenWhenFarMoreLooksSafe) {
  // 10 pods at KV 0.0625: by KV alone one replica would do, but KV does not measure compute, so the
  // step down stays one replica per cycle (as in compatible mode); only scale-up is proportional.
  auto m = make_model({VariantSpec{.name = "a", .cost = 1, .current = 10, .pods = pods(10, {0.0625, 0})}});
  EXPECT_EQ(target_of(analyze_model(m, kDefaults, Options::compatible()).recommendation, "a"), 9);
  const auto o = analyze_model(m, kDefaults, only(&Options::proportional_steps));
  EXPECT_EQ(target_of(o.recommendation, "a"), 9);
  EXPECT_EQ(o.details.step, -1);
}

// ---- 4. A saturated replica among idle peers ------------------------------------------------------

TEST(ImprovedCountSaturated, SaturatedReplicaAmongIdlePeersIsNotIgnored) {
  // One pod pinned at KV 1.0 with 10 waiting, three idle. Compatible averages the idle three only and
  // even scales DOWN. Counting the saturated one: queue spare (5*3 - 5)/4 = 2.5 < 3 -> scale up, and
  // scale-down is vetoed.
  auto m = make_model(
      {VariantSpec{.name = "a", .cost = 1, .current = 4, .pods = {{1.0, 10}, {0.1, 0}, {0.1, 0}, {0.1, 0}}}});
  const auto compat = analyze_model(m, kDefaults, Options::compatible());
  EXPECT_EQ(target_of(compat.recommendation, "a"), 3);
  EXPECT_TRUE(compat.recommendation.scale_down_safe);

  const auto o = analyze_model(m, kDefaults, only(&Options::count_saturated));
  EXPECT_NEAR(*o.details.avg_spare_queue, 2.5, 1e-12);
  EXPECT_EQ(target_of(o.recommendation, "a"), 5);
  EXPECT_FALSE(o.recommendation.scale_down_safe);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("on 4 replicas (1 saturated)"));
}

TEST(ImprovedCountSaturated, AnySaturatedReplicaVetoesScaleDown) {
  // Same shape but a shorter queue: no scale-up, and no scale-down either.
  auto m = make_model(
      {VariantSpec{.name = "a", .cost = 1, .current = 4, .pods = {{0.85, 0}, {0.1, 0}, {0.1, 0}, {0.1, 0}}}});
  EXPECT_EQ(target_of(analyze_model(m, kDefaults, Options::compatible()).recommendation, "a"), 3);
  const auto o = analyze_model(m, kDefaults, only(&Options::count_saturated));
  EXPECT_FALSE(o.details.scale_up);
  EXPECT_EQ(target_of(o.recommendation, "a"), 4);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("no scale-down: 1 replica saturated (a-0)"));
}

// ---- 5. Hysteresis --------------------------------------------------------------------------------

// A steady load with +-6% noise around 1.0 replica-equivalents of KV, spread evenly over the replicas.
// kvCacheThreshold 0.75, kvSpareTrigger 0.25: scale up when the mean exceeds 0.5, scale down when the
// load fits N-1 replicas at <= 0.5. With 3 replicas (mean 0.32 -> 0.36) compatible removes one; at 2
// (mean 0.54) it adds it back: it flaps every cycle.
int flips(const Options& opt) {
  const Thresholds t{0.75, 4, 0.25, 2};
  int n = 3, changes = 0;
  for (int cycle = 0; cycle < 8; ++cycle) {
    const double load = cycle % 2 == 0 ? 0.96 : 1.08;
    auto m = make_model({VariantSpec{.name = "a", .cost = 1, .current = n, .pods = pods(n, {load / n, 0})}});
    const int next = target_of(analyze_model(m, t, opt).recommendation, "a");
    if (next != n) ++changes;
    n = next;
  }
  return changes;
}

TEST(ImprovedHysteresis, SteadyLoadDoesNotFlap) {
  EXPECT_GE(flips(Options::compatible()), 6);
  EXPECT_EQ(flips(only(&Options::hysteresis)), 0);
  EXPECT_EQ(flips(Options::improved()), 0);
}

TEST(ImprovedHysteresis, StillScalesDownWhenClearlyIdle) {
  auto m = make_model({VariantSpec{.name = "a", .cost = 1, .current = 3, .pods = pods(3, {0.1, 0})}});
  const auto o = analyze_model(m, kDefaults, only(&Options::hysteresis));
  EXPECT_EQ(target_of(o.recommendation, "a"), 2);
  EXPECT_THAT(o.recommendation.reason, HasSubstr("KV 0.65 >= 0.15, queue 5.00 >= 4.00"));
}

TEST(ImprovedHysteresis, ReasonNamesTheBand) {
  const Thresholds t{0.75, 4, 0.25, 2};
  auto m = make_model({VariantSpec{.name = "a", .cost = 1, .current = 3, .pods = pods(3, {0.32, 0})}});
  const auto o = analyze_model(m, t, only(&Options::hysteresis));
  EXPECT_THAT(o.recommendation.reason, HasSubstr("KV spare after removing one replica 0.27 < 0.25 + hysteresis 0.05"));
}

// ---- The worked example in improved mode ----------------------------------------------------------

TEST(Improved, WorkedExampleGivesTheSameTargets) {
  auto m = make_model({
      VariantSpec{.name = "a-l4", .cost = 5.0, .current = 2, .pods = {{0.74, 1}, {0.78, 2}}, .desired = 2},
      VariantSpec{.name = "b-a100", .cost = 20.0, .current = 2, .pods = {{0.85, 0}, {0.60, 1}}},
  });
  const auto o = analyze_model(m, kDefaults, Options::improved());
  EXPECT_EQ(target_of(o.recommendation, "a-l4"), 3);
  EXPECT_EQ(target_of(o.recommendation, "b-a100"), 2);
}

TEST(Improved, AllOptionsOffIsCompatible) {
  Options off = Options::improved();
  off.unblock_transitions = off.pending_as_capacity = off.proportional_steps = off.count_saturated = off.hysteresis =
      false;
  const std::vector<sdk::ModelView> inputs{
      make_model(
          {VariantSpec{.name = "a", .cost = 1, .current = 4, .pods = {{1.0, 10}, {0.1, 0}, {0.1, 0}, {0.1, 0}}}}),
      make_model(
          {VariantSpec{.name = "a", .cost = 1, .current = 3, .pods = {{0.78, 1}, {0.79, 1}, {std::nullopt, 1}}}}),
      make_model({VariantSpec{.name = "a", .cost = 1, .current = 2, .pods = pods(2, {0.5, 4}), .desired = 3}}),
  };
  for (const auto& m : inputs) {
    const auto a = analyze_model(m, kDefaults, off).recommendation;
    const auto b = analyze_model(m, kDefaults, Options::compatible()).recommendation;
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.targets[0].replicas, b.targets[0].replicas);
  }
}

}  // namespace
}  // namespace wva::saturation
