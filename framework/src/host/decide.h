// A model's decisions from what its cycle produced: the combined targets clamped to each variant's bounds,
// or, for a variant without one, its last decision (held) or its current replicas; with the trail of the
// chain and the conditions the sinks publish.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/combine.h"
#include "host/cycle.h"
#include "wva/sdk/types.h"

namespace wva::framework {

// Why a model holds without a full chain this cycle: OptimizationReady's reason and message.
struct Hold {
  std::string reason;
  std::string message;
};

// The MetricsAvailable condition. Its True and MetricsMissing messages are upstream WVA's words (the
// status sink writes the same); a failing source names its own reason (sdk::ModelMetrics::reason).
sdk::Condition metrics_condition(const sdk::ModelMetrics& m);

// Appends the model's decisions to `out` and remembers those with a target in `memory`. `targets` are the
// combiner's (empty unless `analyzed`); `disabled` is the pipeline's reason to be disabled (empty: it runs).
// The conditions the variants have in common (the chain's, MetricsAvailable, and OptimizationReady when
// the model holds) are built once and shared by its decisions (sdk::Decision::shared_conditions).
void decide(const sdk::ModelView& model, const std::vector<sdk::Recommendation>& chain, const CombinedTargets& targets,
            bool analyzed, const std::optional<Hold>& hold, const std::string& disabled, DecisionMemory& memory,
            sdk::TimePoint now, std::vector<sdk::Decision>& out);

}  // namespace wva::framework
