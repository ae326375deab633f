// The hybrid combiner's settings: which analyzer instances of the chain play which part.
#pragma once

#include <string>
#include <vector>

#include "wva/sdk/plugin.h"
#include "wva/sdk/settings_schema.h"

namespace wva::combiners::hybrid {

struct Settings {
  std::string saturation = "saturation";  // the live-signal analyzer's instance name (vetoes, forces up)
  std::string model = "queueing";         // the model-based analyzer's instance name
};

// The settings as a schema the host validates before configure(); check_settings() adds the rule a schema
// cannot say (the two names differ).
sdk::SettingsSchema settings_schema();
std::vector<sdk::Error> check_settings(const sdk::Config& validated, const std::string& path);
Settings read_settings(const sdk::Config& validated);
// The three steps at once (at `path`, e.g. "combiners.hybrid"): the settings or every error with its path.
sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path);

}  // namespace wva::combiners::hybrid
