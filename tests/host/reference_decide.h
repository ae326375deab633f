// The host's decide() as it was before a model's decisions shared their common conditions: every decision
// carries a copy of each chain condition, MetricsAvailable and its OptimizationReady in `conditions`. The
// reference the current one is compared with (DecideEquivalence.*). Not used by the product.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/decide.h"

namespace wva::framework::reference {

void decide(const sdk::ModelView& model, const std::vector<sdk::Recommendation>& chain, const CombinedTargets& targets,
            bool analyzed, const std::optional<Hold>& hold, const std::string& disabled, DecisionMemory& memory,
            sdk::TimePoint now, std::vector<sdk::Decision>& out);

}  // namespace wva::framework::reference
