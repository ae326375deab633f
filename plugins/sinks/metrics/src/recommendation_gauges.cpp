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

std::size_t SeriesKeyHash::operator()(const SeriesKeyRef& k) const noexcept {
  const std::hash<std::string_view> h;  // equal to std::hash<std::string> of the same characters
  std::size_t seed = h(k.variant);
  for (std::string_view part : {k.ns, k.accelerator, k.model})
    seed ^= h(part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}

std::size_t SeriesKeyHash::operator()(const SeriesKey& k) const noexcept {
  return (*this)(SeriesKeyRef{k.variant, k.ns, k.accelerator, k.model});
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
  const std::size_t number = ++batches_[batch.pipeline];  // this batch's stamp
  const bool rewrite = (number - 1) % kRewriteEvery == 0;
  auto& mine = by_pipeline_[batch.pipeline];
  for (const auto& d : batch.decisions) {
    if (d.variant.empty() || d.desired < 0) {
      ++stats.skipped;
      continue;
    }
    const SeriesKeyRef ref{d.variant, d.model.ns, d.accelerator, d.model.model_id};
    const int current = d.current < 0 ? 0 : d.current;
    const Values values{static_cast<double>(d.desired), static_cast<double>(current),
                        desired_ratio(d.desired, current)};
    bool fresh = false;
    auto stamp = mine.find(ref);
    if (stamp == mine.end()) {  // new to this pipeline: another one may have written the series
      auto written = written_.find(ref);
      fresh = written == written_.end();
      if (fresh)
        written = written_.emplace(SeriesKey{d.variant, d.model.ns, d.accelerator, d.model.model_id}, values).first;
      stamp = mine.emplace(&written->first, Stamp{0, &written->second}).first;
    }
    const SeriesKey& key = *stamp->first;
    Values& last = *stamp->second.written;
    if (fresh || rewrite || !(last == values)) {
      const sdk::Labels labels = series_labels(key);
      registry.set_gauge(kDesiredReplicas, kDesiredHelp, labels, values.desired);
      registry.set_gauge(kCurrentReplicas, kCurrentHelp, labels, values.current);
      registry.set_gauge(kDesiredRatio, kRatioHelp, labels, values.ratio);
      last = values;
    }
    if (stamp->second.batch != number) ++stats.set;  // each series once, however many decisions name it
    stamp->second.batch = number;
  }

  if (batch.partial) return stats;  // only some of the pipeline's models: the others are not gone
  // Series of the pipeline's earlier batches that this full one does not have are gone, unless another
  // pipeline's last batch still has them.
  for (auto it = mine.begin(); it != mine.end();) {
    if (it->second.batch == number) {
      ++it;
      continue;
    }
    const SeriesKey* key = it->first;
    bool elsewhere = false;
    for (const auto& [pipeline, series] : by_pipeline_)
      if (pipeline != batch.pipeline && series.count(key)) elsewhere = true;
    it = mine.erase(it);  // before its key goes: erasing hashes the key it points at
    if (!elsewhere) {
      remove_series(registry, series_labels(*key));
      written_.erase(written_.find(*key));
      ++stats.removed;
    }
  }
  return stats;
}

std::size_t RecommendationGauges::clear(sdk::MetricsRegistry& registry) {
  std::lock_guard lock(mutex_);
  std::unordered_set<const SeriesKey*> all;  // each series once (keys are stored once, in written_)
  for (const auto& [pipeline, series] : by_pipeline_)
    for (const auto& [key, stamp] : series) all.insert(key);
  for (const SeriesKey* key : all) remove_series(registry, series_labels(*key));
  by_pipeline_.clear();
  batches_.clear();
  written_.clear();
  return all.size();
}

}  // namespace wva::plugins::metrics
