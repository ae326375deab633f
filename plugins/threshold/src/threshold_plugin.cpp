#include "threshold_plugin.h"

#include <cmath>

namespace wva::threshold {

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

sdk::Result<void> ThresholdAnalyzer::configure(const sdk::Config& config, const std::string&) {
  settings_ = read_settings(config);
  return sdk::ok();
}

std::optional<sdk::SettingsSchema> ThresholdAnalyzer::settings_schema() const { return threshold::settings_schema(); }

std::vector<sdk::Error> ThresholdAnalyzer::check_settings(const sdk::Config& settings,
                                                          const std::string& config_path) const {
  return threshold::check_settings(settings, config_path);
}

sdk::Result<void> ThresholdAnalyzer::start(sdk::PluginContext&) { return sdk::ok(); }

sdk::Result<sdk::Recommendation> ThresholdAnalyzer::analyze(const sdk::ModelView& model, const sdk::Recommendation*) {
  return recommend(settings_, model);
}

}  // namespace wva::threshold
