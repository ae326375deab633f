#include "settings.h"

#include <vector>

namespace wva::plugins::status {

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {"Writes each touched VariantAutoscaling's .status with one merge patch per VA.",
          {Setting::integer("maxAttempts", 3,
                            "Patch attempts per VariantAutoscaling when the API server answers "
                            "409 Conflict.")
               .in_range(1, 10)}};
}

Settings read_settings(const sdk::Config& validated) {
  return Settings{sdk::SettingsReader(validated).int32("maxAttempts")};
}

sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& config_path) {
  return sdk::parse_settings_with<Settings>(
      settings_schema(), config, config_path,
      [](const sdk::Config&, const std::string&) { return std::vector<sdk::Error>{}; }, read_settings);
}

}  // namespace wva::plugins::status
