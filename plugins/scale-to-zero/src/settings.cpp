#include "settings.h"

#include <vector>

namespace wva::scale_to_zero {

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {
      "Scales a model's variants to zero after a retention period without requests, and back on demand; "
      "per-model policy from a ConfigMap, these settings where it has no `default` entry.",
      {Setting::string("configMap", kConfigMapName, "The policy ConfigMap (in the controller's namespace).")
           .in_range(1, 253),
       Setting::boolean("enabled", false, "Scale to zero where the ConfigMap says nothing."),
       Setting::duration("retention", "10m", "Idle time before scaling to zero, where the ConfigMap says nothing.")
           .above(0)
           .at_most(static_cast<double>(kMaxRetention.count()))}};
}

Settings read_settings(const sdk::Config& validated) {
  const sdk::SettingsReader r(validated);
  return Settings{r.string("configMap"), r.boolean("enabled"), r.duration("retention")};
}

sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path) {
  return sdk::parse_settings_with<Settings>(
      settings_schema(), config, path, [](const sdk::Config&, const std::string&) { return std::vector<sdk::Error>{}; },
      read_settings);
}

}  // namespace wva::scale_to_zero
