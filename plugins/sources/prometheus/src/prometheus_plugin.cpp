#include "prometheus_plugin.h"

#include <exception>
#include <set>

namespace wva::prometheus {

using sdk::ErrorCode;
using sdk::make_error;

PrometheusSource::~PrometheusSource() { stop(); }

sdk::Result<void> PrometheusSource::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    auto parsed = parse_config(config, config_path);
    if (!parsed) return parsed.error();
    config_ = std::move(parsed.value());
    grouper_.reset();  // built with the old label names
    kept_spreads_.clear();
    last_spread_read_.reset();
    config_path_ = config_path;
    recorded_unusable_ = recorded_series_unusable(config_);
    configured_ = true;
    return sdk::ok();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("configure failed: ") + e.what(), config_path);
  }
}

sdk::Result<void> PrometheusSource::start(sdk::PluginContext& context) {
  try {
    if (!configured_)
      return make_error(ErrorCode::kInvalidConfig, "start() called before a successful configure()", config_path_);
    context_ = &context;
    auto client = std::make_unique<PrometheusClient>(config_);
    if (auto files = client->check_files(); !files) {
      sdk::Error e = files.error();
      e.path = config_path_.empty() ? e.path : config_path_ + "." + e.path;
      return e;
    }
    client_ = std::move(client);
    if (config_.insecure_skip_verify)
      log(sdk::LogLevel::kWarn, "insecureSkipVerify is true: the TLS certificate of " + config_.url +
                                    " is NOT verified; use caFile instead outside of tests");
    log(sdk::LogLevel::kInfo, "prometheus source " + context.instance_name() + " queries " + config_.url +
                                  (config_.token_file ? " with a bearer token from " + *config_.token_file : ""));
    if (config_.recording_rules == RecordingRules::kAuto && recorded_unusable_)
      log(sdk::LogLevel::kInfo, "recordingRules: auto reads raw series only: " + *recorded_unusable_);
    return sdk::ok();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("start failed: ") + e.what(), config_path_);
  }
}

void PrometheusSource::stop() noexcept {
  client_.reset();
  context_ = nullptr;
}

CollectReport PrometheusSource::last_report() const {
  std::lock_guard lock(report_mu_);
  return report_;
}

bool PrometheusSource::keep_spreads(const std::map<sdk::ModelKey, sdk::ModelMetrics>& out) {
  // A fresh read replaces every kept spread: a variant the histogram no longer covers keeps none.
  kept_spreads_.clear();
  for (const auto& [key, mm] : out) {
    KeptSpread k;
    k.model = mm.load.prompt_tokens_cv;
    for (const auto& [variant, load] : mm.load_by_variant)
      if (load.prompt_tokens_cv) k.variants.emplace_back(variant, *load.prompt_tokens_cv);
    if (k.model || !k.variants.empty()) kept_spreads_.emplace_hint(kept_spreads_.end(), key, std::move(k));
  }
  return !kept_spreads_.empty();
}

void PrometheusSource::apply_kept_spreads(std::map<sdk::ModelKey, sdk::ModelMetrics>& out) const {
  // Both maps are sorted by key: one walk. Only a load with a mean this cycle gets one (as a fit would).
  auto it = kept_spreads_.begin();
  for (auto& [key, mm] : out) {
    while (it != kept_spreads_.end() && it->first < key) ++it;
    if (it == kept_spreads_.end()) return;
    if (key < it->first) continue;
    if (it->second.model && mm.load.avg_input_tokens) mm.load.prompt_tokens_cv = it->second.model;
    for (const auto& [variant, spread] : it->second.variants) {
      auto v = mm.load_by_variant.find(variant);
      if (v != mm.load_by_variant.end() && v->second.avg_input_tokens) v->second.prompt_tokens_cv = spread;
    }
  }
}

void PrometheusSource::log(sdk::LogLevel level, const std::string& message) {
  if (context_) context_->logger().log(level, message);
}

void PrometheusSource::count(const char* outcome) {
  if (!context_) return;
  context_->metrics().add_counter("wva_prometheus_queries_total", "PromQL queries sent by the prometheus source",
                                  {{"source", context_->instance_name()}, {"outcome", outcome}}, 1.0);
}

sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> PrometheusSource::collect(
    std::span<const sdk::ModelView> models, sdk::Deadline deadline) {
  try {
    return collect_impl(models, deadline);
  } catch (const std::exception& e) {
    auto error = make_error(ErrorCode::kInternal, std::string(kFailedToGetMetrics) + ": internal error: " + e.what());
    error.reason = kPrometheusError;
    return error;
  }
}

namespace {

// The probe's answer: the names of the recorded series that exist.
class NameCollector : public SampleHandler {
 public:
  void on_sample(const SampleView& s) override {
    if (const std::string_view* name = s.label("__name__")) names.emplace(*name);
  }
  void restart() override { names.clear(); }
  std::set<std::string, std::less<>> names;
};

}  // namespace

void PrometheusSource::update_recorded(const TemplateValues& values, sdk::TimePoint now, sdk::Deadline deadline,
                                       CollectReport& report) {
  const auto use_recorded = [&](const auto& present) {
    std::bitset<kSignalCount> out;
    for (std::size_t k = 0; k < kSignalCount; ++k) {
      const auto s = static_cast<Signal>(k);
      const std::string_view metric = recorded_metric(s);
      if (!metric.empty() && !config_.custom_template[k] && !config_.templates[k].empty() && present(metric))
        out.set(k);
    }
    return out;
  };
  switch (config_.recording_rules) {
    case RecordingRules::kOff: recorded_.reset(); return;
    case RecordingRules::kOn: recorded_ = use_recorded([](std::string_view) { return true; }); return;
    case RecordingRules::kAuto: break;
  }
  if (recorded_unusable_) return;  // labels or windows differ from the rules': raw queries only
  if (last_probe_ && now - *last_probe_ < kRecordedProbeInterval) return;
  const std::string probe = recorded_probe_query(values.ns_matcher);
  NameCollector names;
  QueryStats st;
  report.queries.push_back(probe);
  auto r = client_->query(probe, deadline, names, &st);
  report.stats.push_back(st);
  if (!r) {
    count("error");
    recorded_.reset();  // raw queries this cycle, probe again next cycle
    last_probe_.reset();
    log(sdk::LogLevel::kWarn, "recording-rules probe failed (raw queries this cycle): " + r.error().message);
    return;
  }
  count("ok");
  last_probe_ = now;
  const auto next = use_recorded([&](std::string_view metric) { return names.names.count(metric) > 0; });
  if (next != recorded_ || !probed_once_)
    log(sdk::LogLevel::kInfo, next.any() ? "reading " + std::to_string(next.count()) +
                                               " signal(s) from the recorded series (recordingRules: auto)"
                                         : "no recorded series found: raw queries (recordingRules: auto)");
  probed_once_ = true;
  recorded_ = next;
}

sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> PrometheusSource::collect_impl(
    std::span<const sdk::ModelView> models, sdk::Deadline deadline) {
  if (!client_) return make_error(ErrorCode::kInternal, "collect() called before start()");
  const sdk::TimePoint now = context_ ? context_->clock().now() : sdk::Clock_t::now();

  // Models outside the configured namespaces are not queried.
  std::map<sdk::ModelKey, sdk::ModelMetrics> outside;
  std::vector<sdk::ModelView> filtered_storage;
  std::span<const sdk::ModelView> queried = models;
  if (!config_.namespaces.empty()) {
    bool all_in = true;
    for (const auto& m : models) all_in = all_in && config_.namespaces.count(m.key.ns) > 0;
    if (!all_in) {
      for (const auto& m : models) {
        if (config_.namespaces.count(m.key.ns)) {
          filtered_storage.push_back(m);
          continue;
        }
        sdk::ModelMetrics mm;
        mm.state = sdk::MetricsState::kNoData;
        mm.collected_at = now;
        mm.message = std::string(kNoPodsFound) + " " + m.key.model_id + " in namespace " + m.key.ns + ": namespace " +
                     m.key.ns + " is not in " + (config_path_.empty() ? "" : config_path_ + ".") + "namespaces";
        outside.emplace(m.key, std::move(mm));
      }
      queried = filtered_storage;
    }
  }
  CollectReport report;
  if (queried.empty()) {
    std::lock_guard lock(report_mu_);
    report_ = std::move(report);
    return outside;
  }

  // The grouper and its route index are kept between cycles: unchanged views reuse the index.
  if (!grouper_) {
    grouper_ = std::make_unique<Grouper>(queried, config_.labels, config_.stale_after);
    covered_.reset();
    values_.reset();
  } else {
    grouper_->reset(queried);
  }
  Grouper& grouper = *grouper_;
  // The selectors depend on the namespaces and model IDs only: made again when the routing names change.
  if (!values_ || values_->first != grouper.route_generation()) {
    std::set<std::string> namespaces, model_ids;
    for (const auto& m : queried) {
      namespaces.insert(m.key.ns);
      model_ids.insert(m.key.model_id);
    }
    values_.emplace(grouper.route_generation(),
                    make_template_values(config_.labels, namespaces, model_ids, config_.model_matcher_limit,
                                         config_.window, config_.rate_window, config_.stale_after));
  }
  const TemplateValues& values = values_->second;
  update_recorded(values, now, deadline, report);
  std::array<std::string, kSignalCount> templates = config_.templates;
  for (std::size_t k = 0; k < kSignalCount; ++k)
    if (recorded_[k]) templates[k] = recorded_template(static_cast<Signal>(k));
  report.recorded = recorded_;
  // KV capacity (fixed per vLLM process) is read again only for pods not seen yet, and every few minutes.
  const std::size_t capacity = static_cast<std::size_t>(Signal::kKvCapacity);
  const bool capacity_cacheable =
      !templates[capacity].empty() && templates[capacity] == default_template(Signal::kKvCapacity);
  if (!capacity_cacheable) capacity_cache_.clear();
  // Whether the cache covers every listed pod changes only with the routing names or the cache's contents.
  const std::pair<std::uint64_t, std::uint64_t> coverage{grouper.route_generation(), capacity_cache_.generation()};
  report.capacity_cached = capacity_cacheable && capacity_cache_.fresh(now) &&
                           (covered_ == coverage || capacity_cache_.covers(queried, now));
  if (report.capacity_cached) covered_ = coverage;
  if (report.capacity_cached) {
    templates[capacity].clear();
    capacity_cache_.feed(grouper);
  }
  // The prompt-length histogram (about 18 series per Deployment and a fit per variant and model): read
  // when promptSpreadInterval has passed since the last read that fitted a spread (every cycle with 0s, and
  // until one fits); in between, the spreads that read fitted are filled in. The TPOT histogram
  // (requestTpotBucket) is read every cycle and nothing of it is kept: the share of requests over the ITL
  // SLO moves with this window's load, and the analyzer calibrates on it cycle by cycle.
  const std::size_t bucket = static_cast<std::size_t>(Signal::kPromptTokensBucket);
  report.spread_read =
      !templates[bucket].empty() && (config_.prompt_spread_interval.count() == 0 || !last_spread_read_ ||
                                     now - *last_spread_read_ >= config_.prompt_spread_interval);
  if (!report.spread_read) templates[bucket].clear();
  bool spread_answered = false;  // the query holding the histogram succeeded
  const auto plan = plan_queries(templates, values, config_.batch);

  for (const auto& q : plan) {
    QueryStats st;
    report.queries.push_back(q.promql);
    grouper.begin(q.single);
    // Every query after the first answer is evaluated at that answer's time: the signals of a cycle come
    // from one window (a prompt-length mean and its histogram's buckets read from the same samples), however
    // long the queries before it took.
    auto r = client_->query(q.promql, deadline, grouper, &st, grouper.eval_time());
    report.stats.push_back(st);
    if (!r) {
      grouper.rollback();  // series of a response that then failed are not kept
      count("error");
      const std::string reason = r.error().message;
      if (q.group == SignalGroup::kReplicas) {
        const std::string msg = std::string(kFailedToGetMetrics) + ": " + reason;
        log(sdk::LogLevel::kError, msg + " (" + config_.url + ")");
        std::lock_guard lock(report_mu_);
        report_ = std::move(report);
        auto error = make_error(r.error().code, msg);
        error.reason = kPrometheusError;
        return error;
      }
      // Load signals are optional: keep the saturation signals, leave the load absent.
      if (report.load_error.empty()) {
        report.load_error = reason;
        log(sdk::LogLevel::kWarn, std::string(kFailedToGetMetrics) + " (load signals, left absent): " + reason);
      }
      continue;
    }
    count("ok");
    for (const auto& w : r->warnings) log(sdk::LogLevel::kWarn, "Prometheus warning: " + w);
    grouper.commit();
    if (q.group == SignalGroup::kLoad && (!q.single || *q.single == Signal::kPromptTokensBucket))
      spread_answered = spread_answered || report.spread_read;
  }
  if (capacity_cacheable && !report.capacity_cached) capacity_cache_.replace(grouper.capacities(), now);
  auto out = grouper.finish(now);
  report.group = grouper.stats();
  if (spread_answered) {
    if (keep_spreads(out)) last_spread_read_ = now;
  } else {
    apply_kept_spreads(out);  // not read this cycle, or its query failed (then read again next cycle)
  }
  for (std::size_t k = 0; k < kSignalCount; ++k)
    if (report.group.invalid[k] > 0 && context_)
      context_->metrics().add_counter(
          "wva_invalid_samples_total", "Samples outside their signal's domain, treated as absent",
          {{"source", context_->instance_name()}, {"signal", std::string(signal_name(static_cast<Signal>(k)))}},
          static_cast<double>(report.group.invalid[k]));
  // Log each model's state when it changes (not every cycle): the FAQ's texts appear in the log.
  // Both maps are sorted by key: one walk over them, no search per model.
  auto it = last_state_.begin();
  for (auto& [key, mm] : out) {
    while (it != last_state_.end() && it->first < key) ++it;
    if (it == last_state_.end() || key < it->first) it = last_state_.emplace_hint(it, key, sdk::MetricsState::kOk);
    if (it->second == mm.state) continue;
    if (mm.state == sdk::MetricsState::kOk)
      log(sdk::LogLevel::kInfo,
          "metrics for model " + key.model_id + " in namespace " + key.ns + " are available again");
    else log(sdk::LogLevel::kWarn, mm.message);
    it->second = mm.state;
  }
  for (auto& [key, mm] : outside) out.emplace(key, std::move(mm));
  std::lock_guard lock(report_mu_);
  report_ = std::move(report);
  return out;
}

}  // namespace wva::prometheus
