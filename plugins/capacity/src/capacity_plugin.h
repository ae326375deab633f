// The capacity analyzer as a plugin object: settings from pipelines.yaml, per-model state (learned step
// models, forecast, the kept accelerator mix) behind a mutex, since the host may analyze models in
// parallel.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "policy.h"
#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::capacity {

class CapacityAnalyzer : public sdk::Plugin, public sdk::Analyzer {
 public:
  // `config` is validated (settings_schema()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return capacity::settings_schema(); }
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& model, const sdk::Recommendation* upstream) override;

  const Settings& settings() const { return settings_; }

 private:
  Settings settings_;
  Derived derived_ = derive(settings_);
  sdk::PluginContext* context_ = nullptr;
  std::mutex mutex_;
  std::map<sdk::ModelKey, ModelState> state_;
};

}  // namespace wva::capacity
