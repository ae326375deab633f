// The status sink's settings (pipelines.yaml `sinks: {status: {maxAttempts}}`), declared as a schema the
// host validates before configure().
#pragma once

#include <chrono>
#include <string>

#include "wva/sdk/plugin.h"

namespace wva::plugins::status {

struct Settings {
  int max_attempts = 3;  // patch attempts per VA when the API server answers 409 Conflict
  // A status whose only change is the text of variants' reasons is written at most this often (0: always).
  std::chrono::milliseconds reason_refresh = std::chrono::minutes(5);
};

sdk::SettingsSchema settings_schema();
Settings read_settings(const sdk::Config& validated);
// Schema and typed read at once, for tests: the settings or every error.
sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& config_path);

}  // namespace wva::plugins::status
