#include "scale_to_zero_plugin.h"

#include <algorithm>
#include <vector>

#include "wva/sdk/context.h"

namespace wva::scale_to_zero {
namespace {

// Activity of a model not seen for this long is forgotten (the model left the pipeline).
constexpr std::chrono::hours kForgetAfter{24};

}  // namespace

sdk::Result<void> ScaleToZeroAnalyzer::configure(const sdk::Config& config, const std::string& config_path) {
  config_path_ = config_path;
  settings_ = read_settings(config);
  return sdk::ok();
}

sdk::Result<void> ScaleToZeroAnalyzer::start(sdk::PluginContext& context) {
  context_ = &context;
  return sdk::ok();
}

void ScaleToZeroAnalyzer::stop() noexcept {
  context_ = nullptr;
  config_.store(nullptr);
  last_data_.clear();
  have_data_ = false;
  logged_.clear();
  std::lock_guard lock(activity_mutex_);
  activity_.clear();
  last_seen_.clear();
}

sdk::Result<void> ScaleToZeroAnalyzer::prepare_cycle(std::span<const sdk::ModelView>) {
  if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "prepare_cycle() before start()", config_path_);
  const std::string ns = context_->cluster().system_namespace();
  const std::string where = "ConfigMap " + ns + "/" + settings_.config_map;
  std::set<std::string> messages;
  auto got = context_->cluster().get("ConfigMap", ns, settings_.config_map);
  if (!got.ok()) {
    messages.insert("cannot read " + where + " (" + got.error().to_string() + "); keeping the policy read before");
  } else if (!got.value().has_value()) {
    if (have_data_ || config_.load()) context_->logger().info(where + " is gone; scale to zero follows the settings");
    config_.store(nullptr);
    last_data_.clear();
    have_data_ = false;
  } else {
    auto data = sdk::config_map_data(*got.value());
    if (!have_data_ || data != last_data_) {
      auto parsed = std::make_shared<const ZeroConfig>(parse_zero_config(where, data));
      if (parsed->errors.empty() || !config_.load()) {
        // The first version is used even with rejected entries (they are left out); later a version with
        // any error keeps the last good one whole.
        config_.store(parsed);
      }
      last_data_ = std::move(data);
      have_data_ = true;
      for (const auto& e : parsed->errors)
        messages.insert(e.to_string() +
                        (config_.load() == parsed ? " (entry left out)" : " (keeping the last good " + where + ")"));
      for (const auto& w : parsed->warnings) context_->logger().info(w);
    } else {
      // Unchanged text: its errors are still there; keep reporting them (validate collects the reports).
      auto parsed = parse_zero_config(where, last_data_);
      for (const auto& e : parsed.errors) messages.insert(e.to_string());
    }
  }
  for (const auto& m : messages)
    if (logged_.insert(m).second) context_->report({sdk::Severity::kWarning, {}, m});
  for (auto it = logged_.begin(); it != logged_.end();) it = messages.count(*it) ? std::next(it) : logged_.erase(it);

  const sdk::TimePoint now = context_->clock().now();
  std::lock_guard lock(activity_mutex_);
  for (auto it = last_seen_.begin(); it != last_seen_.end();) {
    if (now - it->second > kForgetAfter) {
      activity_.erase(it->first);
      it = last_seen_.erase(it);
    } else {
      ++it;
    }
  }
  return sdk::ok();
}

ZeroPolicy ScaleToZeroAnalyzer::policy_for(const sdk::ModelKey& model) const {
  ZeroConfig base;
  base.source = "settings of " + config_path_;
  base.default_entry = PartialPolicy{settings_.enabled, settings_.retention};
  const auto config = config_.load();
  if (!config) return base.resolve(model);
  ZeroConfig merged = *config;
  // The ConfigMap's `default` layers over the plugin settings, field by field.
  PartialPolicy def{settings_.enabled, settings_.retention};
  if (config->default_entry) {
    if (config->default_entry->enabled) def.enabled = config->default_entry->enabled;
    if (config->default_entry->retention) def.retention = config->default_entry->retention;
  }
  merged.default_entry = def;
  return merged.resolve(model);
}

sdk::Result<sdk::Recommendation> ScaleToZeroAnalyzer::analyze(const sdk::ModelView& model,
                                                              const sdk::Recommendation* upstream) {
  if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "analyze() before start()", config_path_);
  const ZeroPolicy policy = policy_for(model.key);
  const sdk::TimePoint now = context_->clock().now();
  std::lock_guard lock(activity_mutex_);
  last_seen_[model.key] = now;
  return enforce(policy, model, upstream, activity_[model.key], now);
}

}  // namespace wva::scale_to_zero
