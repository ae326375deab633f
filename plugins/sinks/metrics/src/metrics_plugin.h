// The `metrics` sink: sets the recommendation gauges in the host's registry on every publish and serves
// the registry (which also holds the controller's own health metrics) on /metrics.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http_exporter.h"
#include "recommendation_gauges.h"
#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::plugins::metrics {

class MetricsSink : public sdk::Plugin, public sdk::Sink {
 public:
  // `config` is validated (settings_schema(), check_settings()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return metrics::settings_schema(); }
  std::vector<sdk::Error> check_settings(const sdk::Config& settings, const std::string& config_path) const override {
    return metrics::check_settings(settings, config_path);
  }
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override;

  // The port the HTTP server is bound to; nullopt when it is disabled or not started.
  std::optional<int> bound_port() const;

 private:
  MetricsConfig config_;
  std::string config_path_ = "sinks.metrics";
  sdk::PluginContext* context_ = nullptr;
  std::unique_ptr<HttpExporter> exporter_;
  RecommendationGauges gauges_;
  mutable std::mutex mutex_;  // guards context_ and exporter_ against publish() during stop()
};

}  // namespace wva::plugins::metrics
