// The `keda-scaler` sink: keeps each variant's last desired replicas from every publish and serves them
// to KEDA as its external scaler (externalscaler.ExternalScaler over gRPC, optionally TLS).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "decision_store.h"
#include "scaler_service.h"
#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::plugins::keda {

class KedaScalerSink : public sdk::Plugin, public sdk::Sink {
 public:
  ~KedaScalerSink() override;
  // `config` is validated (settings_schema(), check_settings()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return keda::settings_schema(); }
  std::vector<sdk::Error> check_settings(const sdk::Config& settings, const std::string& config_path) const override {
    return keda::check_settings(settings, config_path);
  }
  // Reads the TLS files and binds the listener.
  sdk::Result<void> start(sdk::PluginContext& context) override;
  // Ends every open stream and shuts the server down (at most ~2 s for calls in flight).
  void stop() noexcept override;
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override;

  // The bound port; nullopt when not started.
  std::optional<int> bound_port() const;
  const DecisionStore& store() const { return store_; }

 private:
  ScalerConfig config_;
  std::string config_path_ = "sinks.keda-scaler";
  sdk::PluginContext* context_ = nullptr;
  DecisionStore store_;
  std::unique_ptr<ScalerServer> server_;
  mutable std::mutex mutex_;  // guards context_ and server_ against publish() during stop()
};

}  // namespace wva::plugins::keda
