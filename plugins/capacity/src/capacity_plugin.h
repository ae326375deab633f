// The capacity analyzer as a plugin object: settings from pipelines.yaml, per-model state (learned step
// models, forecast, the kept accelerator mix) behind a mutex, since the host may analyze models in
// parallel.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "policy.h"
#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::capacity {

struct ModelKeyHash {
  std::size_t operator()(const sdk::ModelKey& k) const noexcept {
    const std::size_t h = std::hash<std::string>{}(k.ns);
    return h ^ (std::hash<std::string>{}(k.model_id) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};

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
  std::unordered_map<sdk::ModelKey, ModelState, ModelKeyHash> state_;  // looked up once per model and cycle
};

}  // namespace wva::capacity
