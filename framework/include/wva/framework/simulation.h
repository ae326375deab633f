// What a simulation driver needs from the host, as public API of the framework library: the host's
// pipelines run cycle by cycle on a virtual clock against a cluster read from a folder of Kubernetes YAML,
// and an observer receives every cycle's decisions. The host knows nothing of what is simulated: the
// driver writes the pipelines.yaml (which plugins stand for the fleet and its metrics) and reads whatever
// those plugins report.
//
//   Simulation sim({.config_text = yaml, .manifests = dir, .start = t0});
//   if (auto r = sim.load_cluster(); !r.ok()) ...;           // the manifests
//   sim.scale("ns", "llama-8b-h100", 3);                      // a starting fleet (optional)
//   if (auto errors = sim.start(); !errors.empty()) ...;      // plugins loaded and configured
//   sim.run(std::chrono::hours(1), observer);                 // observer.on_cycle per pipeline cycle
//   sim.shutdown();
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/framework/clock.h"
#include "wva/sdk/result.h"
#include "wva/sdk/types.h"

namespace wva::framework {

struct SimulationOptions {
  std::string config_text;                    // pipelines.yaml (JSON is YAML too)
  std::string config_source = "<generated>";  // the name errors give for config_text
  std::filesystem::path manifests;            // folder of Kubernetes YAML: the simulated cluster
  // Objects the driver adds to the manifests' (e.g. an HPA for each variant its fleet model scales through
  // an HPA model); errors name them "<driver>[i]".
  std::vector<nlohmann::json> objects;
  std::string system_namespace = "workload-variant-autoscaler-system";
  std::vector<std::filesystem::path> plugin_paths;  // searched before the host's default plugin folders
  std::filesystem::path base_dir;                   // relative paths in the config resolve against it
  sdk::TimePoint start;                             // the virtual clock's first instant
  bool verbose = false;                             // host logs at info (else warnings and errors) on stderr
};

// One pipeline cycle as the observer sees it.
struct SimulatedCycle {
  std::string pipeline;
  sdk::TimePoint time;                   // virtual time of the cycle
  bool idle_check = false;               // only the pipeline's models at zero replicas were decided
  std::vector<sdk::Decision> decisions;  // per model and variant, after combining
  std::vector<std::string> errors;       // "stage instance: message"; empty when the cycle went through
};

// Receives every cycle's decisions, on the thread that called Simulation::run, in virtual-time order.
class DecisionObserver {
 public:
  virtual ~DecisionObserver() = default;
  virtual void on_cycle(const SimulatedCycle& cycle) = 0;
};

class Simulation {
 public:
  explicit Simulation(SimulationOptions options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Reads the manifests; an error names the file and object.
  sdk::Result<void> load_cluster();
  // Sets a Deployment's replicas before the run (after load_cluster, before start).
  sdk::Result<void> scale(const std::string& ns, const std::string& deployment, int replicas);
  // Reads the config, loads, configures and starts the plugins; every error with its config path.
  std::vector<sdk::Error> start();
  // Runs every pipeline on its interval for `duration` of virtual time, in turn, never sleeping.
  void run(std::chrono::milliseconds duration, DecisionObserver& observer);
  // Stops the plugins (sinks flush here); idempotent.
  void shutdown();

  const VirtualClock& clock() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A file's text, refused beyond the bounds the host applies to its own inputs.
sdk::Result<std::string> read_input_file(const std::filesystem::path& path);

}  // namespace wva::framework
