#include "prometheus_source.h"

#include <deque>
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
    config_path_ = config_path;
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
    return make_error(ErrorCode::kInternal, std::string(kFailedToGetMetrics) + ": internal error: " + e.what());
  }
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

  std::set<std::string> namespaces, model_ids;
  for (const auto& m : queried) {
    namespaces.insert(m.key.ns);
    model_ids.insert(m.key.model_id);
  }
  const auto values = make_template_values(config_.labels, namespaces, model_ids, config_.model_matcher_limit,
                                           config_.window, config_.rate_window);
  const auto plan = plan_queries(config_.templates, values, config_.batch);

  std::deque<QueryResponse> responses;  // stable addresses: the grouper keeps pointers into them
  Grouper grouper(queried, config_.labels, config_.stale_after);
  for (const auto& q : plan) {
    QueryStats st;
    report.queries.push_back(q.promql);
    auto r = client_->query(q.promql, deadline, &st);
    report.stats.push_back(st);
    if (!r) {
      count("error");
      const std::string reason = r.error().message;
      if (q.group == SignalGroup::kReplicas) {
        const std::string msg = std::string(kFailedToGetMetrics) + ": " + reason;
        log(sdk::LogLevel::kError, msg + " (" + config_.url + ")");
        std::lock_guard lock(report_mu_);
        report_ = std::move(report);
        return make_error(r.error().code, msg);
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
    responses.push_back(std::move(r.value()));
    grouper.add(responses.back(), q.single);
  }
  auto out = grouper.finish(now);
  report.group = grouper.stats();
  for (std::size_t k = 0; k < kSignalCount; ++k)
    if (report.group.invalid[k] > 0 && context_)
      context_->metrics().add_counter(
          "wva_invalid_samples_total", "Samples outside their signal's domain, treated as absent",
          {{"source", context_->instance_name()}, {"signal", std::string(signal_name(static_cast<Signal>(k)))}},
          static_cast<double>(report.group.invalid[k]));
  // Log each model's state when it changes (not every cycle): the FAQ's texts appear in the log.
  for (auto& [key, mm] : out) {
    auto [it, inserted] = last_state_.try_emplace(key, sdk::MetricsState::kOk);
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
