// The grouper as it was before the route index (src/grouping.cpp), kept as the reference the current one
// must agree with (grouping_equivalence_test.cpp): the same metrics, messages and counts for the same series.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capacity_cache.h"
#include "promql.h"
#include "response_parser.h"
#include "settings.h"
#include "wva/sdk/types.h"

namespace wva::prometheus::reference {

// The FAQ's texts: conditions and logs carry them verbatim.
inline constexpr const char* kFailedToGetMetrics = "Failed to get metrics from Prometheus";
// The reason this source gives its failures (sdk::Error::reason): MetricsAvailable's reason on the VAs.
inline constexpr const char* kPrometheusError = "PrometheusError";
inline constexpr const char* kNoPodsFound = "No pods found for model";

struct GroupStats {
  std::size_t samples = 0;                          // samples routed to a known model
  std::size_t ignored = 0;                          // unknown model / signal, or missing labels
  std::size_t non_finite = 0;                       // NaN or +-Inf values (treated as absent)
  std::array<std::size_t, kSignalCount> invalid{};  // per signal: finite values outside its domain (absent)
  std::size_t unmapped_pods = 0;                    // pods of a known model that belong to none of its variants
  std::size_t unmapped_deployments = 0;             // Deployment series of a known model matching no variant
};

// Largest count (waiting/running requests) or rate a signal may carry; more is a broken exporter.
inline constexpr double kMaxPlausibleCount = 1e9;
inline constexpr double kMaxPlausibleRate = 1e12;

// Why a finite value is outside the domain of its signal ("outside [0, 1]", "negative", "above 1e+09"),
// or nullopt when it is valid. Such values are invalid data: absent, counted, named in the message.
std::optional<std::string> domain_violation(Signal signal, double value);

class ReferenceGrouper : public SampleHandler {
 public:
  ReferenceGrouper(std::span<const sdk::ModelView> models, LabelNames labels, Millis stale_after);

  // One query's series: begin(), then the parser calls on_sample() for each, then commit() when the
  // response was valid and successful, rollback() otherwise (nothing of it is kept). `single` is the
  // signal of an untagged (unbatched) query; otherwise each sample names its signal in wva_signal.
  void begin(std::optional<Signal> single = std::nullopt);
  void on_sample(const SampleView& sample) override;
  void restart() override { rollback(); }  // a retried transfer: its series come again
  void commit();
  void rollback();

  // Routes the samples of an already parsed response (begin + on_sample for each + commit).
  void add(const QueryResponse& response, std::optional<Signal> single = std::nullopt);

  // Builds the metrics of every model given to the constructor.
  std::map<sdk::ModelKey, sdk::ModelMetrics> finish(sdk::TimePoint collected_at);

  const GroupStats& stats() const { return stats_; }

  // KV capacity series (vllm:cache_config_info, per namespace and pod) as committed so far, for the
  // capacity cache; the views are valid until the next call that changes the grouper.
  std::vector<CapacityCache::Read> capacities() const;
  // A capacity read in an earlier cycle, matched to the pods in finish() like a series of this one.
  void add_capacity(std::string_view ns, std::string_view pod, double tokens);

 private:
  struct Values {
    std::array<double, kSignalCount> value{};
    std::bitset<kSignalCount> present;  // a finite value arrived
    std::bitset<kSignalCount> seen;     // any value arrived (NaN included)
  };
  struct Pod : Values {
    std::uint32_t model = 0;
    std::int32_t variant = -1;  // index into the model's variants, -1: none
    std::string_view name;      // into a ModelView or owned_names_: both outlive finish()
  };
  enum class Target : std::uint8_t { kPod, kVariant, kModel };
  struct Staged {             // one routed sample of the query being read
    std::uint32_t index = 0;  // pod slot, global variant index or model index
    Signal signal = Signal::kKvCacheUsage;
    Target target = Target::kPod;
    double value = 0;
    // A bucket signal's: the series' bucket bound, or why it has none ("" when it has one).
    double bound = 0;
    std::string bad_bound;
  };
  struct Capacity {  // a vllm:cache_config_info series, matched to pods in finish()
    std::size_t ns_offset = 0, ns_size = 0, pod_offset = 0, pod_size = 0;  // into capacity_names_
    bool has_labels = false;
    double tokens = 0;
  };
  struct ModelState {
    std::vector<std::uint32_t> slots;                               // pods seen, in arrival order
    std::unordered_map<std::string_view, std::uint32_t> by_name;    // used once a model has many pods
    std::unordered_map<std::string_view, std::int32_t> variant_of;  // pod -> variant, for many pods
    bool variant_index_built = false;
    std::unordered_map<std::string_view, std::int32_t> deployment_of;  // host pods' Deployment identity
    bool deployment_index_built = false;
    std::size_t unmapped_deployments = 0;
    std::size_t invalid = 0;                    // samples outside their domain
    std::vector<std::string> invalid_examples;  // the first few, "kvCacheUsage -5 on pod p (outside [0, 1])"
    std::optional<double> router_queue;         // model-level: summed over the routers that report it
  };
  static constexpr std::size_t kLinearScan = 32;  // below this many pods a scan beats hashing

  std::uint32_t pod_slot(std::uint32_t model, std::string_view pod);
  // The variant of a pod, and the host's own copy of its name when the host listed it.
  std::int32_t variant_of(std::uint32_t model, std::string_view pod, std::string_view* host_name);
  std::int32_t variant_of_deployment(std::uint32_t model, std::string_view deployment);
  std::int32_t variant_by_prefix(std::uint32_t model, std::string_view name) const;
  void store(std::uint32_t slot, Signal signal, double value);
  void store_variant(std::uint32_t global_variant, Signal signal, double value);
  void store_model_level(std::uint32_t model, Signal signal, double value);
  void store_bucket(const Staged& st);
  void note_invalid(std::uint32_t model, Signal signal, double value, std::string_view kind, std::string_view name,
                    const std::string& why);
  bool keep_value(Values& v, std::uint32_t model, Signal signal, double value, std::string_view kind,
                  std::string_view name);

  std::span<const sdk::ModelView> models_;
  LabelNames labels_;
  Millis stale_after_;
  std::unordered_map<std::string, std::uint32_t> model_index_;  // ns \x1f model_id
  std::vector<ModelState> state_;
  std::vector<std::uint32_t> variant_base_;  // model -> index of its first variant in variants_
  std::vector<Values> variants_;             // per-Deployment load series, by global variant index
  // Per bucket signal (kBucketSignals) and global variant: bound -> summed count; the distinct bounds of
  // this cycle, all histograms together.
  std::array<std::vector<std::map<double, double>>, kBucketSignals.size()> buckets_;
  std::vector<double> bounds_;
  std::vector<Pod> pods_;
  std::deque<std::string> owned_names_;  // pod names the host did not list
  std::vector<Capacity> capacity_;
  std::string capacity_names_;
  double eval_time_ = 0;  // newest evaluation timestamp seen, seconds
  std::string key_;       // reused lookup buffer
  GroupStats stats_;

  // The query being read (begin .. commit / rollback).
  std::optional<Signal> single_;
  std::vector<Staged> staged_;
  std::size_t pods_mark_ = 0, capacity_mark_ = 0, capacity_names_mark_ = 0, bounds_mark_ = 0;
  std::size_t staged_samples_ = 0, staged_ignored_ = 0, staged_unmapped_deployments_ = 0;
  std::vector<std::uint32_t> staged_unmapped_models_;
  double staged_eval_time_ = 0;
};

}  // namespace wva::prometheus::reference
