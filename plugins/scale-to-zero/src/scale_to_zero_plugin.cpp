#include "scale_to_zero_plugin.h"

#include <algorithm>
#include <vector>

#include "wva/sdk/context.h"
#include "wva/sdk/duration.h"
#include "wva/sdk/suggest.h"

namespace wva::scale_to_zero {
namespace {

// Activity of a model not seen for this long is forgotten (the model left the pipeline).
constexpr std::chrono::hours kForgetAfter{24};

}  // namespace

sdk::Result<Settings> parse_settings(const sdk::Config& config, const std::string& path) {
  Settings s;
  if (config.is_null()) return s;
  if (!config.is_object())
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "must be a map {configMap, enabled, retention}", path);
  const std::vector<std::string> keys = {"configMap", "enabled", "retention"};
  std::vector<std::string> errors;
  for (const auto& [key, value] : config.items()) {
    const std::string p = path + "." + key;
    if (key == "configMap") {
      if (!value.is_string() || value.get<std::string>().empty() || value.get<std::string>().size() > 253)
        errors.push_back(p + ": must be a ConfigMap name (a non-empty string of at most 253 characters)");
      else s.config_map = value.get<std::string>();
    } else if (key == "enabled") {
      if (!value.is_boolean()) errors.push_back(p + ": must be true or false, got " + value.dump());
      else s.enabled = value.get<bool>();
    } else if (key == "retention") {
      auto d = value.is_string() ? sdk::parse_duration(value.get<std::string>())
                                 : sdk::Result<std::chrono::milliseconds>(sdk::make_error(
                                       sdk::ErrorCode::kInvalidConfig, "must be a duration such as 10m"));
      if (!d.ok()) errors.push_back(p + ": " + d.error().message);
      else if (d.value().count() <= 0 || d.value() > kMaxRetention)
        errors.push_back(p + ": must be greater than 0 and at most 168h");
      else s.retention = d.value();
    } else {
      errors.push_back(p + ": unknown setting \"" + key + "\"" + sdk::did_you_mean(key, keys));
    }
  }
  if (errors.size() == 1) {
    const auto colon = errors[0].find(": ");
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, errors[0].substr(colon + 2), errors[0].substr(0, colon));
  }
  if (!errors.empty()) {
    std::string all = std::to_string(errors.size()) + " errors: ";
    for (std::size_t i = 0; i < errors.size(); ++i) all += (i ? "; " : "") + errors[i];
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, all, path);
  }
  return s;
}

sdk::Result<void> ScaleToZeroAnalyzer::configure(const sdk::Config& config, const std::string& config_path) {
  config_path_ = config_path;
  auto s = parse_settings(config, config_path);
  if (!s.ok()) return s.error();
  settings_ = s.value();
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
      // Unchanged text: its errors are still there; keep reporting them (validate reads the warnings).
      auto parsed = parse_zero_config(where, last_data_);
      for (const auto& e : parsed.errors) messages.insert(e.to_string());
    }
  }
  for (const auto& m : messages)
    if (logged_.insert(m).second) context_->logger().warn(m);
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
