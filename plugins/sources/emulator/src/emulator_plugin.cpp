#include "emulator_plugin.h"

#include <exception>

namespace wva::emulator {

namespace {

sdk::Error internal(const std::string& where, const std::exception& e) {
  return sdk::make_error(sdk::ErrorCode::kInternal, "emulator " + where + ": " + e.what());
}

}  // namespace

EmulatorPlugin::EmulatorPlugin() = default;
EmulatorPlugin::~EmulatorPlugin() = default;

sdk::Result<void> EmulatorPlugin::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    ConfigErrors errors;
    const sdk::Config& cfg = config.is_null() ? sdk::Config::object() : config;
    if (!cfg.is_object()) {
      errors.add(config_path, "must be a map");
      return errors.to_error();
    }
    check_keys(cfg, {"fixedMetrics", "fixedLoad"}, config_path, errors);
    FixedConfig fixed;
    parse_fixed(cfg, config_path, fixed, errors);
    if (!errors.empty()) return errors.to_error();
    fixed_ = std::move(fixed);
    path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return internal("configure", e);
  }
}

sdk::Result<void> EmulatorPlugin::start(sdk::PluginContext& context) {
  context_ = &context;
  return sdk::ok();
}

void EmulatorPlugin::stop() noexcept { context_ = nullptr; }

sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> EmulatorPlugin::collect(
    std::span<const sdk::ModelView> models, sdk::Deadline /*deadline*/) {
  if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "emulator: collect() before start()");
  try {
    const sdk::TimePoint now = context_->clock().now();
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& model : models) out[model.key] = fixed_metrics_for(fixed_, model, now);
    return out;
  } catch (const std::exception& e) {
    return internal("collect", e);
  }
}

sdk::Result<void> EmulatorPlugin::publish(const sdk::PublishBatch& /*batch*/) {
  if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "emulator: publish() before start()");
  return sdk::ok();
}

}  // namespace wva::emulator
