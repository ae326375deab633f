#include "threshold_plugin.h"

#include <cmath>

#include "wva/sdk/suggest.h"

namespace wva::threshold {

sdk::Result<Settings> parse_settings(const sdk::Config& config, const std::string& path) {
  Settings s;
  if (config.is_null()) return s;
  if (!config.is_object())
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "must be a map {signal, target}", path);
  const std::vector<std::string> keys = {"signal", "target"};
  for (const auto& [key, value] : config.items()) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    const auto best = sdk::closest_match(key, keys);
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           "unknown key" + (best ? " (did you mean \"" + *best + "\"?)" : std::string()),
                           path + "." + key);
  }
  if (config.contains("signal")) {
    const auto& v = config["signal"];
    const std::string name = v.is_string() ? v.get<std::string>() : "";
    if (name == "concurrency") s.signal = Signal::kConcurrency;
    else if (name == "waiting") s.signal = Signal::kWaiting;
    else if (name == "kvCache") s.signal = Signal::kKvCache;
    else
      return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "must be concurrency, waiting or kvCache, got " + v.dump(),
                             path + ".signal");
    if (s.signal == Signal::kKvCache) s.target = 0.8;
    if (s.signal == Signal::kWaiting) s.target = 5;
  }
  if (config.contains("target")) {
    const auto& v = config["target"];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0)
      return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "must be a number > 0, got " + v.dump(), path + ".target");
    s.target = v.get<double>();
    if (s.signal == Signal::kKvCache && s.target > 1)
      return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "a kvCache target is a fraction in (0, 1]",
                             path + ".target");
  }
  return s;
}

namespace {
const char* signal_name(Signal s) {
  switch (s) {
    case Signal::kConcurrency: return "running+waiting";
    case Signal::kWaiting: return "waiting";
    case Signal::kKvCache: return "KV-cache use";
  }
  return "?";
}
}  // namespace

sdk::Recommendation recommend(const Settings& settings, const sdk::ModelView& model) {
  sdk::Recommendation rec;
  std::string missing;
  for (const auto& v : model.variants) {
    double sum = 0;
    int pods = 0;
    for (const auto& r : model.metrics.replicas) {
      if (r.variant != v.name) continue;
      std::optional<double> x;
      switch (settings.signal) {
        case Signal::kConcurrency:
          if (r.running && r.waiting) x = *r.running + *r.waiting;
          break;
        case Signal::kWaiting: x = r.waiting; break;
        case Signal::kKvCache: x = r.kv_cache_usage; break;
      }
      if (!x) continue;
      sum += *x;
      ++pods;
    }
    if (pods == 0 && v.current_replicas > 0) {
      missing += (missing.empty() ? "" : ", ") + v.name;
      continue;
    }
    const int desired = static_cast<int>(std::ceil(sum / settings.target - 1e-9));
    rec.targets.push_back({v.name, desired,
                           "sum of " + std::string(signal_name(settings.signal)) + " " + std::to_string(sum) + " / " +
                               std::to_string(settings.target) + " per pod"});
  }
  if (!missing.empty()) {
    rec.has_opinion = false;
    rec.targets.clear();
    rec.reason = "no pod of " + missing + " reports " + signal_name(settings.signal);
    rec.conditions.push_back({"OptimizationReady", "False", "SignalMissing", rec.reason});
    return rec;
  }
  rec.reason = "threshold on " + std::string(signal_name(settings.signal));
  return rec;
}

sdk::Result<void> ThresholdAnalyzer::configure(const sdk::Config& config, const std::string& config_path) {
  auto s = parse_settings(config, config_path);
  if (!s.ok()) return s.error();
  settings_ = s.value();
  return sdk::ok();
}

sdk::Result<void> ThresholdAnalyzer::start(sdk::PluginContext&) { return sdk::ok(); }

sdk::Result<sdk::Recommendation> ThresholdAnalyzer::analyze(const sdk::ModelView& model, const sdk::Recommendation*) {
  return recommend(settings_, model);
}

}  // namespace wva::threshold
