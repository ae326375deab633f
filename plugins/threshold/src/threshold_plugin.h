// The threshold analyzer: what KEDA's Prometheus scaler (or an HPA on a per-pod metric) does, as a
// baseline to compare policies with. Per variant: desired = ceil(sum over its pods of `signal` / target),
// where signal is running + waiting requests (concurrency), waiting requests, or KV-cache use.
#pragma once

#include <string>

#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::threshold {

// One model: a target per variant from its pods' signals; no opinion (with the reason) when a variant has
// no pod reporting the signal.
sdk::Recommendation recommend(const Settings& settings, const sdk::ModelView& model);

class ThresholdAnalyzer : public sdk::Plugin, public sdk::Analyzer {
 public:
  // `config` is validated (settings_schema(), check_settings()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override;
  std::vector<sdk::Error> check_settings(const sdk::Config& settings, const std::string& config_path) const override;
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override {}
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& model, const sdk::Recommendation* upstream) override;

 private:
  Settings settings_;
};

}  // namespace wva::threshold
