#include "host/host.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <fstream>
#include <set>

#include <spdlog/sinks/null_sink.h>

#include "config/input_limits.h"
#include "host/clock.h"
#include "host/guard.h"
#include "host/pipeline_lane.h"
#include "model/model_builder.h"

namespace wva::framework {

// Wakes run_at_once's wait from a restart's thread, which may outlive the run (or the Host).
class Host::Waker {
 public:
  void set(StopSignal* target) {
    std::lock_guard lock(mutex_);
    target_ = target;
  }
  void wake() {
    std::lock_guard lock(mutex_);
    if (target_) target_->wake();
  }

 private:
  std::mutex mutex_;
  StopSignal* target_ = nullptr;
};

// A restart in flight: a fresh instance being created, configured and started on a thread of its own.
struct Host::RestartAttempt {
  std::mutex mutex;
  bool done = false;
  bool given_up = false;  // the host stopped waiting: the thread stops what it made and drops it
  std::optional<sdk::Result<std::shared_ptr<sdk::Plugin>>> result;
  std::chrono::steady_clock::time_point deadline;
};

namespace {

// A restart (create, configure, start) that takes longer than this is given up and tried again later.
constexpr std::chrono::seconds kRestartBudget{30};

std::string seconds_text(std::chrono::steady_clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

}  // namespace

Host::Host(HostOptions options, std::shared_ptr<ClusterBackend> cluster, std::shared_ptr<sdk::Clock> clock,
           std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)),
      cluster_(std::move(cluster)),
      clock_(std::move(clock)),
      log_(std::move(log)),
      host_logger_(log_, ""),
      pool_(std::max<std::size_t>(1, options_.worker_threads)),
      waker_(std::make_shared<Waker>()) {}

Host::~Host() { shutdown(); }

std::shared_ptr<sdk::Plugin> Host::instance(const std::string& key) const {
  const auto slash = key.find('/');
  if (!plugins_ || slash == std::string::npos) return nullptr;
  return plugins_->object(key.substr(0, slash), key.substr(slash + 1));
}

void Host::report_hung() {
  // wva_plugin_hung: the instance in use has an abandoned call (until it returns or a fresh instance
  // replaces it). wva_plugin_abandoned_calls: abandoned calls still running, replaced instances included.
  std::set<std::string> hung_now;
  std::map<std::string, double> abandoned_now;
  for (const auto& h : watchdog_.hung_objects()) {
    abandoned_now[h.name] += static_cast<double>(h.calls);
    if (auto current = instance(h.name); current && current.get() == h.object) hung_now.insert(h.name);
  }
  for (const auto& key : hung_now)
    metrics_.set_gauge("wva_plugin_hung", "1 while a call into the instance in use is abandoned past its deadline",
                       {{"instance", key}}, 1);
  for (const auto& key : reported_hung_)
    if (!hung_now.count(key)) {
      metrics_.remove("wva_plugin_hung", {{"instance", key}});
      log_->info("{}: no longer hung (the abandoned call returned, or a fresh instance replaced it)", key);
    }
  for (const auto& [key, calls] : abandoned_now)
    metrics_.set_gauge("wva_plugin_abandoned_calls",
                       "Calls into an instance abandoned past their deadline and still running (replaced instances "
                       "included)",
                       {{"instance", key}}, calls);
  for (const auto& [key, calls] : reported_abandoned_)
    if (!abandoned_now.count(key)) metrics_.remove("wva_plugin_abandoned_calls", {{"instance", key}});
  reported_hung_ = std::move(hung_now);
  reported_abandoned_ = std::move(abandoned_now);
}

std::function<bool(const std::string&, const sdk::Plugin*)> Host::hung_filter() const {
  return [this](const std::string& key, const sdk::Plugin* object) {
    if (!watchdog_.hung_message(key, object)) return false;
    log_->error("{}: a call into it is hung; it is left running instead of being stopped", key);
    return true;
  };
}

void Host::shutdown() {
  drop_restarts();
  discovery_.wait();
  if (plugins_) plugins_->stop_all(hung_filter());
  pipelines_.clear();
  working_sets_.clear();
  plugins_.reset();
  // Replaced instances: stopped when their calls returned; a hung one stays with its thread.
  for (auto& [key, object] : replaced_) {
    if (watchdog_.hung_message(key, object.get()) || object.use_count() > 1) continue;
    try {
      object->stop();
    } catch (...) {
      // stop() must not throw; nothing more to do during shutdown.
    }
  }
  replaced_.clear();
}

void Host::add_plugin(const std::string& section, const std::string& name, std::shared_ptr<sdk::Plugin> plugin,
                      PluginFactory factory) {
  in_process_.push_back({section + "/" + name, std::move(plugin), std::move(factory)});
}

sdk::Result<Host::ConfigText> Host::read_config_text() {
  if (options_.config_text) return ConfigText{*options_.config_text, options_.config_source};
  if (options_.config_file) {
    // Bounded: a file over the size limit is refused before it is read whole.
    auto text = read_bounded_file(*options_.config_file);
    if (!text.ok()) return sdk::make_error(text.error().code, "config file " + text.error().message);
    return ConfigText{std::move(text.value()), options_.config_file->string()};
  }
  const std::string ns = cluster_->system_namespace();
  const std::string where = "ConfigMap " + ns + "/" + kPipelinesConfigMap;
  auto cm = cluster_->get("ConfigMap", ns, kPipelinesConfigMap);
  if (!cm.ok()) return sdk::make_error(cm.error().code, where + ": " + cm.error().message);
  if (!cm.value())
    return sdk::make_error(sdk::ErrorCode::kNotFound, where + " not found: create it with a data key \"" +
                                                          kPipelinesKey +
                                                          "\" (see examples/quickstart) or pass --config FILE");
  auto data = sdk::config_map_data(**cm);
  auto it = data.find(kPipelinesKey);
  if (it == data.end())
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, where + " has no data key \"" + kPipelinesKey + "\"");
  return ConfigText{it->second, where + " key " + kPipelinesKey};
}

std::vector<sdk::Error> Host::load_config(HostConfig& out) {
  auto text = read_config_text();
  if (!text.ok()) return {text.error()};
  auto interval = default_interval_from_env();
  if (!interval.ok()) return {interval.error()};
  auto parsed = parse_pipelines_yaml(text.value().text, interval.value(), text.value().source_name);
  if (!parsed.errors.empty()) return parsed.errors;
  out = std::move(*parsed.config);
  if (options_.interval)
    for (auto& p : out.pipelines) p.interval = *options_.interval;
  active_config_text_ = text.value().text;
  return {};
}

std::vector<std::filesystem::path> Host::plugin_search_paths(const HostConfig& config) const {
  std::vector<std::filesystem::path> paths = options_.plugin_paths;
  for (const auto& p : config.plugin_paths) {
    std::filesystem::path path(p);
    paths.push_back(path.is_absolute() ? path : options_.base_dir / path);
  }
  for (auto& p : default_plugin_paths()) paths.push_back(std::move(p));
  return paths;
}

std::vector<sdk::Error> Host::activate(HostConfig config, bool start_plugins, bool allow_partial) {
  discovery_.wait();  // no question in flight while instances are stopped or replaced
  HostServices services{log_, clock_.get(), cluster_.get(), &metrics_, cluster_->access_reviewer()};
  auto set = std::make_unique<PluginSet>();
  // In-process instances replace configured ones of the same name.
  auto in_process = [&](const std::string& key) {
    return std::any_of(in_process_.begin(), in_process_.end(), [&](const auto& p) { return p.key == key; });
  };
  for (const auto& [name, section] : {std::pair{"sources", &config.sources}, std::pair{"analyzers", &config.analyzers},
                                      std::pair{"sinks", &config.sinks}, std::pair{"combiners", &config.combiners}}) {
    for (auto it = section->begin(); it != section->end();)
      it = in_process(std::string(name) + "/" + it->first) ? section->erase(it) : std::next(it);
  }
  // On a reload, unchanged instances carry over running (their listeners and state too).
  const PluginSet* previous = start_plugins ? plugins_.get() : nullptr;
  std::vector<sdk::Error> errors = set->build(config, plugin_search_paths(config), services, previous);
  for (const auto& p : in_process_) {
    auto slash = p.key.find('/');
    set->add(p.key.substr(0, slash), p.key.substr(slash + 1), p.object, services, previous, p.factory);
  }
  // Each pipeline's combiner checks the chain it is given (e.g. that the analyzers it arbitrates are in
  // it): a chain its combiner cannot combine is a configuration error, never a partial start.
  bool chains_fit = true;
  for (const auto& p : config.pipelines) {
    sdk::Combiner* combiner = set->combiner(p.combine);
    if (!combiner) continue;  // its load or configure error is reported already
    auto fits = guarded("combiner " + p.combine + " check_chain()", [&] {
      return combiner->check_chain(std::span<const std::string>(p.analyzers), p.path + ".combine");
    });
    if (fits.ok()) continue;
    auto e = fits.error();
    if (e.path.empty()) e.path = p.path + ".combine";
    errors.push_back(std::move(e));
    chains_fit = false;
  }
  if (!errors.empty() && (!allow_partial || !chains_fit)) {
    set->stop_all();
    return errors;
  }
  // The new set is accepted. Before its new instances start, the previous set hands over what is kept
  // and stops the rest, so a changed instance can take its predecessor's port.
  const bool reload = previous != nullptr;
  if (reload) {
    drop_restarts();  // they were for the previous set's instances
    const std::size_t kept = set->inherited_count();
    set->take_over_from(*plugins_);
    plugins_->stop_all(hung_filter());
    log_->info("config: {} plugin instances kept running, {} (re)started", kept, set->instances().size() - kept);
  }
  if (start_plugins)
    for (auto& e : set->start_all()) errors.push_back(std::move(e));

  std::vector<PipelineRuntime> pipelines;
  std::size_t usable = 0;
  for (const auto& p : config.pipelines) {
    PipelineRuntime rt{p, {p.source, set->source(p.source)}, {}, {}, {}, {}};
    rt.owners["sources/" + p.source] = set->object("sources", p.source);
    for (const auto& a : p.analyzers) rt.owners["analyzers/" + a] = set->object("analyzers", a);
    for (const auto& s : p.sinks) rt.owners["sinks/" + s] = set->object("sinks", s);
    rt.owners["combiners/" + p.combine] = set->object("combiners", p.combine);
    std::string missing = rt.source.second ? "" : "source " + p.source;
    auto note = [&](const std::string& what) { missing += (missing.empty() ? "" : ", ") + what; };
    for (const auto& a : p.analyzers) {
      rt.analyzers.emplace_back(a, set->analyzer(a));
      if (!rt.analyzers.back().second) note("analyzer " + a);
    }
    for (const auto& s : p.sinks) {
      rt.sinks.emplace_back(s, set->sink(s));
      if (!rt.sinks.back().second) note("sink " + s);
    }
    rt.combiner = {p.combine, set->combiner(p.combine)};
    if (!rt.combiner.second) note("combiner " + p.combine);
    if (!missing.empty()) {
      rt.disabled = "pipeline " + p.name + " is disabled: " + missing + " failed to load, configure or start";
      // Every failed instance has its own error already; only report otherwise-silent gaps.
      if (errors.empty()) errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, rt.disabled, p.path));
    } else {
      ++usable;
    }
    pipelines.push_back(std::move(rt));
  }
  // After a hand-over there is no previous set to go back to: a new instance that failed to start
  // disables its pipelines (logged below) rather than the whole configuration.
  if (!errors.empty() && !reload && (!allow_partial || usable == 0)) {
    set->stop_all();
    return errors;
  }
  for (const auto& e : errors) log_->error("{}", e.to_string());
  for (const auto& p : pipelines)
    if (!p.disabled.empty()) {
      log_->error("{}; its models hold their last decisions, the other pipelines run", p.disabled);
      metrics_.set_gauge("wva_pipeline_disabled", "1 when a pipeline runs without a failed plugin instance",
                         {{"pipeline", p.config.name}}, 1);
    }
  pipelines_ = std::move(pipelines);
  working_sets_.clear();  // pipeline indexes may name other pipelines now
  plugins_ = std::move(set);
  backoff_ = config.restart_backoff;
  return {};
}

std::vector<sdk::Error> Host::start() {
  if (auto r = cluster_->refresh(); !r.ok()) return {r.error()};
  HostConfig config;
  auto errors = load_config(config);
  if (!errors.empty()) return errors;
  options_.base_dir =
      options_.base_dir.empty() && options_.config_file ? options_.config_file->parent_path() : options_.base_dir;
  return activate(std::move(config), true, /*allow_partial=*/true);
}

std::vector<sdk::Error> Host::start_with(HostConfig config) { return activate(std::move(config), true, true); }

std::vector<sdk::Error> Host::validate(bool dry_run_analyzers) {
  if (auto r = cluster_->refresh(); !r.ok()) return {r.error()};
  HostConfig config;
  auto errors = load_config(config);
  if (!errors.empty()) return errors;
  if (options_.base_dir.empty() && options_.config_file) options_.base_dir = options_.config_file->parent_path();
  // Plugins report what they read from the cluster (ConfigMap entries they reject, with paths) as
  // diagnostics (PluginContext::report); validate turns every one of the dry run below into an error.
  // The run's own log stays quiet: what matters is returned.
  const auto saved_log = log_;
  log_ = std::make_shared<spdlog::logger>("validate", std::make_shared<spdlog::sinks::null_sink_mt>());
  errors = activate(std::move(config), false, /*allow_partial=*/false);
  if (errors.empty() && dry_run_analyzers) {
    // Dry-run one preparation of every analyzer over the real models: start analyzers only (sources and
    // sinks would open connections and ports), prepare_cycle() reads their ConfigMaps.
    for (auto& e : plugins_->start_section("analyzers")) errors.push_back(std::move(e));
    if (const ClusterModels* all = current_models(/*discover=*/false)) {
      // What the host itself rejected in the cluster's objects (e.g. a bad accelerator-unitcost entry).
      for (const auto& w : all->warnings) errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, w));
      for (const auto& p : pipelines_)
        for (const auto& [name, analyzer] : p.analyzers)
          if (analyzer) {
            auto r =
                guarded("analyzer " + name, [&, &analyzer = analyzer] { return analyzer->prepare_cycle(all->models); });
            if (!r.ok()) errors.push_back(sdk::make_error(r.error().code, r.error().message, "analyzers." + name));
          }
    }
  }
  if (plugins_)
    for (const auto& d : plugins_->diagnostics())
      errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, d.message, d.path));
  shutdown();
  log_ = saved_log;
  return errors;
}

bool Host::maybe_reload(bool requested, const std::function<void()>& before_activate) {
  auto text = read_config_text();
  if (!text.ok()) {
    log_->warn("config: {}; keeping the running configuration", text.error().to_string());
    return false;
  }
  if (text.value().text == active_config_text_) {
    if (requested) log_->info("config: {} unchanged; nothing to reload", text.value().source_name);
    return false;
  }
  HostConfig config;
  auto errors = load_config(config);
  if (errors.empty()) {
    if (before_activate) before_activate();
    errors = activate(std::move(config), true, /*allow_partial=*/false);
  }
  if (!errors.empty()) {
    log_->error("config: new version of {} rejected ({} errors); keeping the last good configuration",
                text.value().source_name, errors.size());
    for (const auto& e : errors) log_->error("  {}", e.to_string());
    metrics_.add_counter("wva_config_rejections_total", "Config versions rejected", {}, 1);
    active_config_text_ = text.value().text;  // do not re-log the same broken text every cycle
    return false;
  }
  log_->info("config: reloaded {}", text.value().source_name);
  return true;
}

const ClusterModels* Host::current_models(bool discover) {
  if (auto r = cluster_->refresh(); !r.ok())
    log_->error("cluster {}: {}; using the last good state", cluster_->describe(), r.error().to_string());
  const bool discovery_changed =
      discover && discovery_.refresh(pipelines_, *clock_, clock_->is_virtual() ? nullptr : &watchdog_, *log_);
  if (discovery_changed || models_discovery_ != discovery_.generation()) {
    model_views_.set_discovered(discovery_.pods());
    models_discovery_ = discovery_.generation();
    models_rebuild_ = true;  // the pods found by metrics shape every model: rebuild
  }
  if (model_views_.built() && !models_rebuild_ && models_revision_ == cluster_->revision())
    return &model_views_.models();
  const std::uint64_t revision = cluster_->revision();
  std::optional<std::vector<ObjectRef>> changed;
  if (model_views_.built() && !models_rebuild_) changed = cluster_->changes_since(models_revision_);
  ++views_generation_;  // even a failed build may have changed some views
  auto built = changed ? model_views_.update(*cluster_, *changed) : model_views_.rebuild(*cluster_);
  if (!built.ok()) {
    log_->error("cluster {}: {}", cluster_->describe(), built.error().to_string());
    return model_views_.built() || models_revision_ ? &model_views_.models() : nullptr;
  }
  for (const auto& w : model_views_.new_warnings()) log_->warn("{}", w);
  models_revision_ = revision;
  models_rebuild_ = false;
  return &model_views_.models();
}

namespace {

bool at_zero(const sdk::ModelView& model) {
  if (model.variants.empty()) return false;
  for (const auto& v : model.variants)
    if (v.current_replicas > 0) return false;
  return true;
}

}  // namespace

std::optional<Host::CycleInput> Host::select_models(std::size_t index, bool idle_only) {
  std::vector<std::size_t> selected;
  std::vector<sdk::ResourceCondition> conditions;
  // With sharding, only the models (and VA conditions) of the shards this replica owns now.
  const bool sharded = options_.shards > 1 && options_.owns_shard;
  auto owns = [&](const sdk::ModelKey& k) {
    return !sharded || options_.owns_shard(shard_of(k.ns, k.model_id, options_.shards));
  };
  // Working sets that borrowed the cached views give them back before the views are brought up to date:
  // an update then changes them in place rather than copying them (a cycle or outcome that still holds
  // them keeps them, and the update copies).
  for (auto& [key, set] : working_sets_)
    if (set.lent) set.models.reset();
  const ClusterModels* all = current_models();
  if (all) {
    for (std::size_t m = 0; m < all->models.size(); ++m) {
      // The first pipeline whose selector matches owns the model.
      std::size_t owner = pipelines_.size();
      for (std::size_t p = 0; p < pipelines_.size() && owner == pipelines_.size(); ++p)
        if (pipelines_[p].config.selector.matches(all->models[m].key, all->va_labels[m])) owner = p;
      if (owner != index || (idle_only && !at_zero(all->models[m]))) continue;
      if (!owns(all->models[m].key)) continue;  // another replica's shard
      selected.push_back(m);
    }
    // Conditions of VAs without a usable target: reported by the first pipeline (they have no model view).
    if (index == 0 && !idle_only && !sharded) conditions = all->conditions;
    if (index == 0 && !idle_only && sharded) {
      const VaShards va_shards(all->models, options_.shards);
      for (const auto& c : all->conditions)
        if (options_.owns_shard(va_shards.of(c))) conditions.push_back(c);
    }
  }
  if (idle_only && selected.empty()) return std::nullopt;

  WorkingSet& ws = working_sets_[{index, idle_only}];
  const bool same = all && ws.views_generation == views_generation_ && ws.selected == selected;
  if (all && selected.size() == all->models.size() && model_views_.lendable()) {
    ws.models = model_views_.lend();  // every model, in the views' order: the cached views themselves
    ws.lent = true;
  } else if (!same || ws.lent || !ws.models || ws.models.use_count() != 1) {
    ws.models = std::make_shared<std::vector<sdk::ModelView>>();
    ws.models->reserve(selected.size());
    for (auto m : selected) ws.models->push_back(all->models[m]);
    ws.lent = false;
  }
  if (!same) {
    ws.views_generation = views_generation_;
    ws.selected = std::move(selected);
    ws.remembered.clear();
  }
  auto& mine = *ws.models;
  std::size_t flat = 0;  // variant index into ws.remembered
  for (std::size_t i = 0; i < mine.size(); ++i) {
    // Nothing a former cycle collected is read as this one's: the source fills them anew.
    mine[i].metrics = sdk::ModelMetrics{};
    // A variant's memory entry is found once, then kept (stable for the memory's life).
    for (const auto& variant : mine[i].variants) {
      if (flat == ws.remembered.size()) ws.remembered.push_back(nullptr);
      if (!ws.remembered[flat]) ws.remembered[flat] = memory_.entry(mine[i].key, variant.name);
      ++flat;
    }
  }
  // What this controller last decided is the variant's previous desired (the VA status only carries it
  // across restarts). One lock for the fleet: another pipeline's cycle may be remembering.
  memory_.read_entries([&] {
    std::size_t k = 0;
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const auto& from_status = model_views_.status_desired(ws.selected[i]);
      for (std::size_t v = 0; v < mine[i].variants.size(); ++v, ++k) {
        const DecisionMemory::Entry last = ws.remembered[k];
        mine[i].variants[v].previous_desired = last ? std::optional<int>(last->desired) : from_status[v];
      }
    }
  });
  return CycleInput{ws.models, std::move(conditions)};
}

CycleServices Host::cycle_services(const PipelineRuntime& pipeline, WorkerPool& pool, bool idle_only) {
  const EffectiveDeadlines deadlines = pipeline.config.effective_deadlines();
  CycleServices services{&pool, &memory_, clock_.get(), &host_logger_, &metrics_, deadlines.collect};
  services.call_grace = deadlines.collect_grace();
  services.call_budget = deadlines.prepare;
  services.analyze_budget = deadlines.analyze;
  services.publish_budget = deadlines.publish;
  services.publish = !options_.may_publish || options_.may_publish();
  {
    std::lock_guard lock(published_mutex_);
    bool& published = published_[pipeline.config.name];
    services.withdraw = published && !services.publish;
    published = services.publish;
  }
  services.partial = idle_only;
  if (options_.shards > 1 && options_.owns_shard) {
    services.shards = options_.shards;
    services.owns_shard = options_.owns_shard;
  }
  // Wall clock: every plugin call has a deadline. Virtual clock (simulation): direct calls, deterministic.
  if (!clock_->is_virtual()) services.watchdog = &watchdog_;
  return services;
}

std::optional<CycleOutcome> Host::run_pipeline(std::size_t index, bool idle_only) {
  auto input = select_models(index, idle_only);
  if (!input) return std::nullopt;
  report_hung();
  return run_cycle(pipelines_[index], std::move(input->models), std::move(input->conditions),
                   cycle_services(pipelines_[index], pool_, idle_only));
}

std::vector<CycleOutcome> Host::run_once() {
  std::vector<CycleOutcome> out;
  for (std::size_t i = 0; i < pipelines_.size(); ++i) out.push_back(*run_pipeline(i));
  return out;
}

void Host::run(std::optional<std::chrono::milliseconds> duration, StopSignal& stop,
               const std::function<void(const CycleOutcome&)>& on_cycle) {
  if (clock_->is_virtual()) run_in_turn(duration, stop, on_cycle);
  else run_at_once(duration, stop, on_cycle);
}

void Host::run_in_turn(std::optional<std::chrono::milliseconds> duration, StopSignal& stop,
                       const std::function<void(const CycleOutcome&)>& on_cycle) {
  auto* virtual_clock = dynamic_cast<VirtualClock*>(clock_.get());
  const sdk::TimePoint start = clock_->now();
  // No duration: never (time_point::max() also marks a schedule that is off).
  const sdk::TimePoint end = duration ? start + *duration : sdk::TimePoint::max();
  // Two schedules per pipeline: its full cycle every `interval`, and the idle check of its models at zero
  // replicas every `idleCheckInterval` (never: time_point::max()). Entry i < n is pipeline i's full cycle,
  // entry n + i its idle check.
  std::vector<sdk::TimePoint> due;
  auto reset_schedule = [&](sdk::TimePoint at) {
    const std::size_t n = pipelines_.size();
    due.assign(2 * n, at);
    for (std::size_t p = 0; p < n; ++p)
      due[n + p] = pipelines_[p].config.idle_check_interval.count() > 0 ? at + pipelines_[p].config.idle_check_interval
                                                                        : sdk::TimePoint::max();
  };
  reset_schedule(start);
  if (!virtual_clock) cluster_->subscribe_changes([&stop] { stop.poke(); });
  while (!stop.requested() && !pipelines_.empty()) {
    const auto next = std::min_element(due.begin(), due.end());
    const std::size_t slot = static_cast<std::size_t>(next - due.begin());
    const std::size_t n = pipelines_.size();
    const bool idle_check = slot >= n;
    const std::size_t i = idle_check ? slot - n : slot;
    if (*next == sdk::TimePoint::max() || *next > end) break;
    if (virtual_clock) {
      virtual_clock->advance_to(*next);
    } else {
      const auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(*next - clock_->now());
      if (stop.wait_until(std::chrono::steady_clock::now() + std::max(wait, decltype(wait)::zero()))) break;
      if (stop.take_reload()) {  // SIGHUP: re-read the configuration now
        log_->info("config: reload requested (SIGHUP)");
        const std::size_t count = pipelines_.size();
        if (auto r = cluster_->refresh(); !r.ok())  // the config may be a ConfigMap of the cluster's
          log_->error("cluster {}: {}; using the last good state", cluster_->describe(), r.error().to_string());
        maybe_reload(/*requested=*/true);
        if (pipelines_.size() != count) reset_schedule(clock_->now());
        continue;
      }
      if (stop.take_poke()) {  // a VA or ConfigMap changed: every pipeline runs soon
        for (std::size_t p = 0; p < n; ++p) due[p] = std::min(due[p], clock_->now() + kChangeDebounce);
        continue;
      }
      if (clock_->now() < *next) continue;  // woken early by a poke that was already taken
    }
    const std::size_t before = pipelines_.size();
    if (!virtual_clock) maybe_reload();
    if (pipelines_.size() != before) {  // a reload changed the pipelines: start a fresh schedule
      reset_schedule(clock_->now());
      continue;
    }
    auto outcome = run_pipeline(i, idle_check);
    if (outcome && on_cycle) on_cycle(*outcome);
    const auto& config = pipelines_[i].config;
    if (idle_check) {
      due[slot] = std::max(due[slot] + config.idle_check_interval, clock_->now());
    } else {
      due[slot] = std::max(due[slot] + config.interval, clock_->now());
      // A full cycle covered the models at zero too.
      if (config.idle_check_interval.count() > 0) due[n + i] = clock_->now() + config.idle_check_interval;
    }
  }
  if (!virtual_clock) cluster_->subscribe_changes({});
}

void Host::run_at_once(std::optional<std::chrono::milliseconds> duration, StopSignal& stop,
                       const std::function<void(const CycleOutcome&)>& on_cycle) {
  const sdk::TimePoint start = clock_->now();
  const sdk::TimePoint end = duration ? start + *duration : sdk::TimePoint::max();
  // As in run_in_turn: entry i < n is pipeline i's full cycle, entry n + i its idle check. A pipeline's
  // lane runs one of its cycles at a time; the others' lanes go on meanwhile.
  struct Slot {
    sdk::TimePoint due;
    sdk::TimePoint dispatched;  // the `due` a running cycle was dispatched for
  };
  std::vector<Slot> slots;
  std::vector<bool> running;  // per pipeline: its lane has a cycle in flight
  // Cycles that ended, taken by this thread: {slot, outcome}.
  struct Finished {
    std::size_t slot;
    std::optional<CycleOutcome> outcome;
  };
  std::mutex finished_mutex;
  std::condition_variable finished_cv;
  std::deque<Finished> finished;
  std::size_t in_flight = 0;
  // After what the lanes' callbacks use, so that they go first.
  std::vector<std::unique_ptr<PipelineLane>> lanes;
  auto idle = [&] {
    std::lock_guard lock(finished_mutex);
    return in_flight == 0;
  };

  auto reset_schedule = [&](sdk::TimePoint at) {
    const std::size_t n = pipelines_.size();
    slots.assign(2 * n, Slot{at, at});
    for (std::size_t p = 0; p < n; ++p)
      slots[n + p].due = pipelines_[p].config.idle_check_interval.count() > 0
                             ? at + pipelines_[p].config.idle_check_interval
                             : sdk::TimePoint::max();
    running.assign(n, false);
    while (lanes.size() < n) lanes.push_back(std::make_unique<PipelineLane>(options_.worker_threads));
    lanes.resize(n);  // every lane is idle here (after a drain)
  };
  // Hands the finished cycles to on_cycle and schedules each pipeline's next one.
  auto take_finished = [&] {
    std::deque<Finished> ready;
    {
      std::lock_guard lock(finished_mutex);
      ready.swap(finished);
    }
    const std::size_t n = pipelines_.size();
    for (auto& f : ready) {
      const bool idle_check = f.slot >= n;
      const std::size_t i = idle_check ? f.slot - n : f.slot;
      running[i] = false;
      if (f.outcome && on_cycle) on_cycle(*f.outcome);
      const auto& config = pipelines_[i].config;
      if (idle_check) {
        slots[f.slot].due = std::max(slots[f.slot].dispatched + config.idle_check_interval, clock_->now());
      } else {
        slots[f.slot].due = std::max(slots[f.slot].dispatched + config.interval, clock_->now());
        if (config.idle_check_interval.count() > 0) slots[n + i].due = clock_->now() + config.idle_check_interval;
      }
    }
  };
  // Lets every cycle in flight end (each is bounded by its calls' deadlines) and takes them.
  auto drain = [&] {
    {
      std::unique_lock lock(finished_mutex);
      finished_cv.wait(lock, [&] { return in_flight == 0; });
    }
    take_finished();
  };

  reset_schedule(start);
  waker_->set(&stop);
  cluster_->subscribe_changes([&stop] { stop.poke(); });
  while (!stop.requested() && !pipelines_.empty()) {
    take_finished();
    report_hung();
    const auto tend_at = tend_instances();
    if (stop.take_reload()) {  // SIGHUP: re-read the configuration now
      log_->info("config: reload requested (SIGHUP)");
      if (auto r = cluster_->refresh(); !r.ok())  // the config may be a ConfigMap of the cluster's
        log_->error("cluster {}: {}; using the last good state", cluster_->describe(), r.error().to_string());
      const std::size_t count = pipelines_.size();
      if (maybe_reload(/*requested=*/true, drain) && pipelines_.size() != count) reset_schedule(clock_->now());
      continue;
    }
    if (stop.take_poke()) {  // a VA or ConfigMap changed: every pipeline runs soon
      for (std::size_t p = 0; p < pipelines_.size(); ++p)
        slots[p].due = std::min(slots[p].due, clock_->now() + kChangeDebounce);
      continue;
    }
    // The next due cycle of a pipeline whose lane is free.
    const std::size_t n = pipelines_.size();
    std::size_t slot = slots.size();
    for (std::size_t k = 0; k < slots.size(); ++k)
      if (!running[k % n] && (slot == slots.size() || slots[k].due < slots[slot].due)) slot = k;
    const bool none_due = slot == slots.size() || slots[slot].due == sdk::TimePoint::max() || slots[slot].due > end;
    const auto now = clock_->now();
    // Past the end (or nothing scheduled) with no cycle in flight: done, restarts pending or not.
    if (none_due && idle() && (!tend_at || now >= end)) break;
    if (none_due || now < slots[slot].due) {
      // Woken early by a cycle that ends (stop.wake()), a restart that finished, a poke or a stop.
      auto wake = std::chrono::steady_clock::now() + std::chrono::hours(1);
      if (!none_due)
        wake = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(slots[slot].due - now);
      if (tend_at) wake = std::min(wake, *tend_at);
      if (stop.wait_until(wake)) break;
      continue;
    }
    const std::size_t before = pipelines_.size();
    if (maybe_reload(/*requested=*/false, drain)) {
      if (pipelines_.size() != before) reset_schedule(clock_->now());
      continue;  // the schedule is looked at again with the new pipelines
    }
    const bool idle_check = slot >= n;
    const std::size_t i = idle_check ? slot - n : slot;
    auto input = select_models(i, idle_check);
    slots[slot].dispatched = slots[slot].due;
    if (!input) {  // an idle check with no model at zero: nothing to run
      slots[slot].due = std::max(slots[slot].due + pipelines_[i].config.idle_check_interval, clock_->now());
      continue;
    }
    // The lane runs on a copy of the pipeline (a restart or reload may change pipelines_ meanwhile).
    auto pipeline = std::make_shared<const PipelineRuntime>(pipelines_[i]);
    CycleServices services = cycle_services(*pipeline, lanes[i]->pool(), idle_check);
    services.locks = &locks_;
    auto outcome = std::make_shared<std::optional<CycleOutcome>>();
    {
      std::lock_guard lock(finished_mutex);
      ++in_flight;
    }
    running[i] = true;
    lanes[i]->submit(
        [pipeline, services, input = std::make_shared<CycleInput>(std::move(*input)), outcome] {
          // The models are handed over (not kept by this task): the host runs its next cycle on them.
          *outcome = run_cycle(*pipeline, std::move(input->models), std::move(input->conditions), services);
        },
        [&, slot, outcome] {
          {
            std::lock_guard lock(finished_mutex);
            finished.push_back({slot, std::move(*outcome)});
            --in_flight;
          }
          finished_cv.notify_all();
          stop.wake();
        });
  }
  drain();
  lanes.clear();
  waker_->set(nullptr);
  cluster_->subscribe_changes({});
}

std::optional<std::chrono::steady_clock::time_point> Host::tend_instances() {
  if (!plugins_) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  const auto hung = watchdog_.hung_objects();
  auto hung_since = [&](const std::string& key,
                        const void* object) -> std::optional<std::chrono::steady_clock::time_point> {
    for (const auto& h : hung)
      if (h.name == key && h.object == object) return h.since;
    return std::nullopt;
  };
  std::optional<std::chrono::steady_clock::time_point> next;
  auto look_again_at = [&](std::chrono::steady_clock::time_point t) { next = next ? std::min(*next, t) : t; };

  // Replaced instances whose abandoned calls returned (and that no cycle holds): stopped and released.
  for (auto it = replaced_.begin(); it != replaced_.end();) {
    if (hung_since(it->first, it->second.get()) || it->second.use_count() > 1) {
      ++it;
      continue;
    }
    log_->info("{}: the abandoned call into the replaced instance returned; it is stopped and released", it->first);
    try {
      it->second->stop();
    } catch (...) {
      // stop() must not throw; the instance is released either way.
    }
    it = replaced_.erase(it);
  }

  auto count_restart = [&](const std::string& key, const char* result) {
    metrics_.add_counter("wva_plugin_restarts_total",
                         "Restarts of hung plugin instances (a fresh instance with the same settings), by result",
                         {{"instance", key}, {"result", result}}, 1);
  };
  auto fail = [&](const std::string& key, RestartState& r, const std::string& why) {
    count_restart(key, "failed");
    r.due = now + backoff_.delay(++r.restarts);
    log_->error("{}: restart failed: {}; trying again in {} if it is still hung", key, why, seconds_text(r.due - now));
  };
  for (const auto& inst : plugins_->instances()) {
    if (!inst.started) continue;
    const std::string key = inst.path.substr(0, inst.path.find('.')) + "/" + inst.name;
    auto found = restarts_.find(key);
    // A restart in flight: installed when ready, given up past its budget.
    if (found != restarts_.end() && found->second.attempt) {
      RestartState& r = found->second;
      std::unique_lock lock(r.attempt->mutex);
      if (r.attempt->done) {
        auto result = std::move(*r.attempt->result);
        lock.unlock();
        r.attempt.reset();
        if (result.ok()) {
          install(key, std::move(result.value()));
          count_restart(key, "restarted");
          ++r.restarts;
          r.scheduled = false;
          r.settled = now;
          log_->warn(
              "{}: restarted: a fresh instance with the same settings serves from the next cycle; the hung "
              "one is released when its call returns",
              key);
        } else {
          fail(key, r, result.error().to_string());
        }
      } else if (now >= r.attempt->deadline) {
        r.attempt->given_up = true;
        watchdog_.abandoned(key + " (restart)", r.attempt.get());  // under the lock: before its returned()
        lock.unlock();
        r.attempt.reset();
        fail(key, r,
             "creating, configuring and starting a fresh instance did not return within " +
                 std::to_string(kRestartBudget.count()) + " s");
      } else {
        look_again_at(r.attempt->deadline);
        continue;
      }
    }
    const auto since = hung_since(key, inst.object.get());
    if (!since) {
      if (found == restarts_.end()) continue;
      RestartState& r = found->second;
      if (r.scheduled) {
        log_->info("{}: the abandoned call returned; the restart is called off", key);
        r.scheduled = false;
        r.settled = now;
      } else if (!r.attempt && now - r.settled >= backoff_.max) {
        restarts_.erase(found);  // healthy for a whole maximum back-off: the next hang starts afresh
      }
      continue;
    }
    RestartState& r = restarts_[key];
    if (r.attempt) continue;
    if (!r.scheduled) {
      r.scheduled = true;
      r.due = std::max(*since + backoff_.delay(r.restarts), now);
      log_->error(
          "{}: hung (a call abandoned {} ago has not returned); a fresh instance replaces it in {} "
          "(restart {})",
          key, seconds_text(now - *since), seconds_text(r.due - now), r.restarts + 1);
    }
    if (now < r.due) {
      look_again_at(r.due);
      continue;
    }
    auto recipe = plugins_->recipe(key);
    if (!recipe.ok()) {
      fail(key, r, recipe.error().message);
      look_again_at(r.due);
      continue;
    }
    auto attempt = std::make_shared<RestartAttempt>();
    attempt->deadline = now + kRestartBudget;
    r.attempt = attempt;
    look_again_at(attempt->deadline);
    log_->info("{}: restarting: a fresh instance is created, configured and started", key);
    std::thread([attempt, recipe = std::move(recipe.value()), waker = waker_,
                 returned = watchdog_.on_return(key + " (restart)", attempt.get())] {
      auto made = recipe.make();
      bool given_up = false;
      {
        std::lock_guard lock(attempt->mutex);
        given_up = attempt->given_up;
        if (!given_up) {
          attempt->result.emplace(std::move(made));
          attempt->done = true;
        }
      }
      if (given_up) {
        if (made.ok()) made.value()->stop();
        returned();
      }
      waker->wake();
    }).detach();
  }
  return next;
}

void Host::install(const std::string& key, std::shared_ptr<sdk::Plugin> fresh) {
  const auto slash = key.find('/');
  const std::string section = key.substr(0, slash), name = key.substr(slash + 1);
  for (auto& p : pipelines_) {
    auto owner = p.owners.find(key);
    if (owner == p.owners.end()) continue;
    owner->second = fresh;
    if (section == "sources" && p.source.first == name) p.source.second = fresh->as_source();
    if (section == "analyzers")
      for (auto& [n, a] : p.analyzers)
        if (n == name) a = fresh->as_analyzer();
    if (section == "sinks")
      for (auto& [n, s] : p.sinks)
        if (n == name) s = fresh->as_sink();
    if (section == "combiners" && p.combiner.first == name) p.combiner.second = fresh->as_combiner();
  }
  for (auto& p : in_process_)
    if (p.key == key) p.object = fresh;  // a reload keeps the fresh one
  if (auto old = plugins_->replace(key, std::move(fresh))) replaced_.emplace_back(key, std::move(old));
}

void Host::drop_restarts() {
  for (auto& [key, r] : restarts_) {
    if (!r.attempt) continue;
    std::lock_guard lock(r.attempt->mutex);
    if (r.attempt->done) {
      if (r.attempt->result && r.attempt->result->ok()) r.attempt->result->value()->stop();
    } else {
      r.attempt->given_up = true;
      watchdog_.abandoned(key + " (restart)", r.attempt.get());
    }
  }
  restarts_.clear();
}

}  // namespace wva::framework
