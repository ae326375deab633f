// The prometheus source's settings (sources.<name> in pipelines.yaml) and their validation.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "promql.h"
#include "wva/sdk/result.h"
#include "wva/sdk/settings_schema.h"
#include "wva/sdk/util/suggest.h"

namespace wva::prometheus {

using Millis = std::chrono::milliseconds;

// Whether the load and windowed saturation queries read the chart's recorded series (a PrometheusRule):
// auto: when a bounded probe query finds them (every 5 minutes); on: always; off: never.
enum class RecordingRules { kAuto, kOn, kOff };
// One series per serving pod; vLLM exports num_requests_running on every replica, busy or idle.
inline constexpr const char* kDefaultDiscoveryQuery = "group by ({{by}}) (vllm:num_requests_running{{nsSelector}})";

struct SourceConfig {
  std::string url;  // http(s)://host[:port][/path prefix]
  std::optional<std::string> ca_file;
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
  std::optional<std::string> server_name;  // TLS name to verify and send as SNI
  bool insecure_skip_verify = false;
  std::optional<std::string> token_file;
  std::map<std::string, std::string> headers;  // e.g. X-Scope-OrgID for Cortex / Mimir
  std::map<std::string, std::string> params;   // extra form parameters, e.g. dedup=true for Thanos

  Millis timeout{10000};  // per attempt
  int retries = 2;        // extra attempts after the first
  Millis backoff{500};    // first pause, doubled each retry
  Millis max_backoff{4000};
  Millis stale_after{std::chrono::minutes(2)};
  std::size_t max_response_bytes = 256u << 20;

  std::set<std::string> namespaces;  // empty: the namespaces of the pipeline's models
  LabelNames labels;
  std::string window = "1m";
  std::string rate_window = "1m";
  std::size_t model_matcher_limit = 100;             // add a model_name matcher when at most this many models
  bool batch = true;                                 // one `or` query per signal group instead of one per signal
  std::array<std::string, kSignalCount> templates;   // empty: disabled
  std::array<bool, kSignalCount> custom_template{};  // set in queries: never replaced by a recorded series
  RecordingRules recording_rules = RecordingRules::kAuto;
  // How often the prompt-length histogram (promptTokensBucket, ~18 series per Deployment, a fit per variant
  // and model) is read; in between, each variant and model keeps the spread last fitted. 0: every cycle.
  Millis prompt_spread_interval{std::chrono::minutes(5)};
  // Which pods serve which model (sdk::ModelDiscovery): a query whose series carry the namespace, pod and
  // model labels. Empty: discovery off.
  std::string discovery_query = kDefaultDiscoveryQuery;

  SourceConfig();
};

// The settings as a schema the host validates before configure(); check_settings() checks what a schema
// cannot say (the URL, TLS files with https, header names, placeholders, label names, recorded series).
sdk::SettingsSchema settings_schema();
std::vector<sdk::Error> check_settings(const nlohmann::json& validated, const std::string& path);
SourceConfig read_settings(const nlohmann::json& validated);
// The three steps at once: the settings or every error with its path.
sdk::ParsedSettings<SourceConfig> parse_settings(const nlohmann::json& config, const std::string& path);
// The same, every error joined in one ("N errors:" and each "path: message"; the path is `path`'s).
sdk::Result<SourceConfig> parse_config(const nlohmann::json& config, const std::string& path);

// Why the recorded series cannot stand for the raw queries of this config (labels or windows differ),
// or nullopt when they can.
std::optional<std::string> recorded_series_unusable(const SourceConfig& c);

// "10s", "500ms", "1m30s", "2h", "1d": the SDK's grammar (wva/sdk/duration.h) without fractions, as the
// text also goes into PromQL; "0" is not a window.
std::optional<Millis> parse_duration(const std::string& text);

// "; did you mean \"x\"?" or "" (the SDK's).
using sdk::did_you_mean;

}  // namespace wva::prometheus
