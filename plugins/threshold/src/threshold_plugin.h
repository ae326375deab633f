// The threshold analyzer: what KEDA's Prometheus scaler (or an HPA on a per-pod metric) does, as a
// baseline to compare policies with. Per variant: desired = ceil(sum over its pods of `signal` / target),
// where signal is running + waiting requests (concurrency), waiting requests, or KV-cache use.
#pragma once

#include <string>

#include "wva/sdk/plugin.h"

namespace wva::threshold {

enum class Signal { kConcurrency, kWaiting, kKvCache };

struct Settings {
  Signal signal = Signal::kConcurrency;
  double target = 64;  // per pod: requests (concurrency, waiting) or a fraction (kvCache)
};

sdk::Result<Settings> parse_settings(const sdk::Config& config, const std::string& path);

// One model: a target per variant from its pods' signals; no opinion (with the reason) when a variant has
// no pod reporting the signal.
sdk::Recommendation recommend(const Settings& settings, const sdk::ModelView& model);

class ThresholdAnalyzer : public sdk::Plugin, public sdk::Analyzer {
 public:
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override {}
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& model, const sdk::Recommendation* upstream) override;

 private:
  Settings settings_;
};

}  // namespace wva::threshold
