// A fixture plugin for the kit's own tests: source, analyzer and sink at once, with one config key.
#include <map>
#include <string>

#include "wva/sdk/export.h"

namespace {

class Fixture : public wva::sdk::Plugin, public wva::sdk::Source, public wva::sdk::Analyzer, public wva::sdk::Sink {
 public:
  wva::sdk::Result<void> configure(const wva::sdk::Config& config, const std::string& path) override {
    using wva::sdk::ErrorCode;
    using wva::sdk::make_error;
    if (!config.is_object()) return make_error(ErrorCode::kInvalidConfig, "must be an object", path);
    for (auto it = config.begin(); it != config.end(); ++it)
      if (it.key() != "target")
        return make_error(ErrorCode::kInvalidConfig, "unknown key '" + it.key() + "'", path + "." + it.key());
    auto t = config.find("target");
    if (t == config.end() || !t->is_number_integer() || t->get<long long>() <= 0)
      return make_error(ErrorCode::kInvalidConfig, "must be an integer > 0", path + ".target");
    target_ = t->get<int>();
    return wva::sdk::ok();
  }
  wva::sdk::Result<void> start(wva::sdk::PluginContext& context) override {
    context_ = &context;
    context.logger().info("fixture started as " + context.instance_name());
    return wva::sdk::ok();
  }
  void stop() noexcept override { context_ = nullptr; }

  wva::sdk::Result<std::map<wva::sdk::ModelKey, wva::sdk::ModelMetrics>> collect(
      std::span<const wva::sdk::ModelView> models, wva::sdk::Deadline) override {
    std::map<wva::sdk::ModelKey, wva::sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key].state = wva::sdk::MetricsState::kOk;
    return out;
  }
  wva::sdk::Result<wva::sdk::Recommendation> analyze(const wva::sdk::ModelView& model,
                                                     const wva::sdk::Recommendation*) override {
    wva::sdk::Recommendation r;
    r.analyzer = "conformance-fixture";
    for (const auto& v : model.variants) r.targets.push_back({v.name, target_, "fixed"});
    return r;
  }
  wva::sdk::Result<void> publish(const wva::sdk::PublishBatch& batch) override {
    if (context_) context_->logger().info("published " + std::to_string(batch.decisions.size()));
    return wva::sdk::ok();
  }

 private:
  int target_ = 1;
  wva::sdk::PluginContext* context_ = nullptr;
};

}  // namespace

WVA_PLUGIN(Fixture, "conformance-fixture", "0.0.1")
