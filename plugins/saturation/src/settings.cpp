#include "settings.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace wva::saturation {

const char* to_string(Mode mode) { return mode == Mode::kImproved ? "improved" : "compatible"; }

Options Options::compatible() { return Options{}; }

Options Options::improved() {
  Options o;
  o.mode = Mode::kImproved;
  o.unblock_transitions = true;
  o.pending_as_capacity = true;
  o.proportional_steps = true;
  o.count_saturated = true;
  o.hysteresis = true;
  return o;
}

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  auto follows_mode = [](std::string name, std::string what) {
    return Setting::boolean(std::move(name), std::nullopt, what + " Default: on in improved mode, off in compatible.");
  };
  return {
      "The upstream V1 saturation rules (mode: compatible) and the improvements (mode: improved), each one a "
      "switch.",
      {Setting::enumeration("mode", {"compatible", "improved"}, "compatible",
                            "Chooses the switches' defaults: all off (upstream V1) or all on."),
       follows_mode("unblockTransitions", "Never frozen by desired != current or by a pod without metrics."),
       follows_mode("pendingAsCapacity", "Pending replicas count as capacity in flight."),
       follows_mode("proportionalSteps", "Scale by as many replicas as the spare-capacity arithmetic needs."),
       Setting::integer("maxScaleUpStep", std::nullopt,
                        "Replicas added per cycle at most; not set: only the variants' max bounds it.")
           .at_least(1),
       follows_mode("countSaturated", "Saturated replicas enter the averages and veto scale-down."),
       follows_mode("hysteresis", "Scale down only when the spare stays at least trigger + hysteresis."),
       Setting::number("kvHysteresis", 0.05, "KV-cache hysteresis margin.").in_range(0, 1),
       Setting::number("queueHysteresis", 1.0, "Queue-length hysteresis margin.").at_least(0),
       Setting::string("configMap", "capacity-scaling-config", "ConfigMap with the thresholds.").non_empty(),
       Setting::boolean("namespaceConfigMaps", true, "Also read a ConfigMap of that name in the model's namespace.")}};
}

Options read_settings(const nlohmann::json& validated) {
  const sdk::SettingsReader r(validated);
  Options o = r.string("mode") == "improved" ? Options::improved() : Options::compatible();
  auto flag = [&](const char* key, bool& out) {
    if (r.has(key)) out = r.boolean(key);
  };
  flag("unblockTransitions", o.unblock_transitions);
  flag("pendingAsCapacity", o.pending_as_capacity);
  flag("proportionalSteps", o.proportional_steps);
  flag("countSaturated", o.count_saturated);
  flag("hysteresis", o.hysteresis);
  if (r.has("maxScaleUpStep"))
    o.max_scale_up_step = static_cast<int>(std::min<std::int64_t>(r.integer("maxScaleUpStep"), 1'000'000));
  o.kv_hysteresis = r.number("kvHysteresis");
  o.queue_hysteresis = r.number("queueHysteresis");
  o.config_map = r.string("configMap");
  o.namespace_config_maps = r.boolean("namespaceConfigMaps");
  return o;
}

sdk::ParsedSettings<Options> parse_settings(const nlohmann::json& config, const std::string& config_path) {
  return sdk::parse_settings_with<Options>(
      settings_schema(), config, config_path,
      [](const nlohmann::json&, const std::string&) { return std::vector<sdk::Error>{}; }, read_settings);
}

}  // namespace wva::saturation
