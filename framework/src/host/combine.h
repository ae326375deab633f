// Combining the recommendations of a pipeline's analyzer chain into one target per variant.
//
//   first  : per variant, the first analyzer in the chain with an opinion on it wins.
//   max    : per variant, the largest target among analyzers with an opinion (safest for capacity).
//   hybrid : saturation (first analyzer) + model-based (second): see plugins/queueing/README.md.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "wva/sdk/types.h"

namespace wva::framework {

struct CombinedTarget {
  int replicas = 0;
  std::string analyzer;  // whose target won
  std::string reason;
};

// Variant name -> target; a variant absent from the map has no recommendation this cycle.
std::map<std::string, CombinedTarget> combine_recommendations(CombineMode mode, const sdk::ModelView& model,
                                                              const std::vector<sdk::Recommendation>& chain);

}  // namespace wva::framework
