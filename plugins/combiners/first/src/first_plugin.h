// The `first` combiner (`combine: first`): per variant, the first analyzer in the chain with an opinion on it wins.
#pragma once

#include "wva/sdk/plugin.h"

namespace wva::combiners::first {

// Plain logic, testable without the plugin: the chain's targets per variant, each with the analyzer
// whose number it is and its reason (the target's, else its recommendation's summary).
sdk::Recommendation combine_chain(const sdk::ModelView& model, std::span<const sdk::ChainLink> chain);

// No settings: the empty schema makes the host refuse any key.
class FirstCombiner : public sdk::Plugin, public sdk::Combiner {
 public:
  std::optional<sdk::SettingsSchema> settings_schema() const override {
    return sdk::SettingsSchema{"The first combiner takes no settings.", {}};
  }
  sdk::Result<void> configure(const sdk::Config&, const std::string&) override { return sdk::ok(); }
  sdk::Result<void> start(sdk::PluginContext&) override { return sdk::ok(); }
  void stop() noexcept override {}
  sdk::Result<sdk::Recommendation> combine(const sdk::ModelView& model,
                                           std::span<const sdk::ChainLink> chain) override {
    return combine_chain(model, chain);
  }
};

}  // namespace wva::combiners::first
