#include "metrics_plugin.h"

#include <exception>

namespace wva::plugins::metrics {

sdk::Result<void> MetricsSink::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    MetricsConfig parsed = read_settings(config);
    std::lock_guard lock(mutex_);
    config_ = std::move(parsed);
    config_path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("unexpected error: ") + e.what(), config_path);
  }
}

sdk::Result<void> MetricsSink::start(sdk::PluginContext& context) {
  stop();
  try {
    std::lock_guard lock(mutex_);
    context_ = &context;
    if (!config_.listen) {
      context.logger().info("metrics: HTTP server disabled (listen: \"0\"); gauges are still set in the registry");
      return sdk::ok();
    }
    ExporterOptions options;
    options.path = config_.path;
    sdk::Logger* logger = &context.logger();
    options.log = [logger](sdk::LogLevel level, const std::string& line) { logger->log(level, line); };
    if (config_.tls) {
      auto credentials = TlsCredentials::load(
          {config_.tls->cert_file, config_.tls->key_file, config_.tls->reload_interval}, config_path_ + ".tls");
      if (!credentials) {
        context_ = nullptr;
        sdk::Error e = credentials.error();
        e.message = "cannot serve HTTPS: " + e.message;
        return e;
      }
      options.tls = std::move(*credentials);
    }
    if (config_.auth.token_review) {
      options.reviewer = context.access_reviewer();
      if (!options.reviewer) {
        context_ = nullptr;
        return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                               "token auth (mode: tokenReview) needs the Kubernetes API's TokenReview and "
                               "SubjectAccessReview, and this controller runs without an API server (local "
                               "mode): set auth.mode to none, or run against a cluster",
                               config_path_ + ".auth.mode");
      }
      options.auth.review_timeout = config_.auth.review_timeout;
      options.auth.cache_ttl = config_.auth.cache_ttl;
      if (!config_.tls)
        context.logger().warn(
            "metrics: token auth without TLS: bearer tokens cross the network in clear text; set "
            "tls.certFile and tls.keyFile");
    }
    const bool https = options.tls != nullptr;
    const std::string tls_line = https ? " (TLS: " + options.tls->describe() + ")" : "";
    auto exporter = std::make_unique<HttpExporter>(context.metrics(), std::move(options));
    auto port = exporter->start(*config_.listen);
    if (!port) {
      context_ = nullptr;
      sdk::Error e = port.error();
      e.path = config_path_ + ".listen";
      return e;
    }
    ListenAddress bound = *config_.listen;
    bound.port = *port;
    context.logger().info(std::string("metrics: serving ") + (https ? "https://" : "http://") + bound.to_string() +
                          config_.path + " and /healthz (port " + std::to_string(*port) + ")" + tls_line +
                          (config_.auth.token_review ? "; " + config_.path +
                                                           " needs a bearer token (TokenReview + "
                                                           "SubjectAccessReview)"
                                                     : ""));
    exporter_ = std::move(exporter);
    return sdk::ok();
  } catch (const std::exception& e) {
    context_ = nullptr;
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("metrics sink failed to start: ") + e.what(),
                           config_path_);
  }
}

void MetricsSink::stop() noexcept {
  std::unique_ptr<HttpExporter> exporter;
  sdk::PluginContext* context = nullptr;
  {
    std::lock_guard lock(mutex_);
    exporter = std::move(exporter_);
    context = context_;
    context_ = nullptr;
  }
  if (exporter) exporter->stop();
  if (context) {
    try {
      const std::size_t n = gauges_.clear(context->metrics());
      if (n) context->logger().info("metrics: stopped; removed the series of " + std::to_string(n) + " variant(s)");
    } catch (...) {
      // stop() never throws
    }
  }
}

sdk::Result<void> MetricsSink::publish(const sdk::PublishBatch& batch) {
  try {
    std::lock_guard lock(mutex_);
    if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "publish called before start", config_path_);
    const GaugeStats stats = gauges_.publish(context_->metrics(), batch);
    if (stats.skipped)
      context_->logger().warn("metrics: pipeline " + batch.pipeline + ": " + std::to_string(stats.skipped) +
                              " decision(s) without a variant name or with negative replicas not emitted");
    if (stats.removed)
      context_->logger().info("metrics: pipeline " + batch.pipeline + ": removed the series of " +
                              std::to_string(stats.removed) + " variant(s) that are gone");
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("metrics sink failed: ") + e.what(), config_path_);
  }
}

std::optional<int> MetricsSink::bound_port() const {
  std::lock_guard lock(mutex_);
  if (!exporter_) return std::nullopt;
  return exporter_->port();
}

}  // namespace wva::plugins::metrics
