// pipelines.yaml: the host's configuration (docs/architecture.md section 4). Parsing collects EVERY error with its
// YAML path and a "did you mean" where a name is close; a config with any error is rejected whole.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/input_limits.h"
#include "wva/sdk/context.h"
#include "wva/sdk/result.h"
#include "wva/sdk/types.h"

namespace wva::framework {

// One configured plugin instance, e.g. `sources: {metrics-a: {plugin: <library>, url: ...}}`. The instance
// name is the map key; `plugin:` names the library when it differs from the instance name.
struct PluginInstanceConfig {
  std::string name;       // instance name (map key)
  std::string plugin;     // library name: lib<plugin>.so
  nlohmann::json config;  // the instance's mapping without the `plugin` key, as JSON
  std::string path;       // "sources.metrics-a"
  // A combiner named by `combine: <name>` alone, without a `combiners:` entry: plugin <name>, no settings.
  bool implicit = false;
};

// Which models a pipeline owns. Empty fields match everything. A model matched by several pipelines
// belongs to the FIRST one in file order (pipeline_for); later pipelines never see it. So put specific
// selectors before a catch-all `selector: {}`.
struct Selector {
  std::vector<std::string> namespaces;           // glob patterns: * and ?
  std::vector<std::string> model_ids;            // glob patterns: * and ?
  std::map<std::string, std::string> va_labels;  // all must match the VA's labels

  bool matches(const sdk::ModelKey& key, const sdk::Labels& labels) const;
};

// The combiner a pipeline uses when it names none.
inline constexpr const char* kDefaultCombiner = "first";

// How long a pipeline's plugin calls may take before they are abandoned (pipelines.yaml `deadlines`).
// Unset fields take the defaults that effective_deadlines() derives from the pipeline's interval.
struct CallDeadlines {
  // The source's own deadline (it bounds its I/O); the call is abandoned a grace later (collect_grace()).
  std::optional<std::chrono::milliseconds> collect;
  std::optional<std::chrono::milliseconds> prepare;  // each analyzer's prepare_cycle()
  std::optional<std::chrono::milliseconds> analyze;  // each analyze() call, one model, one analyzer
  std::optional<std::chrono::milliseconds> publish;  // each sink's publish()
};

struct EffectiveDeadlines {
  std::chrono::milliseconds collect;  // default min(interval, 10 s)
  std::chrono::milliseconds prepare;  // default interval / 2 within [5 s, 30 s], as analyze and publish
  std::chrono::milliseconds analyze;
  std::chrono::milliseconds publish;
  // A collect() is abandoned this long after its own deadline: collect / 2 within [1 s, 5 s].
  std::chrono::milliseconds collect_grace() const;
};

// A hung plugin instance is replaced by a fresh one after `initial`, doubled after each restart of the
// same instance, at most `max` (pipelines.yaml `plugins.restartBackoff`).
struct RestartBackoff {
  std::chrono::milliseconds initial{10'000};
  std::chrono::milliseconds max{300'000};
  // The wait before restart number `attempt` (0 = the first).
  std::chrono::milliseconds delay(unsigned attempt) const;
};

struct PipelineConfig {
  std::string name;
  Selector selector;
  std::chrono::milliseconds interval{60000};
  // Models whose variants all run 0 replicas are also cycled this often (alone, a partial batch), so a
  // model scaled to zero sees waiting requests within seconds whatever `interval` is. 0 = off.
  std::chrono::milliseconds idle_check_interval{2000};
  std::string source;                  // instance name in `sources`
  std::vector<std::string> analyzers;  // instance names in `analyzers`, chained in order
  // Instance name in `combiners` (an implicit instance when `combine:` names a plugin without an entry).
  std::string combine = kDefaultCombiner;
  std::vector<std::string> sinks;  // instance names in `sinks`
  CallDeadlines deadlines;
  std::string path;  // "pipelines.default"

  EffectiveDeadlines effective_deadlines() const;
};

struct HostConfig {
  std::vector<std::string> plugin_paths;
  RestartBackoff restart_backoff;  // plugins.restartBackoff
  std::map<std::string, PluginInstanceConfig> sources;
  std::map<std::string, PluginInstanceConfig> analyzers;
  std::map<std::string, PluginInstanceConfig> sinks;
  std::map<std::string, PluginInstanceConfig> combiners;
  std::vector<PipelineConfig> pipelines;  // in file order
};

// The pipeline that owns a model: the first whose selector matches, or nullptr.
const PipelineConfig* pipeline_for(const HostConfig& config, const sdk::ModelKey& key, const sdk::Labels& labels);

// `*` matches any run of characters (including '/'), `?` exactly one; everything else literally.
bool glob_match(std::string_view pattern, std::string_view text);

struct ConfigParse {
  std::optional<HostConfig> config;  // set only when errors is empty
  std::vector<sdk::Error> errors;    // every problem, each with its path
};

// Parses pipelines.yaml text. `default_interval` applies to pipelines without `interval`.
// `source_name` (a file path or "ConfigMap wva-system/wva-pipelines") prefixes YAML syntax errors.
ConfigParse parse_pipelines_yaml(std::string_view yaml_text, std::chrono::milliseconds default_interval,
                                 const std::string& source_name = "pipelines.yaml");

// The configuration as pipelines.yaml text (every field explicit); parsing it again gives the same
// HostConfig. For `wva validate` and logs of the effective configuration.
std::string to_yaml(const HostConfig& config);

// The default interval: env RECONCILIATION_INTERVAL when set and valid, else 60s.
sdk::Result<std::chrono::milliseconds> default_interval_from_env();

}  // namespace wva::framework
