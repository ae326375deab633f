#include "recommendation_gauges.h"

namespace wva::plugins::metrics {
namespace {

constexpr const char* kDesiredHelp = "Desired replicas WVA recommends for the variant (Deployment)";
constexpr const char* kCurrentHelp = "Current replicas of the variant (Deployment) as WVA observed them";
constexpr const char* kRatioHelp =
    "Desired replicas divided by current replicas of the variant (the desired value when current is 0)";

}  // namespace

double desired_ratio(int desired, int current) {
  if (current <= 0) return static_cast<double>(desired);
  return static_cast<double>(desired) / static_cast<double>(current);
}

sdk::Labels series_labels(const sdk::Decision& d) {
  return {{"variant_name", d.variant},
          {"namespace", d.model.ns},
          {"accelerator_type", d.accelerator},
          {"model_name", d.model.model_id}};
}

void RecommendationGauges::remove_series(sdk::MetricsRegistry& registry, const sdk::Labels& labels) {
  registry.remove(kDesiredReplicas, labels);
  registry.remove(kCurrentReplicas, labels);
  registry.remove(kDesiredRatio, labels);
}

GaugeStats RecommendationGauges::publish(sdk::MetricsRegistry& registry, const sdk::PublishBatch& batch) {
  // One lock for the whole batch: a series one pipeline sets is never removed by another's concurrent batch.
  std::lock_guard lock(mutex_);
  GaugeStats stats;
  std::set<sdk::Labels> now;
  for (const auto& d : batch.decisions) {
    if (d.variant.empty() || d.desired < 0) {
      ++stats.skipped;
      continue;
    }
    sdk::Labels labels = series_labels(d);
    const int current = d.current < 0 ? 0 : d.current;
    registry.set_gauge(kDesiredReplicas, kDesiredHelp, labels, static_cast<double>(d.desired));
    registry.set_gauge(kCurrentReplicas, kCurrentHelp, labels, static_cast<double>(current));
    registry.set_gauge(kDesiredRatio, kRatioHelp, labels, desired_ratio(d.desired, current));
    if (now.insert(std::move(labels)).second) ++stats.set;
  }

  auto& previous = by_pipeline_[batch.pipeline];
  if (batch.partial) {  // only some of the pipeline's models: the others are not gone
    previous.insert(now.begin(), now.end());
    return stats;
  }
  for (const auto& labels : previous) {
    if (now.count(labels)) continue;
    bool elsewhere = false;
    for (const auto& [pipeline, series] : by_pipeline_)
      if (pipeline != batch.pipeline && series.count(labels)) elsewhere = true;
    if (elsewhere) continue;
    remove_series(registry, labels);
    ++stats.removed;
  }
  previous = std::move(now);
  return stats;
}

std::size_t RecommendationGauges::clear(sdk::MetricsRegistry& registry) {
  std::lock_guard lock(mutex_);
  std::set<sdk::Labels> all;
  for (const auto& [pipeline, series] : by_pipeline_) all.insert(series.begin(), series.end());
  for (const auto& labels : all) remove_series(registry, labels);
  by_pipeline_.clear();
  return all.size();
}

}  // namespace wva::plugins::metrics
