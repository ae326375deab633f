// Scale to zero and back, per model (namespace + model ID), as the last analyzer of a chain
// (`combine: last`): it refines its upstream's recommendation.
// - Scale to zero (policy enabled): once the model has shown no demand for the whole retention window,
//   as this instance observed it, every variant is recommended 0. Demand is arrivals, not completions:
//   an arrival rate above 0, requests running or waiting on a pod, or requests waiting at the router.
//   Missing, stale or failing metrics reset the window: they never cause a scale to zero.
// - Otherwise a model never goes to 0: when the upstream's targets sum to 0, the cheapest variant keeps 1.
// - Scale from zero: a model whose variants all run 0 replicas and that has demand (normally requests
//   waiting at the router) gets 1 replica on its cheapest variant.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "wva/sdk/types.h"
#include "zero_config.h"

namespace wva::scale_to_zero {

// What this instance has seen of one model's demand.
struct Activity {
  std::optional<sdk::TimePoint> observed_since;  // start of the current unbroken run of usable metrics
  std::optional<sdk::TimePoint> last_demand;     // the last cycle with demand
};

// The demand signals of one cycle: nullopt when the metrics cannot tell (missing / stale / error).
struct Demand {
  bool any = false;
  std::string what;  // "2 requests waiting at the router", "arrival rate 0.5/s", "no demand"
};
std::optional<Demand> observe_demand(const sdk::ModelView& model);

// The variant that keeps or gets the one replica: the lowest known cost per replica, then the name;
// variants without a cost come last.
const sdk::Variant* cheapest_variant(const sdk::ModelView& model);

// One model's recommendation; updates `activity` with this cycle's observation.
sdk::Recommendation enforce(const ZeroPolicy& policy, const sdk::ModelView& model, const sdk::Recommendation* upstream,
                            Activity& activity, sdk::TimePoint now);

}  // namespace wva::scale_to_zero
