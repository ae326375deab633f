// The emulator's dynamic mode configuration: a simulated fleet and its workload.
//
//   variants:            # one per Deployment
//     llama-h100: {model: meta/llama-3.1-8b, profile: llama-3.1-8b/H100, replicas: 1, startupDelay: 90s, ...}
//   workloads:
//     - {model: meta/llama-3.1-8b, trace: {file: conv.csv, speedup: 10, loop: true}, slo: {ttftMs: 2000, itlMs: 50}}
//     - {model: meta/llama-3.1-8b, rate: {steps: [{at: 0s, rate: 5}, {at: 5m, rate: 40}]},
//        inputTokens: {lognormal: {mean: 1000, stddev: 500}}, outputTokens: 200}
//   router: {policy: leastOutstanding, maxQueue: 10000, queueTimeout: 60s}
//   hpa: {syncPeriod: 15s, tolerance: 0.1, behavior: {...}}      # Kubernetes HPA semantics
//
// The plugin's settings are a schema the host validates (settings_schema()); the nested forms of variants,
// workloads, hpa, fixedMetrics and fixedLoad and the rules between fields are check_settings(). configure()
// only reads; files (traces, profilesFile) are read by start(). `wva-emulator --config` takes the dynamic
// mode's settings alone (dynamic_settings_schema(), parse_dynamic_settings()).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_util.h"
#include "fixed_mode.h"
#include "world.h"
#include "wva/sdk/settings_schema.h"

namespace wva::emulator {

struct WorkloadConfig {
  std::string model;
  std::string ns = "default";
  std::string path;  // config path, for errors found at start()
  bool is_trace = false;
  std::string trace_file;
  TraceOptions trace;
  RateOptions rate;
  std::optional<double> slo_ttft_ms, slo_itl_ms;
};

struct DynamicConfig {
  std::vector<VariantSpec> variants;
  std::vector<std::string> variant_profile_refs;  // as written, resolved at start() when profilesFile is set
  std::vector<nlohmann::json> variant_profile_json;
  std::vector<WorkloadConfig> workloads;
  RouterConfig router;
  ClientConfig client;
  HpaConfig hpa;
  bool hpa_enabled = true;
  double load_window_s = 60;
  double sample_period_s = 5;
  std::uint64_t seed = 1;
  std::string base_dir;  // relative file paths resolve against it
  std::optional<std::string> profiles_file;
  std::optional<std::string> report_file;  // summary + time series written on stop()
  std::string path;
};

// Everything the plugin's settings say: one of the two modes, or neither (an actuator-only sink).
struct EmulatorSettings {
  FixedConfig fixed;
  bool fixed_mode = false;  // fixedMetrics or fixedLoad written
  std::optional<DynamicConfig> dynamic;
};

// True when the config asks for dynamic mode (has `variants` or `workloads`).
bool is_dynamic(const nlohmann::json& config);

// The plugin's settings (both modes) and the dynamic mode's alone (`wva-emulator --config`).
sdk::SettingsSchema settings_schema();
sdk::SettingsSchema dynamic_settings_schema();

// What the schema cannot say (the nested forms, one mode at a time, workloads served by a variant):
// every error with its path. `validated` is what the schema made of the settings.
std::vector<sdk::Error> check_settings(const nlohmann::json& validated, const std::string& path);
// Reads settings that passed check_settings.
EmulatorSettings read_settings(const nlohmann::json& validated, const std::string& path);
// The three steps at once: the settings, or every error with its path.
sdk::ParsedSettings<EmulatorSettings> parse_settings(const nlohmann::json& config, const std::string& path);
sdk::ParsedSettings<DynamicConfig> parse_dynamic_settings(const nlohmann::json& config, const std::string& path);

// Dynamic mode from validated settings: the schema's fields read, the nested forms checked into `errors`.
void parse_dynamic(const nlohmann::json& validated, const std::string& path, DynamicConfig& out, ConfigErrors& errors);

// Reads traces (and profilesFile) and returns the world's configuration.
sdk::Result<WorldConfig> build_world_config(const DynamicConfig& config);

}  // namespace wva::emulator
