// The log sink's settings (pipelines.yaml `sinks: {log: {format, output}}`), declared as a schema the host
// validates before configure().
#pragma once

#include <string>

#include "wva/sdk/plugin.h"

namespace wva::plugins::log_sink {

enum class Format { kText, kJson };

struct Settings {
  Format format = Format::kText;
  // stderr by default: stdout belongs to the CLI's own output (`wva run --output json` is one document).
  std::string output = "stderr";
};

sdk::SettingsSchema settings_schema();
Settings read_settings(const sdk::Config& validated);
// Schema and typed read at once, for tests: the settings or every error (paths below `path`).
sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path);

}  // namespace wva::plugins::log_sink
