#include "host/cycle.h"

#include <algorithm>

#include "host/combine.h"
#include "host/decide.h"
#include "host/guard.h"
#include "host/sharding.h"

namespace wva::framework {

std::size_t DecisionMemory::hash_of(const KeyView& k) noexcept {
  const std::hash<std::string_view> h;
  std::size_t seed = h(k.ns);
  for (const std::string_view part : {k.model_id, k.variant})
    seed ^= h(part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}

DecisionMemory::KeyView DecisionMemory::key_of(const Slot& s) const {
  return {std::string_view(s.key, s.ns_size), std::string_view(s.key + s.ns_size, s.model_size),
          std::string_view(s.key + s.ns_size + s.model_size, s.variant_size)};
}

const char* DecisionMemory::store_key_locked(const KeyView& k) {
  const std::size_t size = k.ns.size() + k.model_id.size() + k.variant.size();
  char* at = nullptr;
  if (size > kKeyBlock) {  // a key longer than a block has a block of its own; the next starts a new one
    key_blocks_.push_back(std::make_unique<char[]>(size));
    at = key_blocks_.back().get();
    key_block_used_ = kKeyBlock;
  } else {
    if (kKeyBlock - key_block_used_ < size) {
      key_blocks_.push_back(std::make_unique<char[]>(kKeyBlock));
      key_block_used_ = 0;
    }
    at = key_blocks_.back().get() + key_block_used_;
    key_block_used_ += size;
  }
  k.ns.copy(at, k.ns.size());
  k.model_id.copy(at + k.ns.size(), k.model_id.size());
  k.variant.copy(at + k.ns.size() + k.model_id.size(), k.variant.size());
  return at;
}

DecisionMemory::Slot* DecisionMemory::find_locked(const KeyView& k) const {
  if (buckets_.empty()) return nullptr;
  const std::size_t hash = hash_of(k);
  const std::size_t mask = buckets_.size() - 1;
  // At most half the buckets are used: the probe meets an empty one within buckets_.size() steps.
  for (std::size_t i = hash & mask, step = 0; step < buckets_.size(); i = (i + 1) & mask, ++step) {
    const Bucket& b = buckets_[i];
    if (b.slot == 0) return nullptr;
    if (b.hash != static_cast<std::uint32_t>(hash)) continue;
    const Slot& s = slots_[b.slot - 1];
    const KeyView have = key_of(s);
    if (have.variant == k.variant && have.model_id == k.model_id && have.ns == k.ns) return const_cast<Slot*>(&s);
  }
  return nullptr;
}

void DecisionMemory::grow_locked() {
  std::vector<Bucket> grown(std::max<std::size_t>(64, buckets_.size() * 2));
  const std::size_t mask = grown.size() - 1;
  for (std::size_t n = 0; n < slots_.size(); ++n) {
    const std::size_t hash = hash_of(key_of(slots_[n]));
    std::size_t i = hash & mask;
    while (grown[i].slot != 0) i = (i + 1) & mask;
    grown[i] = Bucket{static_cast<std::uint32_t>(n + 1), static_cast<std::uint32_t>(hash)};
  }
  buckets_ = std::move(grown);
}

std::optional<DecisionMemory::Remembered> DecisionMemory::last(const sdk::ModelKey& model,
                                                               const std::string& variant) const {
  std::lock_guard lock(mutex_);
  const Slot* s = find_locked(KeyView{model.ns, model.model_id, variant});
  if (s == nullptr) return std::nullopt;
  return s->value;
}

std::optional<int> DecisionMemory::last_desired(const sdk::ModelKey& model, const std::string& variant) const {
  std::lock_guard lock(mutex_);
  const Slot* s = find_locked(KeyView{model.ns, model.model_id, variant});
  if (s == nullptr) return std::nullopt;
  return s->value.desired;
}

DecisionMemory::Entry DecisionMemory::entry(const sdk::ModelKey& model, const std::string& variant) const {
  std::lock_guard lock(mutex_);
  const Slot* s = find_locked(KeyView{model.ns, model.model_id, variant});
  return s == nullptr ? nullptr : &s->value;
}

std::size_t DecisionMemory::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

void DecisionMemory::remember(const sdk::Decision& d) {
  std::lock_guard lock(mutex_);
  const KeyView key{d.model.ns, d.model.model_id, d.variant};
  Slot* s = find_locked(key);
  if (s == nullptr) {
    if (2 * (slots_.size() + 1) > buckets_.size()) grow_locked();
    Slot& added = slots_.emplace_back();
    added.key = store_key_locked(key);
    added.ns_size = static_cast<std::uint32_t>(key.ns.size());
    added.model_size = static_cast<std::uint32_t>(key.model_id.size());
    added.variant_size = static_cast<std::uint32_t>(key.variant.size());
    const std::size_t hash = hash_of(key);
    const std::size_t mask = buckets_.size() - 1;
    std::size_t i = hash & mask;
    while (buckets_[i].slot != 0) i = (i + 1) & mask;
    buckets_[i] = Bucket{static_cast<std::uint32_t>(slots_.size()), static_cast<std::uint32_t>(hash)};
    s = &added;
  }
  s->value.desired = d.desired;
  if (s->value.analyzer != d.analyzer) {
    auto known = std::find(analyzers_.begin(), analyzers_.end(), d.analyzer);
    s->value.analyzer = known != analyzers_.end() ? *known : analyzers_.emplace_back(d.analyzer);
  }
}

namespace {

// Models combined per combiner call and decided before the next call: bounds the combined targets alive
// at once, and lets each batch's recommendations go before the next is combined.
constexpr std::size_t kDecideBatch = 256;

// Everything one model's chain produced.
struct ModelResult {
  std::vector<sdk::Recommendation> chain;
  std::vector<std::string> errors;
  std::optional<Hold> hold;
};

// One call into a plugin: under the watchdog when there is one (the call co-owns `owner`), else directly.
template <class R>
WatchedCall<R> call_plugin(const CycleServices& services, const std::string& instance, std::chrono::milliseconds budget,
                           std::shared_ptr<sdk::Plugin> owner, std::function<sdk::Result<R>()> fn, const void* object) {
  if (!services.watchdog) return {guarded(instance, fn), false};
  return services.watchdog->call<R>(
      instance, budget, [owner = std::move(owner), fn = std::move(fn)] { return fn(); }, object);
}

std::shared_ptr<sdk::Plugin> owner_of(const PipelineRuntime& pipeline, const std::string& key) {
  auto it = pipeline.owners.find(key);
  return it == pipeline.owners.end() ? nullptr : it->second;
}

// The locks of instances this pipeline is about to call (nothing to take when pipelines run in turn).
InstanceLocks::Held lock_instances(const CycleServices& services, const PipelineRuntime& pipeline,
                                   const std::vector<std::string>& keys, std::chrono::milliseconds budget) {
  if (!services.locks) return {};
  std::vector<std::pair<std::string, const void*>> instances;
  for (const auto& key : keys) instances.emplace_back(key, owner_of(pipeline, key).get());
  return services.locks->lock(std::move(instances), budget);
}

std::string busy_message(const std::string& key, std::chrono::milliseconds budget) {
  return key + " is still in use by another pipeline's cycle after " + std::to_string(budget.count()) +
         " ms; not called this cycle";
}

// Every analyzable model through the chain, one analyzer at a time for all models on the pool, so each
// analyze() call has its own deadline. A call past it is abandoned (the pool replaces its thread) and its
// model holds; an instance with an abandoned call is not called again, and the models that would reach
// it hold too. Abandoned calls co-own what they read: the models, their upstream recommendation, the
// instance.
std::vector<ModelResult> analyze_models(const PipelineRuntime& pipeline,
                                        const std::shared_ptr<const std::vector<sdk::ModelView>>& models,
                                        const std::vector<bool>& analyzable, const CycleServices& services) {
  const std::size_t n = models->size();
  std::vector<ModelResult> results(n);
  struct Chains {
    std::shared_ptr<const std::vector<sdk::ModelView>> models;
    std::vector<std::vector<sdk::Recommendation>> chain;  // [model][analyzer], sized once: never reallocated
  };
  auto state = std::make_shared<Chains>();
  state->models = models;
  state->chain.assign(n, std::vector<sdk::Recommendation>(pipeline.analyzers.size()));
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < n; ++i)
    if (analyzable[i]) todo.push_back(i);
  for (std::size_t k = 0; k < pipeline.analyzers.size() && !todo.empty(); ++k) {
    const auto& [name, analyzer] = pipeline.analyzers[k];
    const std::string key = "analyzers/" + name;
    const auto owner = owner_of(pipeline, key);
    if (services.watchdog) {
      if (auto hung = services.watchdog->hung_message(key, owner.get())) {
        for (auto i : todo) results[i].hold = Hold{"AnalyzerHung", *hung};
        break;
      }
    }
    using Out = std::optional<sdk::Result<sdk::Recommendation>>;
    auto out = std::make_shared<std::vector<Out>>(todo.size());
    auto job = std::make_shared<PoolJob>();
    job->item = [state, out, todo = std::make_shared<const std::vector<std::size_t>>(todo), owner, analyzer = analyzer,
                 k, who = "analyzer " + name](std::size_t j) {
      const std::size_t i = (*todo)[j];
      const sdk::Recommendation* upstream = k == 0 ? nullptr : &state->chain[i][k - 1];
      (*out)[j].emplace(guarded(who, [&] { return analyzer->analyze((*state->models)[i], upstream); }));
    };
    std::optional<std::chrono::milliseconds> budget;
    if (services.watchdog) {
      budget = services.analyze_budget;
      job->on_abandon = [watchdog = services.watchdog, key, object = owner.get()](std::size_t) {
        watchdog->abandoned(key, object);
      };
      job->on_late_return = [returned = services.watchdog->on_return(key, owner.get())](std::size_t) { returned(); };
    }
    const std::vector<bool> abandoned = services.pool->run(todo.size(), job, budget);
    std::vector<std::size_t> next;
    for (std::size_t j = 0; j < todo.size(); ++j) {
      const std::size_t i = todo[j];
      const std::string model_name = (*models)[i].key.to_string();
      if (abandoned[j]) {
        const std::string message = CallWatchdog::abandoned_message(key, *budget);
        results[i].errors.push_back("analyze " + name + " (" + model_name + "): " + message);
        results[i].hold = Hold{"AnalyzerHung", message};
        continue;
      }
      auto& rec = *(*out)[j];
      auto& slot = state->chain[i][k];
      if (!rec.ok()) {
        results[i].errors.push_back("analyze " + name + " (" + model_name + "): " + rec.error().to_string());
        slot.analyzer = name;
        slot.has_opinion = false;
        slot.reason = "analyzer failed: " + rec.error().message;
      } else {
        slot = std::move(rec.value());
        if (slot.analyzer.empty()) slot.analyzer = name;
      }
      next.push_back(i);
    }
    todo = std::move(next);
  }
  // Chains of held models stay: an abandoned call may still read them.
  for (std::size_t i = 0; i < n; ++i)
    if (analyzable[i] && !results[i].hold) results[i].chain = std::move(state->chain[i]);
  return results;
}

}  // namespace

CycleOutcome run_cycle(const PipelineRuntime& pipeline, std::shared_ptr<std::vector<sdk::ModelView>> models_in,
                       std::vector<sdk::ResourceCondition> conditions, const CycleServices& services) {
  const auto started = std::chrono::steady_clock::now();
  CycleOutcome outcome;
  outcome.pipeline = pipeline.config.name;
  outcome.partial = services.partial;
  const sdk::TimePoint now = services.clock->now();
  const sdk::Labels pipeline_label{{"pipeline", pipeline.config.name}};
  auto count_error = [&](const std::string& stage, const std::string& instance, const std::string& message) {
    outcome.errors.push_back(stage + " " + instance + ": " + message);
    services.log->error(pipeline.config.name + ": " + stage + " " + instance + ": " + message);
    services.metrics->add_counter("wva_plugin_errors_total",
                                  "Plugin calls that failed, by pipeline, stage and instance",
                                  {{"pipeline", pipeline.config.name}, {"stage", stage}, {"instance", instance}}, 1);
  };
  // The models are shared with watched calls: a call abandoned past its deadline keeps reading its copy
  // while this cycle goes on with another.
  auto shared_models = models_in ? std::move(models_in) : std::make_shared<std::vector<sdk::ModelView>>();
  auto detach_models = [&](bool abandoned) {
    if (abandoned) shared_models = std::make_shared<std::vector<sdk::ModelView>>(*shared_models);
  };

  // 1. One batched collect for every model of the pipeline.
  const auto& [source_name, source] = pipeline.source;
  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collected =
      sdk::make_error(sdk::ErrorCode::kUnavailable, pipeline.disabled);
  if (pipeline.disabled.empty()) {
    const auto budget = services.collect_budget;
    const std::string key = "sources/" + source_name;
    const auto lock = lock_instances(services, pipeline, {key}, budget + services.call_grace);
    if (!lock.busy().empty()) {
      collected = sdk::make_error(sdk::ErrorCode::kTimeout, busy_message(key, budget + services.call_grace));
    } else {
      auto owner = owner_of(pipeline, key);
      const void* object = owner.get();
      auto watched = call_plugin<std::map<sdk::ModelKey, sdk::ModelMetrics>>(
          services, key, budget + services.call_grace, std::move(owner),
          [models = shared_models, source = source, budget] {
            return source->collect(std::span<const sdk::ModelView>(*models), sdk::Deadline::in(budget));
          },
          object);
      collected = std::move(watched.result);
      detach_models(watched.abandoned);
    }
  }
  auto& models = *shared_models;
  std::vector<bool> analyzable(models.size(), false);
  if (!collected.ok()) {
    if (pipeline.disabled.empty()) count_error("collect", source_name, collected.error().to_string());
    for (auto& m : models) {
      m.metrics.state = sdk::MetricsState::kError;
      m.metrics.message = collected.error().message;
      m.metrics.reason = collected.error().reason;  // the source's own word for its failure, if it has one
    }
  } else {
    for (std::size_t i = 0; i < models.size(); ++i) {
      auto it = collected.value().find(models[i].key);
      if (it == collected.value().end()) {
        models[i].metrics.state = sdk::MetricsState::kNoData;
        models[i].metrics.message = "No pods found for model " + models[i].key.model_id;
      } else {
        models[i].metrics = std::move(it->second);
      }
      // A per-model source error holds that model; no data / stale go to the analyzers, which decide
      // from what they have (e.g. the pods that do report).
      analyzable[i] = models[i].metrics.state != sdk::MetricsState::kError;
    }
    // The metrics live in the views now: the source's map (a node per model) goes before the analyzers run.
    collected.value().clear();
  }

  // 2. Per-cycle preparation of each analyzer, alone, with the metrics filled. From here on the models
  // are only read, so a hung preparation or publish keeps sharing them. The analyzers stay this
  // pipeline's (their locks) from their preparation to the last analyze() of the cycle.
  const std::shared_ptr<const std::vector<sdk::ModelView>> frozen = shared_models;
  bool analyzers_ready = pipeline.disabled.empty();
  std::optional<Hold> pipeline_hold;
  std::vector<std::string> analyzer_keys;
  for (const auto& [name, analyzer] : pipeline.analyzers) analyzer_keys.push_back("analyzers/" + name);
  auto analyzer_locks =
      analyzers_ready ? lock_instances(services, pipeline, analyzer_keys, services.call_budget) : InstanceLocks::Held{};
  if (analyzers_ready && !analyzer_locks.busy().empty()) {
    const std::string message = busy_message(analyzer_locks.busy(), services.call_budget);
    count_error("prepare", analyzer_locks.busy(), message);
    pipeline_hold = Hold{"AnalyzerBusy", message};
    analyzers_ready = false;
  }
  for (const auto& [name, analyzer] : pipeline.analyzers) {
    if (!analyzers_ready) break;
    const std::string key = "analyzers/" + name;
    auto owner = owner_of(pipeline, key);
    const void* object = owner.get();
    auto prepared = call_plugin<void>(
        services, key, services.call_budget, std::move(owner),
        [models = frozen, analyzer = analyzer] {
          return analyzer->prepare_cycle(std::span<const sdk::ModelView>(*models));
        },
        object);
    if (!prepared.result.ok()) {
      count_error("prepare", name, prepared.result.error().to_string());
      const bool hung = prepared.result.error().code == sdk::ErrorCode::kTimeout;
      pipeline_hold = Hold{hung ? "AnalyzerHung" : "OptimizationFailed",
                           "prepare " + name + ": " + prepared.result.error().message};
      analyzers_ready = false;
    }
  }

  // 3. Each model's chain on the worker pool.
  auto results = std::make_shared<std::vector<ModelResult>>(models.size());
  if (analyzers_ready) *results = analyze_models(pipeline, frozen, analyzable, services);
  analyzer_locks.release();
  std::vector<std::optional<Hold>> holds(models.size());
  std::vector<char> to_combine(models.size(), 0);
  bool any_to_combine = false;
  for (std::size_t i = 0; i < models.size(); ++i) {
    for (const auto& e : (*results)[i].errors) count_error("analyze", "chain", e);
    const bool analyzed = analyzers_ready && analyzable[i];
    holds[i] = analyzable[i] && !analyzed ? pipeline_hold : (*results)[i].hold;
    to_combine[i] = analyzed && !holds[i];
    any_to_combine = any_to_combine || to_combine[i];
  }

  // 4. The combiner under the watchdog like any plugin call, then each model's decisions, batch by batch
  // (kDecideBatch models a call, its budget the whole combine's): only a batch's combined targets are
  // alive at a time, and a decided model's recommendations go at once. A combiner that hangs holds the
  // models it has not combined (their last decisions stand) instead of blocking the pipeline, and is not
  // called again until it returns. The abandoned call co-owns what it reads.
  const auto& [combiner_name, combiner] = pipeline.combiner;
  using Combined = std::vector<std::optional<sdk::Result<CombinedTargets>>>;
  std::optional<std::string> combine_failed;  // a call failed (hung, threw, not running): no more calls
  if (any_to_combine && !combiner) combine_failed = "combiner " + combiner_name + " is not running";
  if (combine_failed) count_error("combine", combiner_name, *combine_failed);
  const std::string combiner_key = "combiners/" + combiner_name;
  std::chrono::steady_clock::duration combining{0};  // spent in the combiner's calls so far

  std::size_t variants = 0;
  for (const auto& m : models) variants += m.variants.size();
  outcome.decisions.reserve(variants);
  for (std::size_t begin = 0; begin < models.size(); begin += kDecideBatch) {
    const std::size_t end = std::min(models.size(), begin + kDecideBatch);
    Combined combined(end - begin);
    const bool batch_to_combine =
        std::any_of(to_combine.begin() + static_cast<std::ptrdiff_t>(begin),
                    to_combine.begin() + static_cast<std::ptrdiff_t>(end), [](char c) { return c != 0; });
    if (batch_to_combine && !combine_failed) {
      auto owner = owner_of(pipeline, combiner_key);
      const void* object = owner.get();
      const auto budget =
          std::max(std::chrono::milliseconds(1),
                   services.call_budget - std::chrono::duration_cast<std::chrono::milliseconds>(combining));
      const auto called = std::chrono::steady_clock::now();
      auto watched = call_plugin<Combined>(
          services, combiner_key, budget, std::move(owner),
          [models = frozen, results, to_combine, begin, end, combiner = combiner, name = combiner_name,
           analyzers = pipeline.analyzers] {
            Combined out(end - begin);
            for (std::size_t i = begin; i < end; ++i)
              if (to_combine[i])
                out[i - begin] = combine_chain(*combiner, name, (*models)[i], analyzers, (*results)[i].chain);
            return sdk::Result<Combined>(std::move(out));
          },
          object);
      combining += std::chrono::steady_clock::now() - called;
      if (watched.result.ok()) {
        combined = std::move(watched.result.value());
      } else {
        // Abandoned: named with the whole budget, as one call for every model would be.
        combine_failed = watched.abandoned ? CallWatchdog::abandoned_message(combiner_key, services.call_budget)
                                           : watched.result.error().message;
        count_error("combine", combiner_name, *combine_failed);
      }
    }
    for (std::size_t i = begin; i < end; ++i) {
      std::optional<Hold>& hold = holds[i];
      CombinedTargets targets;
      auto& mine = combined[i - begin];
      if (to_combine[i]) {
        if (combine_failed && !mine) {
          hold = Hold{"OptimizationFailed", "combine " + combiner_name + ": " + *combine_failed};
        } else if (mine && mine->ok()) {
          targets = std::move(mine->value());
        } else if (mine) {
          count_error("combine", combiner_name, models[i].key.to_string() + ": " + mine->error().to_string());
          hold = Hold{"OptimizationFailed", "combine " + combiner_name + ": " + mine->error().message};
        }
      }
      decide(models[i], (*results)[i].chain, targets, to_combine[i] && !hold, hold, pipeline.disabled, *services.memory,
             now, outcome.decisions);
      // A decided model's recommendations go at once, unless an abandoned combiner call still reads them.
      if (results.use_count() == 1) std::vector<sdk::Recommendation>().swap((*results)[i].chain);
      mine.reset();
    }
  }
  results.reset();
  holds = {};  // read by the decisions alone

  // 5. One batched publish per sink (each watched call co-owns the batch's data). With sharding, of what
  // this replica still owns now (a shard lost during the cycle belongs to another replica already); the
  // outcome keeps every decision. The batch goes out even when empty: the sinks drop what they published
  // before for models that are no longer in it (the metrics sink's gauges).
  struct BatchData {
    std::vector<sdk::Decision> decisions;
    std::shared_ptr<const std::vector<sdk::ModelView>> models;
    std::vector<sdk::ResourceCondition> conditions;
  };
  const bool sharded = services.shards > 1 && services.owns_shard && services.publish;
  const bool withdrawing = !services.publish && services.withdraw;
  std::shared_ptr<BatchData> data;
  if (withdrawing) {
    services.log->info(pipeline.config.name +
                       ": this replica no longer publishes (not the leader): the sinks drop what it published");
    data = std::make_shared<BatchData>(
        BatchData{{}, std::make_shared<const std::vector<sdk::ModelView>>(), std::vector<sdk::ResourceCondition>{}});
  } else if (sharded) {
    auto owns = [&](const sdk::ModelKey& k) {
      return services.owns_shard(shard_of(k.ns, k.model_id, services.shards));
    };
    auto owned_models = std::make_shared<std::vector<sdk::ModelView>>();
    std::size_t dropped = 0;
    for (const auto& m : *frozen) {
      if (owns(m.key)) owned_models->push_back(m);
      else ++dropped;
    }
    std::vector<sdk::Decision> owned_decisions;
    for (const auto& d : outcome.decisions)
      if (owns(d.model)) owned_decisions.push_back(d);
    std::vector<sdk::ResourceCondition> owned_conditions;
    const VaShards va_shards(*frozen, services.shards);
    for (const auto& c : conditions)
      if (services.owns_shard(va_shards.of(c))) owned_conditions.push_back(c);
    if (dropped > 0)
      services.log->info(pipeline.config.name + ": " + std::to_string(dropped) +
                         " model(s) of shards this replica no longer owns are not published");
    data = std::make_shared<BatchData>(
        BatchData{std::move(owned_decisions), std::move(owned_models), std::move(owned_conditions)});
  } else {
    data = std::make_shared<BatchData>(BatchData{std::move(outcome.decisions), frozen, std::move(conditions)});
  }
  for (const auto& [name, sink] : pipeline.sinks) {
    // Null: failed to start (reported when the pipeline was disabled).
    if (sink == nullptr || !(services.publish || withdrawing)) continue;
    const std::string key = "sinks/" + name;
    const auto lock = lock_instances(services, pipeline, {key}, services.publish_budget);
    if (!lock.busy().empty()) {
      count_error("publish", name, busy_message(key, services.publish_budget));
      continue;
    }
    auto owner = owner_of(pipeline, key);
    const void* object = owner.get();
    auto published = call_plugin<void>(
        services, key, services.publish_budget, std::move(owner),
        [data = std::shared_ptr<const BatchData>(data), sink = sink, name = pipeline.config.name, now,
         partial = services.partial && !withdrawing] {
          sdk::PublishBatch batch{name,
                                  now,
                                  std::span<const sdk::Decision>(data->decisions),
                                  std::span<const sdk::ModelView>(*data->models),
                                  std::span<const sdk::ResourceCondition>(data->conditions),
                                  partial};
          return sink->publish(batch);
        },
        object);
    if (!published.result.ok()) count_error("publish", name, published.result.error().to_string());
  }

  // Shared with an abandoned call only after a timeout: then copy, else take them back (sharded: the
  // outcome kept its own).
  if (!sharded && !withdrawing) {
    if (data.use_count() == 1) outcome.decisions = std::move(data->decisions);
    else outcome.decisions = data->decisions;
  }
  data.reset();
  outcome.models = frozen;  // shared, not copied: an abandoned call reads them too, and never writes
  outcome.cpu_wall = std::chrono::steady_clock::now() - started;
  services.metrics->set_gauge("wva_cycle_duration_seconds", "Wall time of the last cycle of a pipeline", pipeline_label,
                              std::chrono::duration<double>(outcome.cpu_wall).count());
  if (services.partial) {
    services.metrics->add_counter("wva_idle_checks_total",
                                  "Cycles of a pipeline's models at zero replicas only (idleCheckInterval)",
                                  pipeline_label, 1);
  } else {
    services.metrics->add_counter("wva_cycles_total", "Cycles run, by pipeline", pipeline_label, 1);
    services.metrics->set_gauge("wva_models", "Models owned by a pipeline", pipeline_label,
                                static_cast<double>(outcome.models->size()));
  }
  return outcome;
}

}  // namespace wva::framework
