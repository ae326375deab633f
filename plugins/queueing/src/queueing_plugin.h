// The queueing analyzer as a plugin object, without the export glue (plugin.cpp), so tests can drive it
// with a fake context without loading the .so.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "analyzer.h"
#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::queueing {

class QueueingPlugin : public sdk::Plugin, public sdk::Analyzer {
 public:
  // `config` is validated (settings_schema()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return queueing::settings_schema(); }
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<void> prepare_cycle(std::span<const sdk::ModelView> models) override;
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& model, const sdk::Recommendation* upstream) override;

  const Snapshot& snapshot() const { return *snapshot_; }
  const Settings& settings() const { return settings_; }

 private:
  Snapshot read_config_maps(std::span<const sdk::ModelView> models);

  Settings settings_;
  std::string config_path_ = "analyzers.queueing";
  sdk::PluginContext* context_ = nullptr;
  std::shared_ptr<const Snapshot> snapshot_ = std::make_shared<Snapshot>();
};

}  // namespace wva::queueing
