// The hybrid combiner's settings: which analyzer instances of the chain play which part.
#pragma once

#include <string>

#include "wva/sdk/plugin.h"

namespace wva::combiners::hybrid {

struct Settings {
  std::string saturation = "saturation";  // the live-signal analyzer's instance name (vetoes, forces up)
  std::string model = "queueing";         // the model-based analyzer's instance name
};

// Every error of `config` (at `path`, e.g. "combiners.hybrid"), joined in one Error whose path is the
// first one's; null is the defaults.
sdk::Result<Settings> parse_settings(const sdk::Config& config, const std::string& path);

}  // namespace wva::combiners::hybrid
