// The saturation thresholds of the ConfigMap `capacity-scaling-config` (upstream SaturationScalingConfig):
// parsing of one ConfigMap's `data`, field-by-field merging of override entries over `default`, and
// resolution of the thresholds of one model from the global and the namespace-local ConfigMap.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wva/sdk/result.h"
#include "wva/sdk/types.h"

namespace wva::saturation {

inline constexpr const char* kConfigMapName = "capacity-scaling-config";

// Resolved thresholds of one model. Code defaults are the FAQ's values.
struct Thresholds {
  double kv_cache_threshold = 0.80;   // a replica is saturated at KV-cache use >= this
  double queue_length_threshold = 5;  // ... or at waiting requests >= this
  double kv_spare_trigger = 0.10;     // scale up when mean spare KV < this
  double queue_spare_trigger = 3;     // scale up when mean spare queue < this

  friend bool operator==(const Thresholds&, const Thresholds&) = default;
};

// The fields one ConfigMap entry sets; the others come from the layer below.
struct PartialThresholds {
  std::optional<double> kv_cache_threshold;
  std::optional<double> queue_length_threshold;
  std::optional<double> kv_spare_trigger;
  std::optional<double> queue_spare_trigger;

  Thresholds merged_over(Thresholds base) const;
  bool empty() const {
    return !kv_cache_threshold && !queue_length_threshold && !kv_spare_trigger && !queue_spare_trigger;
  }
};

// A per-model entry (any data key but `default`).
struct OverrideEntry {
  std::string key;       // data key, e.g. "llama-override"
  std::string model_id;  // required
  std::string ns;        // empty: the model in any namespace
  PartialThresholds values;
  bool kept = false;  // the entry is invalid now; these are its last good values
};

// One ConfigMap, parsed. An entry with any error is rejected whole: its last good value (from the
// previous parse) applies when there is one, else the entry is left out; the other entries apply.
struct ParsedConfigMap {
  std::string source;  // "ConfigMap <ns>/<name>"
  std::optional<PartialThresholds> default_entry;
  bool default_kept = false;             // `default` is invalid now; default_entry is its last good value
  std::vector<OverrideEntry> overrides;  // sorted by data key; duplicates removed (first key wins)
  std::vector<sdk::Error> errors;        // path "ConfigMap ns/name: data.<key>.<field>"
  std::vector<std::string> warnings;     // ignored upstream keys, shadowed duplicates, last good values kept
};

// Parses the `data` of a capacity-scaling-config ConfigMap. Each value is YAML (a mapping). `previous`
// is the last parse of the same ConfigMap: an entry invalid now keeps its value there (its errors are
// still reported), so a bad edit never silently reverts to the code defaults.
ParsedConfigMap parse_config_map(const std::string& ns, const std::string& name,
                                 const std::map<std::string, std::string>& data,
                                 const ParsedConfigMap* previous = nullptr);

// Checks the ranges of resolved thresholds (kv values in [0,1], queue values >= 0, kvCacheThreshold >=
// kvSpareTrigger). Returns the first violation as "<field>: <message>".
std::optional<std::string> check_thresholds(const Thresholds& t);

// Thresholds of one model and where they came from, e.g.
// "defaults < ConfigMap wva-system/capacity-scaling-config default < ... override llama".
struct ResolvedThresholds {
  Thresholds values;
  std::string origin;
  std::vector<std::string> warnings;  // a layer skipped because the merge broke kvCacheThreshold >= kvSpareTrigger
  std::vector<std::string> kept;      // layers applied from their last good value, "ConfigMap ns/name default"
};

// Layers, each merged field by field over the previous: code defaults, global `default`, namespace-local
// `default`, global overrides for the model (those without a namespace first, then those naming the
// model's namespace), namespace-local overrides likewise. `local` is the ConfigMap in the model's
// namespace, when there is one.
ResolvedThresholds resolve_thresholds(const sdk::ModelKey& model, const ParsedConfigMap* global,
                                      const ParsedConfigMap* local);

}  // namespace wva::saturation
