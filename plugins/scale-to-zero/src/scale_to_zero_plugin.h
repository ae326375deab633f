// The scale-to-zero analyzer as a plugin: settings from pipelines.yaml, the policy ConfigMap read once per
// cycle (an invalid version keeps the last good one), and per-model activity kept across cycles.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>

#include "enforcer.h"
#include "settings.h"
#include "wva/sdk/plugin.h"
#include "zero_config.h"

namespace wva::scale_to_zero {

class ScaleToZeroAnalyzer : public sdk::Plugin, public sdk::Analyzer {
 public:
  // `config` is validated (settings_schema()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return scale_to_zero::settings_schema(); }
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<void> prepare_cycle(std::span<const sdk::ModelView> models) override;
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& model, const sdk::Recommendation* upstream) override;

  // The policy in force for a model (for tests and reasons).
  ZeroPolicy policy_for(const sdk::ModelKey& model) const;

 private:
  Settings settings_;
  std::string config_path_ = "analyzers.scale-to-zero";
  sdk::PluginContext* context_ = nullptr;
  // The config analyze() reads: the last good parse (null: no ConfigMap). Replaced by prepare_cycle().
  std::atomic<std::shared_ptr<const ZeroConfig>> config_;
  // Touched only by prepare_cycle(), which the host calls alone.
  std::map<std::string, std::string> last_data_;
  bool have_data_ = false;
  std::set<std::string> logged_;
  // Per model, across cycles; analyze() runs concurrently for different models.
  mutable std::mutex activity_mutex_;
  std::map<sdk::ModelKey, Activity> activity_;
  std::map<sdk::ModelKey, sdk::TimePoint> last_seen_;
};

}  // namespace wva::scale_to_zero
