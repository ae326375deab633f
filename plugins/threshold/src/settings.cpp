#include "settings.h"

namespace wva::threshold {

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {"A KEDA-style baseline: per variant, desired = ceil(sum over its pods of signal / target).",
          {Setting::enumeration("signal", {"concurrency", "waiting", "kvCache"}, "concurrency",
                                "Per-pod signal: running + waiting requests, waiting requests, or KV-cache use."),
           Setting::number("target", std::nullopt,
                           "Target per pod; when not set: 64 (concurrency), 5 (waiting), 0.8 (kvCache, a fraction "
                           "in (0, 1]).")
               .above(0)}};
}

std::vector<sdk::Error> check_settings(const sdk::Config& validated, const std::string& path) {
  const sdk::SettingsReader r(validated);
  if (r.string("signal") == "kvCache" && r.has("target") && r.number("target") > 1)
    return {
        sdk::make_error(sdk::ErrorCode::kInvalidConfig, "a kvCache target is a fraction in (0, 1]", path + ".target")};
  return {};
}

Settings read_settings(const sdk::Config& validated) {
  const sdk::SettingsReader r(validated);
  Settings s;
  const std::string signal = r.string("signal");
  if (signal == "waiting") {
    s.signal = Signal::kWaiting;
    s.target = 5;
  } else if (signal == "kvCache") {
    s.signal = Signal::kKvCache;
    s.target = 0.8;
  }
  if (r.has("target")) s.target = r.number("target");
  return s;
}

sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path) {
  return sdk::parse_settings_with<Settings>(settings_schema(), config, path, check_settings, read_settings);
}

}  // namespace wva::threshold
