// The `status` sink: writes each touched VariantAutoscaling's .status (desired allocation, variants[],
// conditions) with one merge patch per VA, retrying on conflict.
#pragma once

#include <string>

#include "settings.h"
#include "status_builder.h"
#include "wva/sdk/plugin.h"

namespace wva::plugins::status {

class StatusSink : public sdk::Plugin, public sdk::Sink {
 public:
  // `config` is validated (settings_schema()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return status::settings_schema(); }
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override;

 private:
  enum class Outcome { kWritten, kGone, kFailed };
  Outcome write_one(const VaUpdate& update, sdk::TimePoint now, sdk::Error& error);

  Settings config_;
  std::string config_path_ = "sinks.status";
  sdk::PluginContext* context_ = nullptr;
};

}  // namespace wva::plugins::status
