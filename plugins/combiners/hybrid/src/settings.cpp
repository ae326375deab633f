#include "settings.h"

namespace wva::combiners::hybrid {

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  const Settings defaults;
  return {"Which analyzer instances of the chain the arbitration matrix reads.",
          {Setting::string("saturation", defaults.saturation,
                           "Instance name of the live-signal analyzer (vetoes unsafe scale-down, forces scale-up).")
               .non_empty(),
           Setting::string("model", defaults.model, "Instance name of the model-based analyzer.").non_empty()}};
}

std::vector<sdk::Error> check_settings(const sdk::Config& validated, const std::string& path) {
  const sdk::SettingsReader r(validated);
  if (r.string("saturation") != r.string("model")) return {};
  return {sdk::make_error(
      sdk::ErrorCode::kInvalidConfig,
      "saturation and model name the same analyzer \"" + r.string("model") + "\"; hybrid arbitrates between two",
      path + ".model")};
}

Settings read_settings(const sdk::Config& validated) {
  const sdk::SettingsReader r(validated);
  return Settings{r.string("saturation"), r.string("model")};
}

sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path) {
  return sdk::parse_settings_with<Settings>(settings_schema(), config, path, check_settings, read_settings);
}

}  // namespace wva::combiners::hybrid
