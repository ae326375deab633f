#include "settings.h"

namespace wva::plugins::log_sink {

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {"Writes each cycle's decisions as aligned text or one JSON document per publish.",
          {Setting::enumeration("format", {"text", "json"}, "text", "Output form: aligned text lines or JSON."),
           Setting::string("output", "stderr",
                           "stderr, stdout or a file path (opened for append by start(), closed by stop()).")
               .non_empty()}};
}

Settings read_settings(const sdk::Config& validated) {
  const sdk::SettingsReader r(validated);
  return Settings{r.string("format") == "json" ? Format::kJson : Format::kText, r.string("output")};
}

sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path) {
  return sdk::parse_settings_with<Settings>(
      settings_schema(), config, path, [](const sdk::Config&, const std::string&) { return std::vector<sdk::Error>{}; },
      read_settings);
}

}  // namespace wva::plugins::log_sink
