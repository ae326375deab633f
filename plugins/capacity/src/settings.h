// The capacity analyzer's settings (pipelines.yaml `analyzers: {capacity: {...}}`), declared as a schema
// the host validates before configure(). The values land in the policy's Settings (policy.h).
#pragma once

#include <string>

#include "policy.h"
#include "wva/sdk/plugin.h"

namespace wva::capacity {

sdk::SettingsSchema settings_schema();
Settings read_settings(const sdk::Config& validated);
// Schema and typed read at once, for tests: the settings or every error, each with its path.
sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path);

}  // namespace wva::capacity
