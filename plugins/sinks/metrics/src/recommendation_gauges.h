// The recommendation gauges HPA / KEDA read: inferno_desired_replicas, inferno_current_replicas,
// inferno_desired_ratio, one series per variant with a decision, removed when the variant disappears.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "wva/sdk/context.h"
#include "wva/sdk/plugin.h"

namespace wva::plugins::metrics {

inline constexpr const char* kDesiredReplicas = "inferno_desired_replicas";
inline constexpr const char* kCurrentReplicas = "inferno_current_replicas";
inline constexpr const char* kDesiredRatio = "inferno_desired_ratio";

// desired / current; when current is 0 the ratio is undefined and `desired` is reported instead (as
// upstream does): 0 -> 0 stays 0, 0 -> n reads as "n times more", which makes a ratio-based consumer
// scale up from zero.
double desired_ratio(int desired, int current);

// {variant_name: Deployment, namespace, accelerator_type, model_name}.
sdk::Labels series_labels(const sdk::Decision& d);

struct GaugeStats {
  std::size_t set = 0;      // variants whose three gauges were set
  std::size_t removed = 0;  // variants whose series were removed
  std::size_t skipped = 0;  // decisions not emitted (no variant name, negative replicas)
};

// One variant's series: the values of series_labels().
struct SeriesKey {
  std::string variant;
  std::string ns;
  std::string accelerator;
  std::string model;
  friend bool operator==(const SeriesKey&, const SeriesKey&) = default;
};
// A decision's series looked up where its strings are (no key built for a series already known).
struct SeriesKeyRef {
  std::string_view variant, ns, accelerator, model;
};
struct SeriesKeyHash {
  using is_transparent = void;
  std::size_t operator()(const SeriesKey& k) const noexcept;
  std::size_t operator()(const SeriesKeyRef& k) const noexcept;
};
struct SeriesKeyEqual {
  using is_transparent = void;
  bool operator()(const SeriesKey& a, const SeriesKey& b) const noexcept { return a == b; }
  bool operator()(const SeriesKeyRef& a, const SeriesKey& b) const noexcept {
    return a.variant == b.variant && a.ns == b.ns && a.accelerator == b.accelerator && a.model == b.model;
  }
  bool operator()(const SeriesKey& a, const SeriesKeyRef& b) const noexcept { return (*this)(b, a); }
};
sdk::Labels series_labels(const SeriesKey& k);
// A series named by the address of its key where it is stored once (RecommendationGauges::written_).
struct SeriesKeyPtrHash {
  using is_transparent = void;
  std::size_t operator()(const SeriesKey* k) const noexcept { return SeriesKeyHash{}(*k); }
  std::size_t operator()(const SeriesKeyRef& k) const noexcept { return SeriesKeyHash{}(k); }
};
struct SeriesKeyPtrEqual {
  using is_transparent = void;
  bool operator()(const SeriesKey* a, const SeriesKey* b) const noexcept { return *a == *b; }
  bool operator()(const SeriesKeyRef& a, const SeriesKey* b) const noexcept { return SeriesKeyEqual{}(a, *b); }
  bool operator()(const SeriesKey* a, const SeriesKeyRef& b) const noexcept { return SeriesKeyEqual{}(b, *a); }
};

// Thread-safe: pipelines may publish concurrently through one sink instance.
// Incremental: a series is written to the registry only when its value differs from what this object
// last wrote there (the registry keeps values between writes, and these series are this sink's alone),
// so a steady fleet costs a lookup per variant and cycle, not three registry updates. Every
// kRewriteEvery-th batch of a pipeline writes all its series again: one removed behind this object's back
// (a replaced, hung sink instance that stops only when its call returns clears the same series) is back
// within that many cycles.
class RecommendationGauges {
 public:
  static constexpr std::size_t kRewriteEvery = 5;

  // Sets the gauges of every decision in the batch; removes the series of variants that were in this
  // pipeline's previous batch but not in this one, unless another pipeline's last batch still has them.
  GaugeStats publish(sdk::MetricsRegistry& registry, const sdk::PublishBatch& batch);
  // Removes every series this object set (the sink's stop()).
  std::size_t clear(sdk::MetricsRegistry& registry);

 private:
  struct Values {
    double desired = 0;
    double current = 0;
    double ratio = 0;
    friend bool operator==(const Values&, const Values&) = default;
  };
  // A pipeline's series, each with the number of the last batch that had it and its entry in written_
  // (nodes stay put; erased only with every pipeline's entry): kept across batches, so a steady fleet
  // neither builds a set of its series nor allocates a key per decision, and looks each up once a cycle.
  // Keyed by the address of the series' key in written_: a series' strings are stored once.
  struct Stamp {
    std::size_t batch = 0;
    Values* written = nullptr;
  };
  using SeriesStamps = std::unordered_map<const SeriesKey*, Stamp, SeriesKeyPtrHash, SeriesKeyPtrEqual>;
  static void remove_series(sdk::MetricsRegistry& registry, const sdk::Labels& labels);

  std::mutex mutex_;
  std::map<std::string, SeriesStamps> by_pipeline_;  // pipeline -> series it set (last full batch + partials since)
  std::map<std::string, std::size_t> batches_;       // pipeline -> batches published
  // Last written per series: the one copy of each series' key (by_pipeline_ points at it).
  std::unordered_map<SeriesKey, Values, SeriesKeyHash, SeriesKeyEqual> written_;
};

}  // namespace wva::plugins::metrics
