// The `emulator` plugin: a Source (simulated vLLM fleet metrics) and a Sink (the HPA model's input).
// Modes, chosen by the config:
//  - fixed (`fixedMetrics` / `fixedLoad`): reported verbatim; publish() does nothing.
//  - dynamic (`variants`, `workloads`, ...): a simulated fleet; collect() advances it to clock.now() and
//    reports per-pod metrics and per-variant load; an HPA model inside it scales the Deployments
//    (ctx.cluster().scale) from the desired replicas the sink receives.
//  - actuator (`{}` or only `hpa`): a sink that hands decisions to the fleet.
// The sink writes each decision's desired replicas to the Deployment's status (`wvaDesiredReplicas`),
// where the dynamic source reads it at its next collect: so the source and the sink may be one
// instance or two (the host makes one per section). When they are one, the value is also set directly.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "fixed_mode.h"
#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::emulator {

// Field of Deployment.status where the emulator sink leaves WVA's desired replicas for the HPA model.
inline constexpr const char* kDesiredStatusField = "wvaDesiredReplicas";

class EmulatorPlugin : public sdk::Plugin, public sdk::Source, public sdk::Sink {
 public:
  EmulatorPlugin();
  ~EmulatorPlugin() override;

  std::optional<sdk::SettingsSchema> settings_schema() const override { return emulator::settings_schema(); }
  std::vector<sdk::Error> check_settings(const sdk::Config& settings, const std::string& config_path) const override {
    return emulator::check_settings(settings, config_path);
  }
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;

  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collect(std::span<const sdk::ModelView> models,
                                                                  sdk::Deadline deadline) override;
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override;

  // For tests and the report: the simulated world (dynamic mode, after start()).
  const World* world() const { return world_.get(); }
  // Advances the world to the clock's now (collect() does this too).
  void advance();

 private:
  double world_time(sdk::TimePoint t) const;
  void sync_from_cluster();
  void patch_deployment_status();
  void write_report() noexcept;

  FixedConfig fixed_;
  bool fixed_mode_ = false;
  std::optional<DynamicConfig> dynamic_;
  std::unique_ptr<World> world_;
  sdk::PluginContext* context_ = nullptr;
  sdk::TimePoint epoch_{};
  std::string path_;
  std::mutex mutex_;
};

}  // namespace wva::emulator
