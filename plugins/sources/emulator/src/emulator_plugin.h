// The `emulator` plugin: a Source (simulated vLLM fleet metrics) and a Sink (an HPA model that scales the
// fleet's Deployments). Two modes:
//  - fixed:   `fixedMetrics` / `fixedLoad` are reported verbatim; publish() does nothing.
//  - dynamic: `variants` + `workloads` describe a simulated fleet driven by traces or rate profiles;
//             collect() advances the simulated world to clock.now(); publish() runs the HPA model.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "fixed_mode.h"
#include "wva/sdk/plugin.h"

namespace wva::emulator {

class EmulatorPlugin : public sdk::Plugin, public sdk::Source, public sdk::Sink {
 public:
  EmulatorPlugin();
  ~EmulatorPlugin() override;

  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;

  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collect(std::span<const sdk::ModelView> models,
                                                                  sdk::Deadline deadline) override;
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override;

 private:
  FixedConfig fixed_;
  sdk::PluginContext* context_ = nullptr;
  std::string path_;
};

}  // namespace wva::emulator
