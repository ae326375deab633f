#include "settings.h"

#include <vector>

namespace wva::plugins::status {

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {"Writes each touched VariantAutoscaling's .status with one merge patch per VA.",
          {Setting::integer("maxAttempts", 3,
                            "Patch attempts per VariantAutoscaling when the API server answers "
                            "409 Conflict.")
               .in_range(1, 10),
           Setting::duration("reasonRefresh", "5m",
                             "A status whose only change is the text of its variants' reasons (an analyzer's "
                             "figures, and the True `OptimizationReady` message that repeats them) is written at "
                             "most this often; a change of replicas, accelerator or a condition's status or reason "
                             "is written at once. 0 writes every change.")
               .in_range(0, 3'600'000)}};
}

Settings read_settings(const sdk::Config& validated) {
  const sdk::SettingsReader r(validated);
  return Settings{r.int32("maxAttempts"), r.duration("reasonRefresh")};
}

sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& config_path) {
  return sdk::parse_settings_with<Settings>(
      settings_schema(), config, config_path,
      [](const sdk::Config&, const std::string&) { return std::vector<sdk::Error>{}; }, read_settings);
}

}  // namespace wva::plugins::status
