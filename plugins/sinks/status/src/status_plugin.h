// The `status` sink: writes each touched VariantAutoscaling's .status (desired allocation, variants[],
// conditions) with one merge patch per VA, retrying on conflict.
#pragma once

#include <string>

#include "status_builder.h"
#include "wva/sdk/plugin.h"

namespace wva::plugins::status {

struct StatusConfig {
  int max_attempts = 3;  // patch attempts per VA when the API server answers 409 Conflict
};

// Parses the sink's config ({} or null = defaults). Errors carry `config_path` + the field.
sdk::Result<StatusConfig> parse_config(const sdk::Config& config, const std::string& config_path);

class StatusSink : public sdk::Plugin, public sdk::Sink {
 public:
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override;

 private:
  enum class Outcome { kWritten, kGone, kFailed };
  Outcome write_one(const VaUpdate& update, sdk::TimePoint now, sdk::Error& error);

  StatusConfig config_;
  std::string config_path_ = "sinks.status";
  sdk::PluginContext* context_ = nullptr;
};

}  // namespace wva::plugins::status
