// The `status` sink: writes each touched VariantAutoscaling's .status (desired allocation, variants[],
// conditions) with one merge patch per VA, retrying on conflict.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "settings.h"
#include "status_builder.h"
#include "va_grouping.h"
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
  // The fingerprint of what an update was planned from (append_fingerprint's two parts), as digests: a VA
  // keeps 24 bytes instead of the text (digest.h gives the odds of a collision).
  struct InputsDigest {
    Digest128 but_reasons;
    std::uint64_t reasons = 0;
  };
  // Writes one VA's update (re-reading on conflict). Under settled_mutex_.
  Outcome write_one(const VaUpdate& update, const InputsDigest& inputs, const std::string& pipeline, sdk::TimePoint now,
                    sdk::Error& error);
  // Forgets the settled VAs of `pipeline` that its full batch did not name, and the slots of VAs that
  // nothing settled (bounded by the VAs in play). Under settled_mutex_.
  void forget_unnamed(const std::string& pipeline);

  // A VA after the sink's last write: the version of the object the backend held after the write
  // (ClusterView::object_version: the same as before it when it stored nothing, the written one's
  // otherwise), the digests of the update written and of its inputs, and when. No object is held (at
  // 10,000 VAs their JSON was about 70 MB on the local backend, which keeps its VAs packed). While the
  // backend answers that very version (no one else changed the object, nor deleted and re-created it):
  //  - after a write the backend stored nothing for (it keeps no lastRunTime-only change), the same update
  //    (same_status) would again change nothing: it is not sent;
  //  - when only the text of the variants' reasons differs (same_status_but_reasons), it is written once
  //    reasonRefresh has passed: an analyzer's figures change every cycle, and a PATCH per VA per cycle
  //    would load the API server with nothing an operator acts on.
  // Both are known from the digests of the inputs before any update is built (publish()). No update is
  // kept: its digest says what same_status and same_status_but_reasons would.
  struct Settled {
    std::string version;           // object_version after the write
    StatusDigest update;           // of the update written
    bool update_problems = false;  // whether it had problems (its inputs are then never skipped)
    InputsDigest inputs;           // what it was planned from
    std::string pipeline;
    sdk::TimePoint written{};
    bool stored_nothing = false;
  };
  // Held for a whole publish(): the host calls an instance once at a time and not again while an abandoned
  // call of it runs; should calls overlap all the same, the later waits rather than regroup the batch under
  // the earlier one's writes.
  std::mutex settled_mutex_;
  VaGrouping grouping_;                          // the batch by VA, slots kept between cycles
  std::vector<std::optional<Settled>> settled_;  // by the VA's grouping id

  Settings config_;
  std::string config_path_ = "sinks.status";
  sdk::PluginContext* context_ = nullptr;
};

}  // namespace wva::plugins::status
