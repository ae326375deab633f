// waiting-target: an example WVA analyzer written against the installed SDK.
//
// For each variant of a model:  desired = max(minReplicas, ceil(total waiting / targetWaitingPerReplica))
// where "total waiting" is the sum of the waiting-queue length of the variant's pods, as the source
// reported it. The result is capped at maxReplicas when the variant has one. A variant whose pods
// reported no waiting value gets no target (no opinion): missing data is never read as 0.
//
// Config (pipelines.yaml, under analyzers.<instance>):
//   targetWaitingPerReplica: <number > 0>   (default 10)
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>

#include "wva/sdk/export.h"
#include "wva/sdk/sdk.h"

namespace {

using wva::sdk::ErrorCode;
using wva::sdk::make_error;

class WaitingTarget : public wva::sdk::Plugin, public wva::sdk::Analyzer {
 public:
  // Validates the config; no I/O here. Every error names its path in pipelines.yaml.
  wva::sdk::Result<void> configure(const wva::sdk::Config& config, const std::string& path) override {
    if (config.is_null()) return wva::sdk::ok();  // all defaults
    if (!config.is_object())
      return make_error(ErrorCode::kInvalidConfig, "must be a mapping (targetWaitingPerReplica: <n>)", path);
    for (auto it = config.begin(); it != config.end(); ++it) {
      const std::string key_path = path + "." + it.key();
      if (it.key() != "targetWaitingPerReplica")
        return make_error(ErrorCode::kInvalidConfig,
                          "unknown key \"" + it.key() + "\" (known: targetWaitingPerReplica)", key_path);
      if (!it->is_number() || !(it->get<double>() > 0) || !std::isfinite(it->get<double>()))
        return make_error(ErrorCode::kInvalidConfig, "must be a number > 0, got " + it->dump(), key_path);
      target_ = it->get<double>();
    }
    return wva::sdk::ok();
  }

  wva::sdk::Result<void> start(wva::sdk::PluginContext& context) override {
    context.logger().info("waiting-target '" + context.instance_name() + "': " + format(target_) +
                          " waiting requests per replica");
    return wva::sdk::ok();
  }

  void stop() noexcept override {}

  // Pure with respect to the model: called concurrently for different models.
  wva::sdk::Result<wva::sdk::Recommendation> analyze(const wva::sdk::ModelView& model,
                                                     const wva::sdk::Recommendation* /*upstream*/) override {
    wva::sdk::Recommendation rec;
    rec.analyzer = "waiting-target";
    if (model.metrics.state != wva::sdk::MetricsState::kOk) {
      rec.has_opinion = false;
      rec.reason = std::string("no metrics (") + wva::sdk::to_string(model.metrics.state) + ")";
      return rec;
    }
    std::map<std::string, double> waiting;  // variant -> sum over its pods that reported a value
    for (const auto& replica : model.metrics.replicas)
      if (replica.waiting) waiting[replica.variant] += *replica.waiting;

    for (const auto& variant : model.variants) {
      auto it = waiting.find(variant.name);
      if (it == waiting.end()) continue;  // no data for this variant: no opinion on it
      const double total = it->second;
      int desired = static_cast<int>(std::ceil(total / target_));
      desired = std::max(desired, variant.min_replicas);
      if (variant.max_replicas) desired = std::min(desired, *variant.max_replicas);
      rec.targets.push_back(
          {variant.name, desired, std::string("waiting ") + format(total) + " / " + format(target_) + " per replica"});
    }
    if (rec.targets.empty()) {
      rec.has_opinion = false;
      rec.reason = "no waiting metric for any variant";
    } else {
      rec.reason = std::string("desired = ceil(waiting / ") + format(target_) + ")";
    }
    return rec;
  }

 private:
  static std::string format(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  double target_ = 10;
};

}  // namespace

// Writes the C descriptor (ABI version, toolchain fingerprint) and the create/destroy entry points.
WVA_PLUGIN(WaitingTarget, "waiting-target", "1.0.0")
