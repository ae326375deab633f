// One cycle of one pipeline (docs/architecture.md section 1.2): one batched collect for all its models, then each
// model's analyzer chain on the worker pool (one analyzer at a time for every model, so each analyze() call
// has its own deadline), combining, then one batched publish to every sink.
// Failures never drop a variant to its minimum: a variant without a recommendation keeps the last
// decision this process made for it (held), or its current replicas when there is none.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline_config.h"
#include "host/call_watchdog.h"
#include "host/instance_locks.h"
#include "host/worker_pool.h"
#include "wva/sdk/plugin.h"

namespace wva::framework {

// A pipeline's resolved plugin instances. A null pointer is an instance that failed to load, configure or
// start: then `disabled` says why, the pipeline's models hold their last decisions every cycle, and the
// sinks that did start still publish them.
struct PipelineRuntime {
  PipelineConfig config;
  std::pair<std::string, sdk::Source*> source;
  std::vector<std::pair<std::string, sdk::Analyzer*>> analyzers;
  std::vector<std::pair<std::string, sdk::Sink*>> sinks;
  std::pair<std::string, sdk::Combiner*> combiner;  // config.combine's instance
  std::string disabled;                             // empty = every instance is available
  // The objects behind the pointers above, by "section/name": a watched call co-owns its instance.
  std::map<std::string, std::shared_ptr<sdk::Plugin>> owners;
};

// The last decision per variant, kept across cycles and config reloads: what a held variant and the next
// cycle's previous_desired need of it (not the whole Decision, which a fleet would copy every cycle).
// Looked up by (namespace, model ID, variant) in place: no key string is built per lookup. Stored flat:
// the entries in blocks that never move, their keys' characters in blocks too, and an open-addressing
// index of 8 bytes a bucket (a node-based map took a node, three key strings and a bucket per variant).
class DecisionMemory {
 public:
  struct Remembered {
    int desired = 0;
    std::string_view analyzer;  // whose target won: a name the memory keeps for its life (one copy each)
  };
  std::optional<Remembered> last(const sdk::ModelKey& model, const std::string& variant) const;
  // last()'s desired alone (no copy of the analyzer's name).
  std::optional<int> last_desired(const sdk::ModelKey& model, const std::string& variant) const;
  void remember(const sdk::Decision& d);
  std::size_t size() const;

  // A variant's entry once it has one (nullptr before): entries are never dropped and never move, so a
  // caller may keep it for the memory's life and read it in read_entries().
  using Entry = const Remembered*;
  Entry entry(const sdk::ModelKey& model, const std::string& variant) const;
  // Calls `read` with the entries' values stable (one lock for many reads).
  template <class Read>
  void read_entries(Read&& read) const {
    std::lock_guard lock(mutex_);
    read();
  }

 private:
  struct KeyView {
    std::string_view ns, model_id, variant;
  };
  struct Slot {
    Remembered value;
    const char* key = nullptr;  // the key's characters in key_blocks_: ns, model ID, variant
    std::uint32_t ns_size = 0, model_size = 0, variant_size = 0;
  };
  struct Bucket {
    std::uint32_t slot = 0;  // slots_ index + 1; 0: empty
    std::uint32_t hash = 0;  // the key hash's low bits, compared before the key
  };
  static std::size_t hash_of(const KeyView& k) noexcept;
  KeyView key_of(const Slot& s) const;
  Slot* find_locked(const KeyView& k) const;
  void grow_locked();

  mutable std::mutex mutex_;
  std::deque<Slot> slots_;  // push_back never moves an element: Entry pointers stay valid
  // The keys' characters in blocks that never move (a growing string would hold up to twice them).
  static constexpr std::size_t kKeyBlock = 64 * 1024;
  const char* store_key_locked(const KeyView& k);
  std::vector<std::unique_ptr<char[]>> key_blocks_;
  std::size_t key_block_used_ = kKeyBlock;  // in the last block
  std::vector<Bucket> buckets_;             // a power of two long, at most half full
  std::deque<std::string> analyzers_;       // every analyzer name remembered, once (a handful of instances)
};

struct CycleOutcome {
  std::string pipeline;
  bool partial = false;  // an idle check: only the pipeline's models at zero replicas
  std::vector<sdk::Decision> decisions;
  // The cycle's models with this cycle's metrics, shared (never null): the host hands the same vector to
  // the next cycle of the pipeline once nobody holds it any more, so a caller that keeps an outcome past
  // the next cycle makes that cycle copy its models.
  std::shared_ptr<const std::vector<sdk::ModelView>> models;
  std::vector<std::string> errors;  // "stage instance: message"
  std::chrono::nanoseconds cpu_wall{0};
};

struct CycleServices {
  WorkerPool* pool = nullptr;
  DecisionMemory* memory = nullptr;
  const sdk::Clock* clock = nullptr;
  sdk::Logger* log = nullptr;
  sdk::MetricsRegistry* metrics = nullptr;
  std::chrono::milliseconds collect_budget{10000};
  // False on a replica that is not the leader: it decides (and remembers) but publishes nothing.
  bool publish = true;
  // With publish false, on the first cycle after this replica stopped publishing (it lost the leader
  // Lease): the sinks get one empty, whole batch, so they drop what they published (series, answers to
  // autoscalers) instead of serving it stale beside the new leader's.
  bool withdraw = false;
  // With sharding (shards > 1 and owns_shard set): whether this replica still owns a shard
  // (host/sharding.h assigns models and VA conditions to shards). Asked just before publishing: what is no
  // longer owned is left out of the batch. Otherwise everything is published.
  std::size_t shards = 1;
  std::function<bool(std::size_t shard)> owns_shard;
  // A cycle of only some of the pipeline's models (the idle check): the sinks get a partial batch.
  bool partial = false;
  // With a wall clock: every plugin call runs under it (null: called directly, as in simulation, where
  // plugins are in-process and time is virtual).
  CallWatchdog* watchdog = nullptr;
  std::chrono::milliseconds call_grace{5000};       // collect's budget is collect_budget + this
  std::chrono::milliseconds call_budget{30000};     // each prepare_cycle()
  std::chrono::milliseconds analyze_budget{30000};  // each analyze() call
  std::chrono::milliseconds publish_budget{30000};  // each publish()
  // When pipelines run at once: the instance locks that keep a shared instance to one pipeline at a time.
  InstanceLocks* locks = nullptr;
};

// `models` are this cycle's: their metrics are filled here (a null pointer is no model). `conditions` are
// handed to the sinks (taken, not copied: a fleet's VA conditions are megabytes).
CycleOutcome run_cycle(const PipelineRuntime& pipeline, std::shared_ptr<std::vector<sdk::ModelView>> models,
                       std::vector<sdk::ResourceCondition> conditions, const CycleServices& services);
inline CycleOutcome run_cycle(const PipelineRuntime& pipeline, std::vector<sdk::ModelView> models,
                              std::vector<sdk::ResourceCondition> conditions, const CycleServices& services) {
  return run_cycle(pipeline, std::make_shared<std::vector<sdk::ModelView>>(std::move(models)), std::move(conditions),
                   services);
}

}  // namespace wva::framework
