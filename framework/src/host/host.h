// The host controller: configuration (pipelines.yaml), plugins, pipelines and their schedule.
// The same Host runs in a cluster, on a laptop (local backend) and in simulation (virtual clock).
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "cluster/cluster_backend.h"
#include "config/pipeline_config.h"
#include "host/call_watchdog.h"
#include "host/cycle.h"
#include "host/logger.h"
#include "host/metrics_registry.h"
#include "host/model_discovery.h"
#include "host/plugin_set.h"
#include "host/sharding.h"
#include "host/worker_pool.h"
#include "model/model_builder.h"

namespace wva::framework {

inline constexpr const char* kPipelinesConfigMap = "wva-pipelines";
inline constexpr const char* kPipelinesKey = "pipelines.yaml";

struct HostOptions {
  std::optional<std::filesystem::path> config_file;   // else ConfigMap wva-pipelines in the system ns
  std::optional<std::string> config_text;             // the config itself (wva simulate); wins over the file
  std::string config_source;                          // the name errors give for config_text
  std::vector<std::filesystem::path> plugin_paths;    // --plugin-path (searched first)
  std::optional<std::chrono::milliseconds> interval;  // --interval: overrides every pipeline's
  std::filesystem::path base_dir;                     // relative plugins.paths resolve against it
  std::size_t worker_threads = 4;
  // With leader election: false while this replica is not the leader (sinks are then not called).
  std::function<bool()> may_publish;
  // With sharding (--shards N): models are spread over `shards` by shard_of() (host/sharding.h) and this
  // replica collects, analyses and publishes only the models of the shards owns_shard says it owns, asked
  // before the cycle and again just before publishing (a shard lost meanwhile is not published). With
  // shards == 1 or no owns_shard every model is this replica's.
  std::size_t shards = 1;
  ShardOwnership owns_shard;
};

// A cluster change asks for a cycle this soon (changes arriving meanwhile join the same cycle).
inline constexpr std::chrono::milliseconds kChangeDebounce{1000};
// How often sources with sdk::ModelDiscovery are asked which pods serve which model.
inline constexpr std::chrono::milliseconds kModelDiscoveryPeriod{30000};

// Stops a running Host from another thread (signal watcher, test).
class StopSignal {
 public:
  void request() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  // Wakes a waiter without stopping it (a cluster change wants an early cycle).
  void poke() {
    {
      std::lock_guard lock(mutex_);
      poked_ = true;
    }
    cv_.notify_all();
  }
  // Asks for the configuration to be re-read now (SIGHUP); wakes a waiter like poke().
  void request_reload() {
    {
      std::lock_guard lock(mutex_);
      reload_ = true;
    }
    cv_.notify_all();
  }
  // True (once) when request_reload() was called since the last call.
  bool take_reload() {
    std::lock_guard lock(mutex_);
    return std::exchange(reload_, false);
  }
  // True (once) when poke() was called since the last call.
  bool take_poke() {
    std::lock_guard lock(mutex_);
    return std::exchange(poked_, false);
  }
  bool requested() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }
  // Waits until the deadline, a stop request or a poke; true when stopped.
  bool wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, deadline, [&] { return stopped_ || poked_ || reload_; });
    return stopped_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
  bool poked_ = false;
  bool reload_ = false;
};

class Host {
 public:
  Host(HostOptions options, std::shared_ptr<ClusterBackend> cluster, std::shared_ptr<sdk::Clock> clock,
       std::shared_ptr<spdlog::logger> log);
  ~Host();

  // Reads the config, loads, configures and starts the plugins. Returns every error (with paths).
  std::vector<sdk::Error> start();
  // Config + plugin configure(), then a dry run of the analyzers' preparation over the cluster's models
  // (for `wva validate`). With `dry_run_analyzers` false (offline validation, no cluster), the ConfigMaps
  // the analyzers read are not checked.
  std::vector<sdk::Error> validate(bool dry_run_analyzers = true);

  // One cycle of every pipeline, in order.
  std::vector<CycleOutcome> run_once();
  // Cycles every pipeline at its interval until `stop` or `duration` (of the host clock) passes.
  // With a virtual clock, time jumps from one due cycle to the next (never sleeps).
  // on_cycle is called after every pipeline cycle.
  void run(std::optional<std::chrono::milliseconds> duration, StopSignal& stop,
           const std::function<void(const CycleOutcome&)>& on_cycle);
  void shutdown();

  // For tests and embedding: in-process plugins instead of libraries, then a config naming them.
  void add_plugin(const std::string& section, const std::string& name, std::shared_ptr<sdk::Plugin> plugin);
  std::vector<sdk::Error> start_with(HostConfig config);

  const std::vector<PipelineRuntime>& pipelines() const { return pipelines_; }
  MetricsRegistryImpl& metrics() { return metrics_; }
  // Instances ("sources/prometheus") with a call abandoned past its deadline and still running.
  std::vector<std::string> hung_instances() const { return watchdog_.hung_instances(); }
  ClusterBackend& cluster() { return *cluster_; }
  const sdk::Clock& clock() const { return *clock_; }

 private:
  struct ConfigText {
    std::string text;
    std::string source_name;
  };
  sdk::Result<ConfigText> read_config_text();
  std::vector<sdk::Error> load_config(HostConfig& out);
  // Loads, configures and (start_plugins) starts the config's plugins and swaps them in. With
  // allow_partial, pipelines whose instances failed are kept disabled (their models hold) and the
  // others run; otherwise any error rejects the whole config and the running one stays.
  std::vector<sdk::Error> activate(HostConfig config, bool start_plugins, bool allow_partial);
  std::vector<std::filesystem::path> plugin_search_paths(const HostConfig& config) const;
  // Re-reads the config when its text changed; an invalid new version is logged and ignored.
  // `requested`: an operator asked (SIGHUP), so an unchanged config is reported too.
  void maybe_reload(bool requested = false);
  // One cycle of a pipeline's models; with idle_only, of those whose variants all run 0 replicas
  // (nullopt when there is none: nothing runs).
  // Skips (and logs) instances with a hung call when a plugin set is stopped.
  std::function<bool(const std::string&)> hung_filter() const;
  // wva_plugin_hung{instance}: set while hung, removed once the call returned.
  void report_hung();
  std::optional<CycleOutcome> run_pipeline(std::size_t index, bool idle_only = false);
  // The cached views, rebuilt when the cluster changed; nullptr when building failed.
  const ClusterModels* current_models();

  HostOptions options_;
  std::shared_ptr<ClusterBackend> cluster_;
  std::shared_ptr<sdk::Clock> clock_;
  std::shared_ptr<spdlog::logger> log_;
  SpdLogger host_logger_;
  MetricsRegistryImpl metrics_;
  WorkerPool pool_;
  CallWatchdog watchdog_;
  std::set<std::string> reported_hung_;
  DecisionMemory memory_;
  std::unique_ptr<PluginSet> plugins_;
  std::vector<std::pair<std::string, std::shared_ptr<sdk::Plugin>>> in_process_;  // "section/name"
  std::vector<PipelineRuntime> pipelines_;
  std::string active_config_text_;
  // Model views of the cluster, rebuilt only when the cluster's revision changes.
  std::optional<ClusterModels> models_cache_;
  std::uint64_t models_revision_ = 0;
  // Which pods serve which model by their metrics; the views are rebuilt when it changes too.
  ModelDiscoveryCache discovery_{kModelDiscoveryPeriod, std::chrono::seconds(10)};
  std::uint64_t models_discovery_ = 0;
};

}  // namespace wva::framework
