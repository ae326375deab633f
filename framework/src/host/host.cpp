#include "host/host.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "config/input_limits.h"
#include "host/clock.h"
#include "host/guard.h"
#include "model/model_builder.h"

namespace wva::framework {

Host::Host(HostOptions options, std::shared_ptr<ClusterBackend> cluster, std::shared_ptr<sdk::Clock> clock,
           std::shared_ptr<spdlog::logger> log)
    : options_(std::move(options)),
      cluster_(std::move(cluster)),
      clock_(std::move(clock)),
      log_(std::move(log)),
      host_logger_(log_, ""),
      pool_(std::max<std::size_t>(1, options_.worker_threads)) {}

Host::~Host() { shutdown(); }

void Host::report_hung() {
  std::set<std::string> now;
  for (auto& key : watchdog_.hung_instances()) now.insert(std::move(key));
  for (const auto& key : now)
    metrics_.set_gauge("wva_plugin_hung", "1 while a call into the instance is abandoned past its deadline",
                       {{"instance", key}}, 1);
  for (const auto& key : reported_hung_)
    if (!now.count(key)) {
      metrics_.remove("wva_plugin_hung", {{"instance", key}});
      log_->info("{}: the abandoned call returned; it is called again", key);
    }
  reported_hung_ = std::move(now);
}

std::function<bool(const std::string&)> Host::hung_filter() const {
  return [this](const std::string& key) {
    if (!watchdog_.hung_message(key)) return false;
    log_->error("{}: a call into it is hung; it is left running instead of being stopped", key);
    return true;
  };
}

void Host::shutdown() {
  discovery_.wait();
  if (plugins_) plugins_->stop_all(hung_filter());
  pipelines_.clear();
  plugins_.reset();
}

void Host::add_plugin(const std::string& section, const std::string& name, std::shared_ptr<sdk::Plugin> plugin) {
  in_process_.emplace_back(section + "/" + name, std::move(plugin));
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
  HostServices services{log_, clock_.get(), cluster_.get(), &metrics_};
  auto set = std::make_unique<PluginSet>();
  // In-process instances replace configured ones of the same name.
  auto in_process = [&](const std::string& key) {
    return std::any_of(in_process_.begin(), in_process_.end(), [&](const auto& p) { return p.first == key; });
  };
  for (auto* section : {&config.sources, &config.analyzers, &config.sinks}) {
    const char* name = section == &config.sources ? "sources" : section == &config.analyzers ? "analyzers" : "sinks";
    for (auto it = section->begin(); it != section->end();)
      it = in_process(std::string(name) + "/" + it->first) ? section->erase(it) : std::next(it);
  }
  // On a reload, unchanged instances carry over running (their listeners and state too).
  const PluginSet* previous = start_plugins ? plugins_.get() : nullptr;
  std::vector<sdk::Error> errors = set->build(config, plugin_search_paths(config), services, previous);
  for (const auto& [key, plugin] : in_process_) {
    auto slash = key.find('/');
    set->add(key.substr(0, slash), key.substr(slash + 1), plugin, services, previous);
  }
  if (!errors.empty() && !allow_partial) {
    set->stop_all();
    return errors;
  }
  // The new set is accepted. Before its new instances start, the previous set hands over what is kept
  // and stops the rest, so a changed instance can take its predecessor's port.
  const bool reload = previous != nullptr;
  if (reload) {
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
  plugins_ = std::move(set);
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
  // warnings; validate captures those from the dry run below and turns them into errors.
  std::ostringstream captured;
  auto capture_sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  capture_sink->set_level(spdlog::level::warn);
  capture_sink->set_pattern("%v");
  const auto saved_log = log_;
  log_ = std::make_shared<spdlog::logger>("validate", capture_sink);
  errors = activate(std::move(config), false, /*allow_partial=*/false);
  if (errors.empty() && dry_run_analyzers) {
    // Dry-run one preparation of every analyzer over the real models: start analyzers only (sources and
    // sinks would open connections and ports), prepare_cycle() reads their ConfigMaps.
    for (auto& e : plugins_->start_section("analyzers")) errors.push_back(std::move(e));
    if (const ClusterModels* all = current_models())
      for (const auto& p : pipelines_)
        for (const auto& [name, analyzer] : p.analyzers)
          if (analyzer) {
            auto r =
                guarded("analyzer " + name, [&, &analyzer = analyzer] { return analyzer->prepare_cycle(all->models); });
            if (!r.ok()) errors.push_back(sdk::make_error(r.error().code, r.error().message, "analyzers." + name));
          }
  }
  shutdown();
  log_ = saved_log;
  std::istringstream lines(captured.str());
  std::set<std::string> seen;
  for (std::string line; std::getline(lines, line);) {
    // "[instance] message" from an instance's logger; keep each problem once.
    std::string path, message = line;
    if (line.size() > 2 && line[0] == '[') {
      const auto close = line.find("] ");
      if (close != std::string::npos) {
        path = "analyzers." + line.substr(1, close - 1);
        message = line.substr(close + 2);
      }
    }
    if (seen.insert(line).second) errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, message, path));
  }
  return errors;
}

void Host::maybe_reload(bool requested) {
  auto text = read_config_text();
  if (!text.ok()) {
    log_->warn("config: {}; keeping the running configuration", text.error().to_string());
    return;
  }
  if (text.value().text == active_config_text_) {
    if (requested) log_->info("config: {} unchanged; nothing to reload", text.value().source_name);
    return;
  }
  HostConfig config;
  auto errors = load_config(config);
  if (errors.empty()) errors = activate(std::move(config), true, /*allow_partial=*/false);
  if (!errors.empty()) {
    log_->error("config: new version of {} rejected ({} errors); keeping the last good configuration",
                text.value().source_name, errors.size());
    for (const auto& e : errors) log_->error("  {}", e.to_string());
    metrics_.add_counter("wva_config_rejections_total", "Config versions rejected", {}, 1);
    active_config_text_ = text.value().text;  // do not re-log the same broken text every cycle
    return;
  }
  log_->info("config: reloaded {}", text.value().source_name);
}

const ClusterModels* Host::current_models() {
  if (auto r = cluster_->refresh(); !r.ok())
    log_->error("cluster {}: {}; using the last good state", cluster_->describe(), r.error().to_string());
  discovery_.refresh(pipelines_, *clock_, clock_->is_virtual() ? nullptr : &watchdog_, *log_);
  if (models_cache_ && models_revision_ == cluster_->revision() && models_discovery_ == discovery_.generation())
    return &*models_cache_;
  const std::uint64_t revision = cluster_->revision();
  auto models = build_models(*cluster_, discovery_.pods());
  if (!models.ok()) {
    log_->error("cluster {}: {}", cluster_->describe(), models.error().to_string());
    return models_cache_ ? &*models_cache_ : nullptr;
  }
  for (const auto& w : models.value().warnings) log_->warn("{}", w);
  models_cache_ = std::move(models.value());
  models_revision_ = revision;
  models_discovery_ = discovery_.generation();
  return &*models_cache_;
}

namespace {

bool at_zero(const sdk::ModelView& model) {
  if (model.variants.empty()) return false;
  for (const auto& v : model.variants)
    if (v.current_replicas > 0) return false;
  return true;
}

}  // namespace

std::optional<CycleOutcome> Host::run_pipeline(std::size_t index, bool idle_only) {
  const auto& pipeline = pipelines_[index];
  std::vector<sdk::ModelView> mine;
  std::vector<sdk::ResourceCondition> conditions;
  // With sharding, only the models (and VA conditions) of the shards this replica owns now.
  const bool sharded = options_.shards > 1 && options_.owns_shard;
  auto owns = [&](const sdk::ModelKey& k) {
    return !sharded || options_.owns_shard(shard_of(k.ns, k.model_id, options_.shards));
  };
  if (const ClusterModels* all = current_models()) {
    for (std::size_t m = 0; m < all->models.size(); ++m) {
      // The first pipeline whose selector matches owns the model.
      std::size_t owner = pipelines_.size();
      for (std::size_t p = 0; p < pipelines_.size() && owner == pipelines_.size(); ++p)
        if (pipelines_[p].config.selector.matches(all->models[m].key, all->va_labels[m])) owner = p;
      if (owner != index || (idle_only && !at_zero(all->models[m]))) continue;
      if (!owns(all->models[m].key)) continue;  // another replica's shard
      mine.push_back(all->models[m]);
      // What this controller last decided is the variant's previous desired (the VA status only
      // carries it across restarts).
      for (auto& v : mine.back().variants)
        if (auto last = memory_.last(mine.back().key, v.name)) v.previous_desired = last->desired;
    }
    // Conditions of VAs without a usable target: reported by the first pipeline (they have no model view).
    if (index == 0 && !idle_only && !sharded) conditions = all->conditions;
    if (index == 0 && !idle_only && sharded) {
      const VaShards va_shards(all->models, options_.shards);
      for (const auto& c : all->conditions)
        if (options_.owns_shard(va_shards.of(c))) conditions.push_back(c);
    }
  }
  if (idle_only && mine.empty()) return std::nullopt;
  CycleServices services{
      &pool_,       &memory_,
      clock_.get(), &host_logger_,
      &metrics_,    std::min<std::chrono::milliseconds>(pipeline.config.interval, std::chrono::seconds(10))};
  services.publish = !options_.may_publish || options_.may_publish();
  services.partial = idle_only;
  if (sharded) {
    services.shards = options_.shards;
    services.owns_shard = options_.owns_shard;
  }
  // Wall clock: every plugin call has a deadline. Virtual clock (simulation): direct calls, deterministic.
  if (!clock_->is_virtual()) services.watchdog = &watchdog_;
  report_hung();
  return run_cycle(pipeline, std::move(mine), conditions, services);
}

std::vector<CycleOutcome> Host::run_once() {
  std::vector<CycleOutcome> out;
  for (std::size_t i = 0; i < pipelines_.size(); ++i) out.push_back(*run_pipeline(i));
  return out;
}

void Host::run(std::optional<std::chrono::milliseconds> duration, StopSignal& stop,
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

}  // namespace wva::framework
