// The hybrid arbitration: saturation (live signals) + a model-based analyzer (e.g. queueing). The matrix is
// upstream WVA's (docs/upstream.md section 6.7) with its flaws removed; README.md has the table. Actions
// compare each target with the variant's current replicas. First matching row wins:
//
//   row | saturation | model-based                     | result
//   ----+------------+---------------------------------+-------------------------------------------
//   0a  | none       | any                             | model target        (model only)
//   0b  | any        | none                            | saturation target   (saturation only)
//   1   | up         | up                              | max(saturation, model)
//   2   | up         | hold or down                    | saturation target   (saturation forces up)
//   3   | hold/down  | down, scale-down NOT safe       | current             (saturation veto)
//   4   | hold/down  | up                              | model target
//   5   | hold/down  | down, scale-down safe           | model target
//   6   | down       | hold                            | current             (model says hold)
//   7   | hold       | hold                            | current
#pragma once

#include <string>

#include "wva/sdk/types.h"

namespace wva::combiners::hybrid {

struct HybridOutcome {
  std::string row;  // "0a", "0b", "1" .. "7"
  int replicas = 0;
  std::string winner;  // analyzer whose target was taken, or "hold"
  std::string reason;  // which row fired, with the numbers
};

// One variant. Either target may be absent (no opinion on that variant). The names are the analyzers' as
// the reasons and the winner show them.
HybridOutcome arbitrate_variant(int current, const sdk::VariantTarget* saturation, const sdk::VariantTarget* model,
                                bool scale_down_safe, const std::string& saturation_name = "saturation",
                                const std::string& model_name = "queueing");

// Every variant of the model that either side has an opinion on. analyzer = "hybrid"; each target's
// reason names the row and the analyzer whose number won. has_opinion is false only when neither has one.
// A recommendation without an `analyzer` is called by the matching default name.
sdk::Recommendation combine_hybrid(const sdk::ModelView& model, const sdk::Recommendation& saturation,
                                   const sdk::Recommendation& model_based,
                                   const std::string& saturation_default = "saturation",
                                   const std::string& model_default = "queueing");

}  // namespace wva::combiners::hybrid
