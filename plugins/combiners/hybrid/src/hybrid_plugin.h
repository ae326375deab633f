// The hybrid combiner (`combine: hybrid`): per variant, the saturation analyzer's and the model-based
// analyzer's targets go through the arbitration matrix (arbitration.h).
#pragma once

#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::combiners::hybrid {

class HybridCombiner : public sdk::Plugin, public sdk::Combiner {
 public:
  std::optional<sdk::SettingsSchema> settings_schema() const override { return hybrid::settings_schema(); }
  std::vector<sdk::Error> check_settings(const sdk::Config& settings, const std::string& config_path) const override {
    return hybrid::check_settings(settings, config_path);
  }
  // `config` is validated (settings_schema(), check_settings()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  sdk::Result<void> start(sdk::PluginContext&) override { return sdk::ok(); }
  void stop() noexcept override {}

  // The chain must be exactly [saturation, model] as the settings name them: the model-based analyzer
  // reads the saturation analyzer's recommendation as its upstream.
  sdk::Result<void> check_chain(std::span<const std::string> analyzers, const std::string& pipeline_path) override;
  sdk::Result<sdk::Recommendation> combine(const sdk::ModelView& model, std::span<const sdk::ChainLink> chain) override;

  const Settings& settings() const { return settings_; }

 private:
  Settings settings_;
  std::string path_ = "combiners.hybrid";
};

}  // namespace wva::combiners::hybrid
