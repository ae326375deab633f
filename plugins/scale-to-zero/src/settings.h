// The scale-to-zero analyzer's settings (pipelines.yaml `analyzers: {scale-to-zero: {...}}`), declared as a
// schema the host validates before configure().
#pragma once

#include <chrono>
#include <string>

#include "wva/sdk/plugin.h"
#include "zero_config.h"

namespace wva::scale_to_zero {

struct Settings {
  std::string config_map = kConfigMapName;
  // Used where the ConfigMap has no `default` entry (or there is no ConfigMap).
  bool enabled = false;
  std::chrono::milliseconds retention = kDefaultRetention;
};

sdk::SettingsSchema settings_schema();
Settings read_settings(const sdk::Config& validated);
// Schema and typed read at once, for tests: the settings or every error.
sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path);

}  // namespace wva::scale_to_zero
