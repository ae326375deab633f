// The `status` sink: writes each touched VariantAutoscaling's .status (desired allocation, variants[],
// conditions) with one merge patch per VA, retrying on conflict.
#pragma once

#include <map>
#include <mutex>
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
  Outcome write_one(const VaUpdate& update, const std::string& pipeline, sdk::TimePoint now, sdk::Error& error);
  // Forgets the settled VAs of `pipeline` that its full batch no longer names (bounded by the VAs in play).
  void forget_settled(const std::string& pipeline, const std::vector<VaUpdate>& updates);

  // A VA after the sink's last write: the object as the backend handed it out after the write (the same
  // snapshot when it stored nothing, the written one otherwise), the update written, and when. While the
  // backend hands out that very snapshot (no one else changed it):
  //  - after a write the backend stored nothing for (it keeps no lastRunTime-only change), the same update
  //    (same_status) would again change nothing: it is neither built nor sent;
  //  - when only the text of the variants' reasons differs (same_status_but_reasons), it is written once
  //    reasonRefresh has passed: an analyzer's figures change every cycle, and a PATCH per VA per cycle
  //    would load the API server with nothing an operator acts on.
  struct Settled {
    sdk::ObjectSnapshot object;
    VaUpdate update;
    std::string pipeline;
    sdk::TimePoint written{};
    bool stored_nothing = false;
  };
  std::mutex settled_mutex_;  // publish() of one instance may overlap an abandoned call of it
  std::map<VaKey, Settled> settled_;

  Settings config_;
  std::string config_path_ = "sinks.status";
  sdk::PluginContext* context_ = nullptr;
};

}  // namespace wva::plugins::status
