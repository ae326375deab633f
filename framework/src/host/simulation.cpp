#include "wva/framework/simulation.h"

#include "cluster/local_cluster.h"
#include "config/input_limits.h"
#include "host/host.h"
#include "host/logger.h"

namespace wva::framework {

struct Simulation::State {
  SimulationOptions options;
  std::shared_ptr<LocalCluster> cluster;
  std::shared_ptr<VirtualClock> clock;
  std::unique_ptr<Host> host;
  bool started = false;  // start() went through: there are pipelines to run
};

Simulation::Simulation(SimulationOptions options) : state_(std::make_unique<State>()) {
  state_->cluster = std::make_shared<LocalCluster>(options.manifests, options.system_namespace);
  state_->cluster->set_extra_objects(options.objects, "<driver>");
  state_->clock = std::make_shared<VirtualClock>(options.start);
  state_->options = std::move(options);
}

Simulation::~Simulation() { shutdown(); }

sdk::Result<void> Simulation::load_cluster() { return state_->cluster->load(); }

sdk::Result<void> Simulation::scale(const std::string& ns, const std::string& deployment, int replicas) {
  return state_->cluster->scale(ns, deployment, replicas);
}

std::vector<sdk::Error> Simulation::start() {
  const SimulationOptions& o = state_->options;
  HostOptions options;
  options.config_text = o.config_text;
  options.config_source = o.config_source;
  options.plugin_paths = o.plugin_paths;
  options.base_dir = o.base_dir;
  auto log = make_stderr_logger(o.verbose);
  if (!o.verbose) log->set_level(spdlog::level::warn);
  state_->host = std::make_unique<Host>(options, state_->cluster, state_->clock, log);
  auto errors = state_->host->start();
  state_->started = errors.empty();
  return errors;
}

void Simulation::run(std::chrono::milliseconds duration, DecisionObserver& observer) {
  if (!state_->started) return;
  // Nothing stops a simulation but its end: the virtual clock never waits.
  StopSignal stop;
  state_->host->run(duration, stop, [&](const CycleOutcome& outcome) {
    SimulatedCycle cycle{outcome.pipeline, state_->clock->now(), outcome.partial, outcome.decisions, outcome.errors};
    observer.on_cycle(cycle);
  });
}

void Simulation::shutdown() {
  if (state_ && state_->host) state_->host->shutdown();
}

const VirtualClock& Simulation::clock() const { return *state_->clock; }

sdk::Result<std::string> read_input_file(const std::filesystem::path& path) { return read_bounded_file(path); }

}  // namespace wva::framework
