// A `wva simulate` scenario file, checked like pipelines.yaml: every error with its path in the file and
// a did-you-mean for misspelled keys; durations in the project's grammar (1h, 30m, 1m30s) or bare seconds.
//
//   name: azure-conv-x10
//   traffic: smooth                      # smooth | ramp | bursty (for the evaluation's targets; optional)
//   duration: 1h                         # or 3600
//   initialReplicas: {llama-8b-h100: 3}  # the policies' warm start (default: the manifests' replicas)
//   manifests: llama-8b-h100-h200        # folder of Kubernetes YAML, relative to the file
//   emulator: {variants: ..., workloads: ..., client: ..., hpa: ...}   # the emulator's dynamic mode
//   analyzers: {capacity: {plugin: capacity}}                           # instances the pipelines use
//   sinks: {}                                                           # optional extra sink instances
//   pipelines:
//     capacity: {interval: 30s, analyzers: [capacity]}
//     static-3xH100: {static: {llama-8b-h100: 3, llama-8b-h200: 0}}    # fixed fleet, warm, HPA off
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wva::simulate {

struct PipelineSpec {
  std::string name;
  nlohmann::json analyzers = nlohmann::json::array();  // instance names
  std::chrono::milliseconds interval{30'000};
  std::optional<std::string> combine;
  nlohmann::json sinks = nlohmann::json::array();
  nlohmann::json selector = nlohmann::json::object();
  std::optional<std::map<std::string, int>> static_fleet;  // Deployment -> replicas: fixed, warm, HPA off
};

// What the scenario says about one variant of the emulator (for static fleets and the frontier).
struct VariantInfo {
  std::string name, ns;
  int max_replicas = 10;
  int gpus_per_replica = 1;
  std::optional<double> cost_per_gpu_hour;
  double cost_per_replica_hour() const { return cost_per_gpu_hour.value_or(0) * gpus_per_replica; }
};

struct Scenario {
  std::string name;
  std::string traffic;  // smooth | ramp | bursty | "" (unknown)
  std::filesystem::path file, dir, manifests;
  std::chrono::milliseconds duration{0};
  nlohmann::json emulator = nlohmann::json::object();
  nlohmann::json analyzers = nlohmann::json::object();
  nlohmann::json sinks = nlohmann::json::object();
  std::vector<PipelineSpec> pipelines;  // in file order
  std::vector<VariantInfo> variants;    // in file order
  // The fleet the policies start from (warm), e.g. what ran before a trace begins at full rate; absent:
  // the manifests' replicas.
  std::map<std::string, int> initial_replicas;
};

// Reads and checks a scenario; on failure every problem as "FILE: path: message".
struct ScenarioLoad {
  std::optional<Scenario> scenario;
  std::vector<std::string> errors;
};
ScenarioLoad load_scenario(const std::filesystem::path& file);

// A duration as the scenario gives it: "1h", "1m30s", "500ms" or bare seconds (1800, "1800", 1.5).
std::optional<std::chrono::milliseconds> scenario_duration(const nlohmann::json& value);

// Error text from the host names the generated config's paths; this maps them to the scenario's
// ("sources.emulator.x" -> "emulator.x") so they point at what the user wrote.
std::string scenario_error_text(const std::string& host_error);

}  // namespace wva::simulate
