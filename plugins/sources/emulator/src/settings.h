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
// configure() only validates; files (traces, profilesFile) are read by start().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_util.h"
#include "world.h"

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

// True when the config asks for dynamic mode (has `variants`).
bool is_dynamic(const nlohmann::json& config);

// The keys dynamic mode understands (top level).
const std::vector<std::string>& dynamic_keys();

void parse_dynamic(const nlohmann::json& config, const std::string& path, DynamicConfig& out, ConfigErrors& errors);

// Reads traces (and profilesFile) and returns the world's configuration.
sdk::Result<WorldConfig> build_world_config(const DynamicConfig& config);

}  // namespace wva::emulator
