#include "capacity_plugin.h"

#include <chrono>
#include <exception>

namespace wva::capacity {

sdk::Result<void> CapacityAnalyzer::configure(const sdk::Config& config, const std::string&) {
  settings_ = read_settings(config);
  derived_ = derive(settings_);
  return sdk::ok();
}

sdk::Result<void> CapacityAnalyzer::start(sdk::PluginContext& context) {
  context_ = &context;
  return sdk::ok();
}

void CapacityAnalyzer::stop() noexcept {
  std::lock_guard lock(mutex_);
  context_ = nullptr;
  state_.clear();
}

sdk::Result<sdk::Recommendation> CapacityAnalyzer::analyze(const sdk::ModelView& model, const sdk::Recommendation*) {
  try {
    std::lock_guard lock(mutex_);
    if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "capacity: analyze() before start()");
    const double now = std::chrono::duration<double>(context_->clock().now().time_since_epoch()).count();
    return decide(settings_, derived_, model, state_[model.key], now);
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("capacity: ") + e.what());
  }
}

}  // namespace wva::capacity
