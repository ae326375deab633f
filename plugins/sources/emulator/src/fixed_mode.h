// The emulator's fixed mode: per-pod saturation signals and per-variant load given verbatim in the config.
//
//   fixedMetrics: {<deployment>: [{kvCacheUsage: 0.5, waiting: 2, running: 10}, ...one per pod]}
//   fixedLoad:    {<deployment>: {arrivalRate: 5, inputTokens: 1000, outputTokens: 200}}
//
// A key may also be "<namespace>/<deployment>" to pin one namespace.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_util.h"
#include "wva/sdk/types.h"

namespace wva::emulator {

struct FixedPod {
  std::optional<double> kv_cache_usage;
  std::optional<double> waiting;
  std::optional<double> running;
  std::optional<double> kv_capacity_tokens;
};

struct FixedConfig {
  std::map<std::string, std::vector<FixedPod>> metrics;  // deployment key -> pods
  std::map<std::string, sdk::Load> load;                 // deployment key -> load
  bool empty() const { return metrics.empty() && load.empty(); }
};

// Parses the fixedMetrics / fixedLoad members of `config` (other members are ignored here).
// `path` is the plugin's config path, e.g. "sources.emulator".
void parse_fixed(const nlohmann::json& config, const std::string& path, FixedConfig& out, ConfigErrors& errors);

// The metrics the fixed config yields for one model: kOk when any variant has data, else kNoData.
sdk::ModelMetrics fixed_metrics_for(const FixedConfig& fixed, const sdk::ModelView& model, sdk::TimePoint now);

// Sum of per-variant loads: rates add, token means and latencies are rate-weighted means.
sdk::Load combine_loads(const std::map<std::string, sdk::Load>& by_variant);

}  // namespace wva::emulator
