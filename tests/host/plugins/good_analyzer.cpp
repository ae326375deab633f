// A well-formed analyzer: desired = current + `add` (config). Used to check loading works.
#include "wva/sdk/export.h"

namespace {

class GoodAnalyzer : public wva::sdk::Plugin, public wva::sdk::Analyzer {
 public:
  wva::sdk::Result<void> configure(const wva::sdk::Config& config, const std::string& path) override {
    if (config.contains("add") && !config["add"].is_number_integer())
      return wva::sdk::make_error(wva::sdk::ErrorCode::kInvalidConfig, "must be an integer", path + ".add");
    add_ = config.value("add", 0);
    return wva::sdk::ok();
  }
  wva::sdk::Result<void> start(wva::sdk::PluginContext&) override { return wva::sdk::ok(); }
  void stop() noexcept override {}
  wva::sdk::Result<wva::sdk::Recommendation> analyze(const wva::sdk::ModelView& model,
                                                     const wva::sdk::Recommendation*) override {
    wva::sdk::Recommendation rec;
    for (const auto& v : model.variants) rec.targets.push_back({v.name, v.current_replicas + add_, "good"});
    return rec;
  }

 private:
  int add_ = 0;
};

}  // namespace

WVA_PLUGIN(GoodAnalyzer, "test-good-analyzer", "1.0.0")
