#include <gtest/gtest.h>

#include "allocation.h"

namespace wva::queueing {
namespace {

VariantOption opt(std::string name, std::string acc, double cost, double rate, int current = 0, int floor = 0,
                  std::optional<int> max = std::nullopt, int gpus = 1) {
  VariantOption v;
  v.name = std::move(name);
  v.accelerator = std::move(acc);
  v.cost_per_replica = cost;
  v.rate_per_replica = rate;
  v.current = current;
  v.floor = floor;
  v.max = max;
  v.gpus_per_replica = gpus;
  return v;
}

// Brute force over every replica vector up to `limit` per variant: the true optimum by value.
double brute_force(const AllocationProblem& p, int limit) {
  const size_t n = p.variants.size();
  std::vector<int> r(n, 0);
  double best = 1e300;
  for (;;) {
    bool ok = true;
    double cap = 0, cost = 0;
    int total = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto& v = p.variants[i];
      if (r[i] < v.floor || (v.max && r[i] > *v.max)) ok = false;
      cap += r[i] * v.rate_per_replica;
      cost += r[i] * v.cost_per_replica;
      total += r[i];
    }
    if (ok && cap + 1e-9 >= p.load && !(p.keep_one && total == 0))
      best = std::min(best, cost + transition_penalty(p, r, cost));
    size_t k = 0;
    while (k < n && r[k] == limit) r[k++] = 0;
    if (k == n) break;
    ++r[k];
  }
  return best;
}

TEST(Allocation, SingleVariantIsCeilOfLoadOverRate) {
  AllocationProblem p;
  p.variants = {opt("a", "A100", 1.0, 0.816, 1, 1)};
  p.load = 5.0;
  auto c = candidate_allocations(p);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0].replicas, std::vector<int>{7});
  EXPECT_DOUBLE_EQ(c[0].cost, 7.0);
  EXPECT_TRUE(c[0].carries_load);
}

TEST(Allocation, ExactMultipleDoesNotRoundUpFromFloatingNoise) {
  AllocationProblem p;
  p.variants = {opt("a", "A100", 1.0, 5.0 / 6.0, 0, 1)};
  p.load = 5.0;
  EXPECT_EQ(candidate_allocations(p)[0].replicas, std::vector<int>{6});
}

TEST(Allocation, CheapestCombinationMatchesBruteForce) {
  // A grid of two- and three-variant problems; the answer must equal exhaustive search.
  const double loads[] = {0.0, 0.5, 3.0, 7.7, 12.0, 25.0};
  for (double load : loads)
    for (bool keep_one : {true, false})
      for (int cur : {0, 2}) {
        AllocationProblem p;
        p.keep_one = keep_one;
        p.load = load;
        p.variants = {opt("a", "A100", 1.0, 1.0, cur, 0), opt("b", "H100", 2.5, 3.1, 0, 0, 6),
                      opt("c", "H200", 3.2, 4.3, 0, keep_one ? 0 : 0, 5)};
        auto c = candidate_allocations(p);
        ASSERT_FALSE(c.empty());
        if (!c[0].carries_load) continue;
        EXPECT_NEAR(c[0].value, brute_force(p, 26), 1e-9) << "load " << load << " keep " << keep_one;
        // Sorted by value.
        for (size_t i = 1; i < c.size(); ++i) EXPECT_LE(c[i - 1].value, c[i].value);
      }
}

TEST(Allocation, FloorsAndMaxAreRespected) {
  AllocationProblem p;
  p.variants = {opt("a", "A100", 1.0, 1.0, 0, 2, 3), opt("b", "H100", 5.0, 1.0, 0, 1, 10)};
  p.load = 8.0;
  auto c = candidate_allocations(p);
  EXPECT_EQ(c[0].replicas, (std::vector<int>{3, 5}));  // a capped at 3, b carries the rest
  EXPECT_TRUE(c[0].carries_load);
}

TEST(Allocation, OverMaxIsFlaggedNotDropped) {
  AllocationProblem p;
  p.variants = {opt("a", "A100", 1.0, 1.0, 0, 1, 4)};
  p.load = 10.0;
  auto c = candidate_allocations(p);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].replicas, std::vector<int>{4});
  EXPECT_FALSE(c[0].carries_load);
}

TEST(Allocation, TransitionPenaltyIsTenPercentOfBothCostsOnAcceleratorChange) {
  AllocationProblem p;
  p.variants = {opt("a", "A100", 1.0, 1.0, 4), opt("b", "H100", 1.0, 1.0, 0)};
  EXPECT_DOUBLE_EQ(transition_penalty(p, {5, 0}, 5.0), 0.0);            // same accelerator
  EXPECT_DOUBLE_EQ(transition_penalty(p, {0, 4}, 4.0), 0.1 * (4 + 4));  // moved
  EXPECT_DOUBLE_EQ(transition_penalty(p, {2, 2}, 4.0), 0.1 * (4 + 4));  // set of types changed
  p.variants[0].current = 0;
  EXPECT_DOUBLE_EQ(transition_penalty(p, {0, 4}, 4.0), 0.0);  // nothing runs: nothing to transition
}

TEST(Allocation, LargeLoadStaysFastAndExact) {
  AllocationProblem p;
  p.variants = {opt("a", "A100", 1.0, 0.9, 0), opt("b", "H100", 2.0, 2.1, 0), opt("c", "H200", 2.6, 3.0, 0)};
  p.load = 900.0;
  auto c = candidate_allocations(p);
  // LP bound: cost >= load * min(cost/rate) = 900 * 0.8667 = 780; integer optimum within one replica.
  EXPECT_GE(c[0].cost, 780.0 - 1e-9);
  EXPECT_LE(c[0].cost, 780.0 + 2.6);
  EXPECT_GE(c[0].capacity, 900.0 - 1e-9);
}

// ---- limited mode ----

ModelCandidates single(std::string id, int priority, std::string type, std::vector<int> replicas_per_candidate,
                       int gpus = 1) {
  ModelCandidates m;
  m.id = std::move(id);
  m.priority = priority;
  m.gpus_per_replica = {gpus};
  m.types = {type};
  double v = 1;
  for (int r : replicas_per_candidate) {
    Allocation a;
    a.replicas = {r};
    a.cost = a.value = v * r;
    a.gpus[type] = r * gpus;
    m.candidates.push_back(a);
    v += 0.5;
  }
  return m;
}

ModelCandidates two_types(std::string id, int priority, int h200, int h100) {
  ModelCandidates m;
  m.id = std::move(id);
  m.priority = priority;
  m.gpus_per_replica = {1, 1};
  m.types = {"H200", "H100"};
  Allocation a;  // preferred: H200
  a.replicas = {h200, 0};
  a.value = 1.3 * h200;
  a.gpus["H200"] = h200;
  Allocation b;  // fallback: H100
  b.replicas = {0, h100};
  b.value = 1.0 * h100 + 1.0;
  b.gpus["H100"] = h100;
  m.candidates = {a, b};
  return m;
}

TEST(Limited, HigherPriorityIsServedFirstAndOthersFallBack) {
  std::vector<ModelCandidates> ms = {two_types("low", 10, 4, 6), two_types("high", 1, 4, 6)};
  auto r = allocate_limited(ms, {{"H200", 5}, {"H100", 8}}, BestEffort::kNone);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[1].allocated);
  EXPECT_EQ(r[1].replicas, (std::vector<int>{4, 0}));  // high gets H200
  EXPECT_TRUE(r[0].allocated);
  EXPECT_EQ(r[0].replicas, (std::vector<int>{0, 6}));  // low falls back to H100
  EXPECT_EQ(r[0].candidate, 1);
  EXPECT_NE(r[0].reason.find("did not fit"), std::string::npos);
}

TEST(Limited, LargerCostGapGoesFirstWithinAPriority) {
  // Both want the 4 H200 GPUs; 'gap' loses 3.0 by moving on, 'flat' only 0.5.
  ModelCandidates gap = two_types("gap", 1, 4, 4);
  gap.candidates[1].value = gap.candidates[0].value + 3.0;
  ModelCandidates flat = two_types("flat", 1, 4, 4);
  flat.candidates[1].value = flat.candidates[0].value + 0.5;
  auto r = allocate_limited({flat, gap}, {{"H200", 4}, {"H100", 8}}, BestEffort::kNone);
  EXPECT_EQ(r[1].replicas, (std::vector<int>{4, 0}));
  EXPECT_EQ(r[0].replicas, (std::vector<int>{0, 4}));
}

TEST(Limited, NonePolicyLeavesTheUnfittedUnallocated) {
  auto r =
      allocate_limited({single("a", 1, "H100", {6}), single("b", 2, "H100", {6})}, {{"H100", 8}}, BestEffort::kNone);
  EXPECT_TRUE(r[0].allocated);
  EXPECT_FALSE(r[1].allocated);
  EXPECT_NE(r[1].reason.find("None"), std::string::npos);
}

TEST(Limited, PriorityExhaustiveGivesTheRestInPriorityOrder) {
  auto r = allocate_limited({single("a", 1, "H100", {6}), single("b", 2, "H100", {5}), single("c", 3, "H100", {5})},
                            {{"H100", 10}}, BestEffort::kPriorityExhaustive);
  EXPECT_EQ(r[0].replicas, std::vector<int>{6});
  EXPECT_TRUE(r[1].best_effort);
  EXPECT_EQ(r[1].replicas, std::vector<int>{4});  // all that is left
  EXPECT_FALSE(r[2].allocated);                   // nothing left
  EXPECT_NE(r[1].reason.find("4 of the 5"), std::string::npos) << r[1].reason;
}

TEST(Limited, PriorityRoundRobinSharesWithinAPriorityGroup) {
  auto r = allocate_limited({single("a", 1, "H100", {6}), single("b", 2, "H100", {5}), single("c", 2, "H100", {5}),
                             single("d", 3, "H100", {5})},
                            {{"H100", 10}}, BestEffort::kPriorityRoundRobin);
  EXPECT_EQ(r[0].replicas, std::vector<int>{6});
  EXPECT_EQ(r[1].replicas, std::vector<int>{2});
  EXPECT_EQ(r[2].replicas, std::vector<int>{2});
  EXPECT_FALSE(r[3].allocated);
}

TEST(Limited, RoundRobinSharesAcrossPriorities) {
  auto r = allocate_limited({single("a", 1, "H100", {6}), single("b", 2, "H100", {5}), single("c", 3, "H100", {5})},
                            {{"H100", 9}}, BestEffort::kRoundRobin);
  EXPECT_EQ(r[0].replicas, std::vector<int>{6});
  EXPECT_EQ(r[1].replicas, std::vector<int>{2});
  EXPECT_EQ(r[2].replicas, std::vector<int>{1});
}

TEST(Limited, MultiGpuReplicasCountEveryGpu) {
  auto r = allocate_limited({single("a", 1, "H100", {3}, 4)}, {{"H100", 11}}, BestEffort::kPriorityExhaustive);
  EXPECT_TRUE(r[0].best_effort);
  EXPECT_EQ(r[0].replicas, std::vector<int>{2});  // 2 x 4 GPUs = 8 <= 11; a third needs 12
}

TEST(Limited, UnlistedTypesAreNotLimited) {
  auto r = allocate_limited({single("a", 1, "L40", {50})}, {{"H100", 1}}, BestEffort::kNone);
  EXPECT_TRUE(r[0].allocated);
  EXPECT_EQ(r[0].replicas, std::vector<int>{50});
}

TEST(Limited, PolicyNamesRoundTrip) {
  for (auto p :
       {BestEffort::kNone, BestEffort::kPriorityExhaustive, BestEffort::kPriorityRoundRobin, BestEffort::kRoundRobin})
    EXPECT_EQ(parse_best_effort(to_string(p)), p);
  EXPECT_FALSE(parse_best_effort("Greedy").has_value());
}

}  // namespace
}  // namespace wva::queueing
