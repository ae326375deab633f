// The analyzer's own settings from pipelines.yaml (`analyzers: {saturation: {mode: improved, ...}}`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"
#include "wva/sdk/settings_schema.h"

namespace wva::saturation {

enum class Mode { kCompatible, kImproved };
const char* to_string(Mode mode);

// Each improved behaviour is one switch. `mode` only chooses their defaults: all off in compatible
// mode (the upstream V1 rules), all on in improved mode; any switch may be set either way explicitly.
struct Options {
  Mode mode = Mode::kCompatible;
  // No transition deadlock: the model is never frozen because desired != current (HPA clamped it) or
  // because some pod lost its metrics; targets start from the current replicas and are clamped to the
  // variant's [max(1, min), max] so the published target is always reachable.
  bool unblock_transitions = false;
  // Pending replicas are capacity in flight (no cascade while pods load; a variant with pending pods may
  // still take the step when it is the cheapest); a missing value is absent, never 0 (a pod without KV
  // or queue data is assumed to carry the mean load of its peers, not zero load); variants with no
  // reporting pod (e.g. at 0 replicas) can take a scale-up.
  bool pending_as_capacity = false;
  // Proportional steps: scale up by as many replicas as the spare-capacity arithmetic needs (bounded by
  // the variants' max and by max_scale_up_step), and scale down by as many as stay safe.
  bool proportional_steps = false;
  std::optional<int> max_scale_up_step;  // replicas per cycle; nullopt = only the variants' max bounds it
  // Saturated replicas count: they enter the spare-capacity averages (with negative spare) and any
  // saturated replica vetoes scale-down.
  bool count_saturated = false;
  // Hysteresis: scale down only when, after the removal, the spare stays at least trigger + hysteresis.
  bool hysteresis = false;
  double kv_hysteresis = 0.05;
  double queue_hysteresis = 1.0;
  // Where the thresholds come from.
  std::string config_map = "capacity-scaling-config";
  bool namespace_config_maps = true;  // also read a ConfigMap of that name in the model's namespace

  static Options compatible();
  static Options improved();
};

// The settings as a schema the host validates before configure(); a switch not written follows `mode`.
sdk::SettingsSchema settings_schema();
// Typed options from validated settings.
Options read_settings(const nlohmann::json& validated);
// Schema and typed read at once, for tests: the options or every error, each with its path.
sdk::ParsedSettings<Options> parse_settings(const nlohmann::json& config, const std::string& config_path);

}  // namespace wva::saturation
