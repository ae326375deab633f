#include "saturation_plugin.h"

#include <exception>
#include <utility>
#include <vector>

namespace wva::saturation {

ResolvedThresholds ConfigSnapshot::thresholds_for(const sdk::ModelKey& model) const {
  if (auto it = resolved.find(model); it != resolved.end()) return it->second;
  const ParsedConfigMap* loc = nullptr;
  if (auto it = local.find(model.ns); it != local.end()) loc = it->second.get();
  return resolve_thresholds(model, global.get(), loc);
}

sdk::Result<void> SaturationAnalyzer::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    options_ = read_settings(config);
    config_path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("configure failed: ") + e.what(), config_path);
  } catch (...) {
    return sdk::make_error(sdk::ErrorCode::kInternal, "configure failed", config_path);
  }
}

sdk::Result<void> SaturationAnalyzer::start(sdk::PluginContext& context) {
  try {
    context_ = &context;
    instance_ = context.instance_name().empty() ? "saturation" : context.instance_name();
    context.logger().info("saturation analyzer " + instance_ + ": mode " + to_string(options_.mode) +
                          ", thresholds from ConfigMap " + options_.config_map);
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("start failed: ") + e.what(), config_path_);
  } catch (...) {
    return sdk::make_error(sdk::ErrorCode::kInternal, "start failed", config_path_);
  }
}

void SaturationAnalyzer::stop() noexcept {
  context_ = nullptr;
  snapshot_.store(nullptr);
  cache_.clear();
  logged_.clear();
}

std::shared_ptr<const ParsedConfigMap> SaturationAnalyzer::read_config_map(
    const std::string& ns, std::shared_ptr<const ParsedConfigMap> previous, std::set<std::string>& messages) {
  auto got = context_->cluster().get("ConfigMap", ns, options_.config_map);
  if (!got) {
    messages.insert("warn:cannot read ConfigMap " + ns + "/" + options_.config_map + " (" + got.error().to_string() +
                    "); keeping the thresholds read before");
    return previous;
  }
  if (!got->has_value()) {
    cache_.erase(ns);
    return nullptr;
  }
  auto data = sdk::config_map_data(**got);
  auto it = cache_.find(ns);
  if (it == cache_.end() || it->second.data != data) {
    // The previous parse supplies the last good value of each entry that is invalid now.
    const ParsedConfigMap* last = it != cache_.end() ? it->second.parsed.get() : previous.get();
    auto parsed = std::make_shared<const ParsedConfigMap>(parse_config_map(ns, options_.config_map, data, last));
    it = cache_.insert_or_assign(ns, CachedMap{std::move(data), std::move(parsed)}).first;
  }
  for (const auto& e : it->second.parsed->errors) messages.insert("warn:" + e.to_string() + " (entry rejected)");
  for (const auto& w : it->second.parsed->warnings)
    messages.insert((w.find("keeping its last good value") != std::string::npos ? "warn:" : "info:") + w);
  return it->second.parsed;
}

sdk::Result<void> SaturationAnalyzer::prepare_cycle(std::span<const sdk::ModelView> models) {
  try {
    if (!context_) return sdk::make_error(sdk::ErrorCode::kInternal, "prepare_cycle() before start()", config_path_);
    const auto previous = snapshot_.load();
    auto next = std::make_shared<ConfigSnapshot>();
    std::set<std::string> messages;
    const std::string system_ns = context_->cluster().system_namespace();
    next->global = read_config_map(system_ns, previous ? previous->global : nullptr, messages);
    if (options_.namespace_config_maps) {
      std::set<std::string> namespaces;
      for (const auto& m : models)
        if (m.key.ns != system_ns) namespaces.insert(m.key.ns);
      for (const auto& ns : namespaces) {
        std::shared_ptr<const ParsedConfigMap> before;
        if (previous)
          if (auto it = previous->local.find(ns); it != previous->local.end()) before = it->second;
        if (auto parsed = read_config_map(ns, before, messages)) next->local.emplace(ns, std::move(parsed));
      }
      // Forget namespaces that have no model any more.
      for (auto it = cache_.begin(); it != cache_.end();)
        it = (it->first != system_ns && !namespaces.count(it->first)) ? cache_.erase(it) : std::next(it);
    }
    for (const auto& m : models) {
      const ParsedConfigMap* loc = nullptr;
      if (auto it = next->local.find(m.key.ns); it != next->local.end()) loc = it->second.get();
      auto resolved = resolve_thresholds(m.key, next->global.get(), loc);
      for (const auto& w : resolved.warnings) messages.insert("warn:" + w);
      next->resolved.insert_or_assign(m.key, std::move(resolved));
    }
    // Each problem is logged when it appears, not every cycle.
    for (const auto& m : messages) {
      if (logged_.count(m)) continue;
      const auto colon = m.find(':');
      const std::string level = m.substr(0, colon), text = m.substr(colon + 1);
      if (level == "warn") context_->report({sdk::Severity::kWarning, {}, text});
      else context_->logger().info(text);
    }
    logged_ = std::move(messages);
    snapshot_.store(std::move(next));
    return sdk::ok();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, std::string("prepare_cycle failed: ") + e.what(), config_path_);
  } catch (...) {
    return sdk::make_error(sdk::ErrorCode::kInternal, "prepare_cycle failed", config_path_);
  }
}

sdk::Result<sdk::Recommendation> SaturationAnalyzer::analyze(const sdk::ModelView& model,
                                                             const sdk::Recommendation* /*upstream*/) {
  try {
    const auto snap = snapshot_.load();
    const ResolvedThresholds th =
        snap ? snap->thresholds_for(model.key) : resolve_thresholds(model.key, nullptr, nullptr);
    sdk::Recommendation rec = analyze_model(model, th.values, options_, instance_).recommendation;
    if (!th.kept.empty()) {
      // Reaches the VA's status.variants[].reason: the thresholds in force are not what the ConfigMap says now.
      std::string note = "; thresholds: ";
      for (std::size_t i = 0; i < th.kept.size(); ++i) note += (i ? ", " : "") + th.kept[i];
      note += " invalid, last good value kept";
      rec.reason += note;
      for (auto& t : rec.targets) t.reason += note;
    }
    return rec;
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, "analyze " + model.key.to_string() + " failed: " + e.what(),
                           config_path_);
  } catch (...) {
    return sdk::make_error(sdk::ErrorCode::kInternal, "analyze " + model.key.to_string() + " failed", config_path_);
  }
}

}  // namespace wva::saturation
