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

sdk::Labels series_labels(const SeriesKey& k) {
  return {
      {"variant_name", k.variant}, {"namespace", k.ns}, {"accelerator_type", k.accelerator}, {"model_name", k.model}};
}

std::size_t SeriesKeyHash::operator()(const SeriesKey& k) const noexcept {
  const std::hash<std::string> h;
  std::size_t seed = h(k.variant);
  for (const std::string* part : {&k.ns, &k.accelerator, &k.model})
    seed ^= h(*part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
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
  const bool rewrite = batches_[batch.pipeline]++ % kRewriteEvery == 0;
  SeriesSet now;
  now.reserve(batch.decisions.size());
  for (const auto& d : batch.decisions) {
    if (d.variant.empty() || d.desired < 0) {
      ++stats.skipped;
      continue;
    }
    SeriesKey key{d.variant, d.model.ns, d.accelerator, d.model.model_id};
    const int current = d.current < 0 ? 0 : d.current;
    const Values values{static_cast<double>(d.desired), static_cast<double>(current),
                        desired_ratio(d.desired, current)};
    auto [written, fresh] = written_.try_emplace(key, values);
    if (fresh || rewrite || !(written->second == values)) {
      const sdk::Labels labels = series_labels(key);
      registry.set_gauge(kDesiredReplicas, kDesiredHelp, labels, values.desired);
      registry.set_gauge(kCurrentReplicas, kCurrentHelp, labels, values.current);
      registry.set_gauge(kDesiredRatio, kRatioHelp, labels, values.ratio);
      written->second = values;
    }
    if (now.insert(std::move(key)).second) ++stats.set;
  }

  auto& previous = by_pipeline_[batch.pipeline];
  if (batch.partial) {  // only some of the pipeline's models: the others are not gone
    previous.insert(now.begin(), now.end());
    return stats;
  }
  for (const auto& key : previous) {
    if (now.count(key)) continue;
    bool elsewhere = false;
    for (const auto& [pipeline, series] : by_pipeline_)
      if (pipeline != batch.pipeline && series.count(key)) elsewhere = true;
    if (elsewhere) continue;
    remove_series(registry, series_labels(key));
    written_.erase(key);
    ++stats.removed;
  }
  previous = std::move(now);
  return stats;
}

std::size_t RecommendationGauges::clear(sdk::MetricsRegistry& registry) {
  std::lock_guard lock(mutex_);
  SeriesSet all;
  for (const auto& [pipeline, series] : by_pipeline_) all.insert(series.begin(), series.end());
  for (const auto& key : all) remove_series(registry, series_labels(key));
  by_pipeline_.clear();
  batches_.clear();
  written_.clear();
  return all.size();
}

}  // namespace wva::plugins::metrics
