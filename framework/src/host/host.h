// The host controller: configuration (pipelines.yaml), plugins, pipelines and their schedule.
// The same Host runs in a cluster, on a laptop (local backend) and in simulation (virtual clock).
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
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
#include "host/instance_locks.h"
#include "host/logger.h"
#include "host/metrics_registry.h"
#include "host/model_discovery.h"
#include "host/pipeline_lane.h"
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
  // Wakes a waiter for nothing in particular (a cycle ended, a restart finished): it looks again.
  void wake() {
    {
      std::lock_guard lock(mutex_);
      woken_ = true;
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
  // Waits until the deadline, a stop request, a poke or a wake; true when stopped.
  bool wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, deadline, [&] { return stopped_ || poked_ || reload_ || woken_; });
    woken_ = false;
    return stopped_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
  bool poked_ = false;
  bool reload_ = false;
  bool woken_ = false;
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
  // With a wall clock the pipelines run at once, each on a lane of its own (a slow or hung cycle delays
  // no other pipeline; an instance two pipelines share serves one at a time), and hung instances are
  // restarted after their back-off (plugins.restartBackoff). With a virtual clock they run in turn and
  // time jumps from one due cycle to the next (never sleeps).
  // on_cycle is called after every pipeline cycle, on the calling thread.
  void run(std::optional<std::chrono::milliseconds> duration, StopSignal& stop,
           const std::function<void(const CycleOutcome&)>& on_cycle);
  void shutdown();

  // For tests and embedding: in-process plugins instead of libraries, then a config naming them.
  // With `factory`, a hung instance is replaced by a fresh one from it after its back-off.
  void add_plugin(const std::string& section, const std::string& name, std::shared_ptr<sdk::Plugin> plugin,
                  PluginFactory factory = {});
  std::vector<sdk::Error> start_with(HostConfig config);

  const std::vector<PipelineRuntime>& pipelines() const { return pipelines_; }
  MetricsRegistryImpl& metrics() { return metrics_; }
  // Instances ("sources/metrics-a") with a call abandoned past its deadline and still running (those
  // replaced by fresh ones included).
  std::vector<std::string> hung_instances() const { return watchdog_.hung_instances(); }
  // The object that serves an instance ("sources/metrics-a") now; null when absent.
  std::shared_ptr<sdk::Plugin> instance(const std::string& key) const;
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
  // `before_activate` runs before a valid new version is activated (run_at_once lets the cycles in flight
  // end). True when a new version was activated.
  bool maybe_reload(bool requested = false, const std::function<void()>& before_activate = {});
  // One cycle of a pipeline's models; with idle_only, of those whose variants all run 0 replicas
  // (nullopt when there is none: nothing runs).
  // Skips (and logs) instances with a hung call when a plugin set is stopped.
  std::function<bool(const std::string&, const sdk::Plugin*)> hung_filter() const;
  // wva_plugin_hung{instance}: set while hung, removed once the call returned.
  void report_hung();
  std::optional<CycleOutcome> run_pipeline(std::size_t index, bool idle_only = false);
  // What one cycle of a pipeline gets: its models (with idle_only, those at zero replicas; nullopt when
  // there is none) and the conditions of VAs without a model it reports.
  struct CycleInput {
    std::shared_ptr<std::vector<sdk::ModelView>> models;
    std::vector<sdk::ResourceCondition> conditions;
  };
  // The models a pipeline's cycle runs on (per pipeline, full cycle and idle check apart). A cycle of every
  // cached model borrows the cached views themselves (ModelViews::lend) when nobody else holds them; else
  // the selected views are copied, and that copy is run on again when the views did not change, the same
  // models are selected and nobody holds the vector any more (the outcome dropped, no abandoned call
  // reading it). Either way each cycle resets what a cycle fills (metrics, previous_desired) first.
  struct WorkingSet {
    std::uint64_t views_generation = 0;
    std::vector<std::size_t> selected;  // indexes into the views' models
    std::shared_ptr<std::vector<sdk::ModelView>> models;
    bool lent = false;  // `models` are the cached views (given back before the next selection)
    // Per variant of `models` (in order), its DecisionMemory entry once it has one.
    std::vector<DecisionMemory::Entry> remembered;
  };
  std::map<std::pair<std::size_t, bool>, WorkingSet> working_sets_;  // by (pipeline index, idle check)
  std::optional<CycleInput> select_models(std::size_t index, bool idle_only);
  CycleServices cycle_services(const PipelineRuntime& pipeline, WorkerPool& pool, bool idle_only);
  void run_in_turn(std::optional<std::chrono::milliseconds> duration, StopSignal& stop,
                   const std::function<void(const CycleOutcome&)>& on_cycle);
  void run_at_once(std::optional<std::chrono::milliseconds> duration, StopSignal& stop,
                   const std::function<void(const CycleOutcome&)>& on_cycle);
  // Restarts of hung instances: schedules one after its back-off, starts it on a thread of its own,
  // installs the fresh instance when it is ready, and stops and releases replaced instances once their
  // abandoned calls returned. Returns when it wants to look again (nullopt: nothing pending).
  std::optional<std::chrono::steady_clock::time_point> tend_instances();
  // The fresh object serves `key` ("analyzers/q") from the next cycle on; the old one is kept until its
  // call returns.
  void install(const std::string& key, std::shared_ptr<sdk::Plugin> fresh);
  // Gives up the restarts in flight (a reload replaces what they were for).
  void drop_restarts();
  // The cached views, rebuilt when the cluster changed; nullptr when building failed.
  // discover: ask the sources which pods serve which model (not in `validate`, whose sources are not started).
  const ClusterModels* current_models(bool discover = true);

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
  // Per pipeline: whether its last cycle published (leader election), to withdraw once when that stops.
  std::mutex published_mutex_;
  std::map<std::string, bool> published_;
  std::unique_ptr<PluginSet> plugins_;
  struct InProcess {
    std::string key;  // "section/name"
    std::shared_ptr<sdk::Plugin> object;
    PluginFactory factory;
  };
  std::vector<InProcess> in_process_;
  std::vector<PipelineRuntime> pipelines_;
  std::string active_config_text_;
  // Keeps an instance that pipelines share to one pipeline at a time (run_at_once).
  InstanceLocks locks_;
  RestartBackoff backoff_;
  struct RestartAttempt;
  struct RestartState {
    unsigned restarts = 0;  // restarts tried since the instance was last healthy for `backoff_.max`
    bool scheduled = false;
    std::chrono::steady_clock::time_point due;      // when scheduled
    std::chrono::steady_clock::time_point settled;  // the last restart or call-off
    std::shared_ptr<RestartAttempt> attempt;        // in flight
  };
  std::map<std::string, RestartState> restarts_;  // by "section/name"
  // Hung instances replaced by fresh ones, until their abandoned calls return.
  std::vector<std::pair<std::string, std::shared_ptr<sdk::Plugin>>> replaced_;
  std::map<std::string, double> reported_abandoned_;
  // Wakes run_at_once's wait (a restart finished); outlives the Host in a restart's thread.
  class Waker;
  std::shared_ptr<Waker> waker_;
  // Model views of the cluster, updated only when the cluster's revision changes: for the objects that
  // changed when the backend can say which, else rebuilt.
  ModelViews model_views_;
  std::uint64_t models_revision_ = 0;
  std::uint64_t views_generation_ = 0;  // bumped whenever the views may have changed
  // Which pods serve which model by their metrics; the views are rebuilt when it changes too.
  ModelDiscoveryCache discovery_{kModelDiscoveryPeriod, std::chrono::seconds(10)};
  std::uint64_t models_discovery_ = 0;
  bool models_rebuild_ = false;  // the next call rebuilds the views whole (the discovered pods changed)
};

}  // namespace wva::framework
