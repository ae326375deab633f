// Loads fine, then throws from analyze(): the host must contain it and hold the last decisions.
#include <stdexcept>

#include "wva/sdk/export.h"

namespace {

class ThrowingAnalyzer : public wva::sdk::Plugin, public wva::sdk::Analyzer {
 public:
  wva::sdk::Result<void> configure(const wva::sdk::Config&, const std::string&) override { return wva::sdk::ok(); }
  wva::sdk::Result<void> start(wva::sdk::PluginContext&) override { return wva::sdk::ok(); }
  void stop() noexcept override {}
  wva::sdk::Result<wva::sdk::Recommendation> analyze(const wva::sdk::ModelView&,
                                                     const wva::sdk::Recommendation*) override {
    throw std::logic_error("analyzer bug");
  }
};

}  // namespace

WVA_PLUGIN(ThrowingAnalyzer, "test-throwing-analyzer", "1.0.0")
