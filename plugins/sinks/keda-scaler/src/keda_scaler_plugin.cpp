#include "keda_scaler_plugin.h"

#include <exception>

namespace wva::plugins::keda {

KedaScalerSink::~KedaScalerSink() { stop(); }

sdk::Result<void> KedaScalerSink::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    ScalerConfig parsed = read_settings(config);
    std::lock_guard lock(mutex_);
    config_ = std::move(parsed);
    config_path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("unexpected error: ") + e.what(), config_path);
  }
}

sdk::Result<void> KedaScalerSink::start(sdk::PluginContext& context) {
  stop();
  try {
    std::lock_guard lock(mutex_);
    std::optional<TlsMaterial> tls;
    if (config_.tls) {
      auto read = read_tls(*config_.tls, config_path_ + ".tls");
      if (!read) return read.error();
      tls = std::move(*read);
    }
    auto server = ScalerServer::start(config_, tls, store_, &context.metrics(), context.instance_name());
    if (!server) {
      sdk::Error e = server.error();
      e.path = config_path_ + ".listen";
      return e;
    }
    ListenAddress bound = config_.listen;
    bound.port = (*server)->port();
    context.logger().info(
        std::string("keda-scaler: serving externalscaler.ExternalScaler (gRPC") +
        (tls ? " over TLS" + std::string(tls->client_ca ? ", client certificates required" : "") : ", plaintext") +
        ") on " + bound.to_string() + " (port " + std::to_string(bound.port) + ")");
    server_ = std::move(*server);
    context_ = &context;
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("keda-scaler failed to start: ") + e.what(),
                           config_path_);
  }
}

void KedaScalerSink::stop() noexcept {
  std::unique_ptr<ScalerServer> server;
  sdk::PluginContext* context = nullptr;
  {
    std::lock_guard lock(mutex_);
    server = std::move(server_);
    context = context_;
    context_ = nullptr;
  }
  if (!server) return;
  try {
    const int streams = server->service().open_streams();
    server->stop();
    if (context)
      context->logger().info("keda-scaler: stopped" +
                             (streams ? "; ended " + std::to_string(streams) + " open stream(s)" : std::string()));
  } catch (...) {
    // stop() never throws
  }
}

sdk::Result<void> KedaScalerSink::publish(const sdk::PublishBatch& batch) {
  try {
    std::lock_guard lock(mutex_);
    if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "publish called before start", config_path_);
    const ApplyStats stats = store_.apply(batch);
    if (stats.skipped)
      context_->logger().warn("keda-scaler: pipeline " + batch.pipeline + ": " + std::to_string(stats.skipped) +
                              " decision(s) without a variant name or with negative replicas not served");
    if (stats.removed)
      context_->logger().info("keda-scaler: pipeline " + batch.pipeline + ": " + std::to_string(stats.removed) +
                              " variant(s) no longer decided; KEDA now gets NOT_FOUND for them");
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("keda-scaler failed: ") + e.what(), config_path_);
  }
}

std::optional<int> KedaScalerSink::bound_port() const {
  std::lock_guard lock(mutex_);
  if (!server_) return std::nullopt;
  return server_->port();
}

}  // namespace wva::plugins::keda
