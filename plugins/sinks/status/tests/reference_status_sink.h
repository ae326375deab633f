// The status sink as it was before it wrote a VA at a time and kept digests instead of fingerprint text
// and updates: the reference of the equality tests (status_sink_equivalence_test.cpp).
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

namespace wva::plugins::status::reference {

// The former planner of one VA's update (status_builder.cpp's plan_update as it was).
VaUpdate reference_plan_update(const VaKey& key, const VaInputs& inputs);

class ReferenceStatusSink : public sdk::Plugin, public sdk::Sink {
 public:
  // `config` is validated (settings_schema()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return status::settings_schema(); }
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override;

 private:
  enum class Outcome { kWritten, kGone, kFailed };
  // The fingerprint of what an update was planned from (append_fingerprint's two parts, the reasons
  // hashed: the text itself is most of a fingerprint).
  struct Inputs {
    std::string but_reasons;
    std::uint64_t reasons = 0;
  };
  Outcome write_one(VaUpdate&& update, Inputs&& inputs, const std::string& pipeline, sdk::TimePoint now,
                    sdk::Error& error);
  // Forgets the settled VAs of `pipeline` that its full batch did not name, and the slots of VAs that
  // nothing settled (bounded by the VAs in play). Under settled_mutex_.
  void forget_unnamed(const std::string& pipeline);

  // A VA after the sink's last write: the object as the backend handed it out after the write (the same
  // snapshot when it stored nothing, the written one otherwise), the update written, and when. While the
  // backend hands out that very snapshot (no one else changed it):
  //  - after a write the backend stored nothing for (it keeps no lastRunTime-only change), the same update
  //    (same_status) would again change nothing: it is not sent;
  //  - when only the text of the variants' reasons differs (same_status_but_reasons), it is written once
  //    reasonRefresh has passed: an analyzer's figures change every cycle, and a PATCH per VA per cycle
  //    would load the API server with nothing an operator acts on.
  // Both are known from the fingerprints of the inputs before any update is built (publish()).
  struct Settled {
    sdk::ObjectSnapshot object;
    VaUpdate update;
    Inputs inputs;  // what `update` was planned from
    std::string pipeline;
    sdk::TimePoint written{};
    bool stored_nothing = false;
  };
  std::mutex settled_mutex_;                     // publish() of one instance may overlap an abandoned call of it
  VaGrouping grouping_;                          // the batch by VA, slots kept between cycles
  std::vector<std::optional<Settled>> settled_;  // by the VA's grouping id

  Settings config_;
  std::string config_path_ = "sinks.status";
  sdk::PluginContext* context_ = nullptr;
};

}  // namespace wva::plugins::status::reference
