// The host's side of combining: hands a model's analyzer chain to the pipeline's combiner plugin
// (pipelines.yaml `combine:`) and reads its result per variant. The host knows no combining rule.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "wva/sdk/plugin.h"

namespace wva::framework {

struct CombinedTarget {
  int replicas = 0;
  std::string analyzer;  // whose target won
  std::string reason;
};

// Variant name -> target; a variant absent from the map has no recommendation this cycle.
using CombinedTargets = std::map<std::string, CombinedTarget>;

// `analyzers` are the chain's instance names, `chain` their recommendations, index for index. An error
// (the combiner's, or its exception) means no variant of the model has a target this cycle.
sdk::Result<CombinedTargets> combine_chain(sdk::Combiner& combiner, const std::string& combiner_name,
                                           const sdk::ModelView& model,
                                           const std::vector<std::pair<std::string, sdk::Analyzer*>>& analyzers,
                                           const std::vector<sdk::Recommendation>& chain);

// The per-variant reading of a combined recommendation: each target's analyzer (or the recommendation's)
// and reason (or the recommendation's summary); none when it has no opinion.
CombinedTargets targets_of(const sdk::Recommendation& combined);

}  // namespace wva::framework
