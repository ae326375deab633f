// Allocation of replicas across the variants of one model (unlimited mode), and of GPUs across models
// (limited mode). Pure functions over plain structs: no SDK context, no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wva::queueing {

// One variant as the allocator sees it.
struct VariantOption {
  std::string name;
  std::string accelerator;  // type whose GPUs it uses (limited mode); empty = its name
  int gpus_per_replica = 1;
  double cost_per_replica = 0;  // effective cost (a proxy when the real one is unknown)
  bool cost_known = true;
  int current = 0;              // replicas now
  int floor = 0;                // fewest replicas it may get
  std::optional<int> max;       // most replicas it may get
  double rate_per_replica = 0;  // req/s one replica carries within the SLOs; 0 = cannot carry load

  const std::string& type() const { return accelerator.empty() ? name : accelerator; }
};

struct AllocationProblem {
  std::vector<VariantOption> variants;
  double load = 0;              // req/s the model must carry
  bool keep_one = true;         // false with scale-to-zero: the model may have 0 replicas in total
  double penalty_factor = 0.1;  // transition penalty on an accelerator change
};

struct Allocation {
  std::vector<int> replicas;  // per variant, same order as AllocationProblem::variants
  double cost = 0;            // sum of replicas * cost_per_replica
  double value = 0;           // cost + transition penalty: what is minimised
  double penalty = 0;
  double capacity = 0;              // req/s it carries within the SLOs
  bool carries_load = true;         // false: even the max replicas cannot carry the load
  std::map<std::string, int> gpus;  // accelerator type -> GPUs it needs

  int total() const;
};

// Transition penalty of moving from the current replicas to `replicas` (docs/upstream.md section 6.4): 0 when
// the set of accelerator types in use is unchanged (or nothing runs now), else
// factor * (current cost + new cost).
double transition_penalty(const AllocationProblem& problem, const std::vector<int>& replicas, double new_cost);

// The cheapest allocation for each set of variants in use, sorted by value (cheapest first), duplicates
// removed. Element 0 is the unlimited-mode answer. Never empty: when nothing carries the load, one
// allocation with every variant at its max (or floor + what the load needs) and carries_load = false.
std::vector<Allocation> candidate_allocations(const AllocationProblem& problem);

// ---- limited mode: GPUs per accelerator type shared by all models --------------------------------

enum class BestEffort { kNone, kPriorityExhaustive, kPriorityRoundRobin, kRoundRobin };
const char* to_string(BestEffort policy);
std::optional<BestEffort> parse_best_effort(const std::string& name);

struct ModelCandidates {
  std::string id;                      // unique, e.g. "ns/model"
  int priority = 100;                  // 1 = highest
  std::vector<Allocation> candidates;  // sorted by value, as candidate_allocations returns them
  std::vector<int> gpus_per_replica;   // per variant
  std::vector<std::string> types;      // per variant: accelerator type
  double current_value = 0;            // cost of what runs now (tie-break: larger first)
};

struct LimitedResult {
  std::string id;
  bool allocated = false;  // a whole candidate fitted, or best effort gave something
  bool best_effort = false;
  int candidate = -1;         // index of the candidate that fitted, -1 for best effort/none
  std::vector<int> replicas;  // per variant (valid when allocated)
  std::string reason;
};

// Unlisted accelerator types are not limited. Results are in the order of `models`.
std::vector<LimitedResult> allocate_limited(const std::vector<ModelCandidates>& models,
                                            const std::map<std::string, int>& capacity, BestEffort policy);

}  // namespace wva::queueing
