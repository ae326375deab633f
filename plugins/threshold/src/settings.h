// The threshold analyzer's settings (pipelines.yaml `analyzers: {name: {plugin: threshold, ...}}`), declared
// as a schema the host validates before configure().
#pragma once

#include <string>
#include <vector>

#include "wva/sdk/plugin.h"

namespace wva::threshold {

enum class Signal { kConcurrency, kWaiting, kKvCache };

struct Settings {
  Signal signal = Signal::kConcurrency;
  double target = 64;  // per pod: requests (concurrency, waiting) or a fraction (kvCache)
};

sdk::SettingsSchema settings_schema();
// What the schema cannot say: a kvCache target is a fraction.
std::vector<sdk::Error> check_settings(const sdk::Config& validated, const std::string& path);
// Typed settings from validated ones; a target not written follows the signal (64, 5 or 0.8).
Settings read_settings(const sdk::Config& validated);
// The three steps at once, for tests: the settings or every error.
sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path);

}  // namespace wva::threshold
