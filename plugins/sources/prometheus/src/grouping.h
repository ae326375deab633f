// Turns the samples of one cycle's batched queries into ModelMetrics per model: groups them by
// (namespace, model, pod) for the per-pod signals and by (namespace, model, Deployment) for the load
// signals PromQL already summed per Deployment, maps pods and Deployments to variants, and tells "ok",
// "no data" and "stale" apart. It is the streaming parser's SampleHandler: series are routed as they
// are read, staged per query, and committed only when the whole response was valid.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
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
#include "route_index.h"
#include "settings.h"
#include "wva/sdk/types.h"
#include "wva/sdk/util/histogram.h"

namespace wva::prometheus {

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
// Distinct bucket bounds (`le` values) one cycle keeps for the bucket signals, all histograms together
// (vLLM: 18 prompt-length bounds, 20 of the time per output token, sharing +Inf); a series with a bound
// beyond them is invalid data.
inline constexpr std::size_t kMaxBucketBounds = 256;

// A histogram bucket's upper bound from its `le` label as Prometheus writes it ("+Inf", "1000.0", "1e+06"),
// or nullopt when it is not one (empty, not a number, NaN, -Inf).
std::optional<double> bucket_bound(std::string_view le);

// Why a finite value is outside the domain of its signal ("outside [0, 1]", "negative", "above 1e+09"),
// or nullopt when it is valid. Such values are invalid data: absent, counted, named in the message.
std::optional<std::string> domain_violation(Signal signal, double value);

// Sums of the load signals over a set of pods and Deployments; a signal no series had is absent.
struct LoadSums {
  std::array<double, kSignalCount> sum{};
  std::bitset<kSignalCount> present;

  void add(const std::array<double, kSignalCount>& v, const std::bitset<kSignalCount>& p) {
    for (std::size_t k = static_cast<std::size_t>(Signal::kCompletions); k < kSignalCount; ++k) {
      if (!p[k]) continue;
      sum[k] += v[k];
      present.set(k);
    }
  }
  std::optional<double> get(Signal s) const {
    return present[static_cast<std::size_t>(s)] ? std::optional<double>(sum[static_cast<std::size_t>(s)])
                                                : std::nullopt;
  }
  std::optional<double> ratio(Signal num, Signal den, double scale) const {
    auto n = get(num);
    auto d = get(den);
    if (!n || !d || *d <= 0) return std::nullopt;
    const double r = *n / *d * scale;
    return std::isfinite(r) ? std::optional<double>(r) : std::nullopt;
  }

  sdk::Load to_load() const {
    sdk::Load load;
    if (auto a = get(Signal::kArrivals)) {
      load.arrival_rate = std::max(0.0, *a);
    } else if (auto c = get(Signal::kCompletions)) {
      // Completions under-count arrivals under overload; the queue's growth is the difference.
      load.arrival_rate = std::max(0.0, *c + get(Signal::kQueueGrowth).value_or(0.0));
    }
    load.avg_input_tokens = ratio(Signal::kPromptTokensSum, Signal::kPromptTokensCount, 1.0);
    load.avg_output_tokens = ratio(Signal::kGenerationTokensSum, Signal::kGenerationTokensCount, 1.0);
    load.ttft_ms = ratio(Signal::kTtftSum, Signal::kTtftCount, 1000.0);
    load.itl_ms = ratio(Signal::kItlSum, Signal::kItlCount, 1000.0);
    // Served tokens/s (the completed requests' tokens), from the same queries: the capacity analyzer's
    // throughput observation.
    load.prompt_tokens_rate = get(Signal::kPromptTokensSum);
    load.generation_tokens_rate = get(Signal::kGenerationTokensSum);
    return load;
  }
};

// The grouper's storage splits in two. What routes a series (the route index: names, pods, variants) is
// kept across cycles while the views stay. What one cycle read (per-pod and per-Deployment values, the
// staged samples of a query, capacity series, pods the host did not list) is laid out by reset() and
// given back by finish(): between cycles the grouper holds the route index only.
class Grouper : public SampleHandler {
 public:
  Grouper(std::span<const sdk::ModelView> models, LabelNames labels, Millis stale_after);

  // Starts the next cycle with `models` (the same views or changed ones): what the last cycle grouped is
  // dropped, the route index is kept (rebuilt only when the views changed).
  void reset(std::span<const sdk::ModelView> models);
  // Changes whenever the routing names of the views change (see RouteIndex::generation()).
  std::uint64_t route_generation() const { return route_.generation(); }

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

  // Builds the metrics of every model given to the constructor or the last reset(), then gives back the
  // cycle's storage (capacities() is empty after it, stats() stays; a second call without reset() finds
  // nothing read).
  std::map<sdk::ModelKey, sdk::ModelMetrics> finish(sdk::TimePoint collected_at);

  const GroupStats& stats() const { return stats_; }
  // The evaluation time of this cycle's committed answers (seconds); absent before the first sample.
  std::optional<double> eval_time() const { return eval_time_ > 0 ? std::optional<double>(eval_time_) : std::nullopt; }

  // KV capacity series (vllm:cache_config_info, per namespace and pod) as committed so far, for the
  // capacity cache; the views are valid until the next call that changes the grouper.
  std::vector<CapacityCache::Read> capacities() const;
  // A capacity read in an earlier cycle, matched to the pods in finish() like a series of this one.
  void add_capacity(std::string_view ns, std::string_view pod, double tokens);
  // Every capacity of `cache`, matched as add_capacity() would in its order, before the series of this
  // cycle; read in finish(), not copied: the cache must stay unchanged until then. Cleared by reset().
  void use_capacities(const CapacityCache& cache) { cached_capacity_ = &cache; }

  // Bytes the grouper holds now (its vectors' capacities and the route index): what it keeps between
  // cycles after finish().
  std::size_t allocated_bytes() const;

 private:
  using Mask = std::uint32_t;  // one bit per signal
  static_assert(kSignalCount <= 32);
  static constexpr Mask bit(std::size_t k) { return Mask{1} << k; }
  static std::bitset<kSignalCount> bits(Mask m) { return std::bitset<kSignalCount>(m); }

  // The signals of the per-pod group (kKvCacheUsage .. kKvCapacity): a pod slot holds these, load signals
  // a pod reports itself (custom templates) go to pod_load_.
  static constexpr std::size_t kPodSignals = static_cast<std::size_t>(Signal::kKvCapacity) + 1;
  static constexpr std::uint32_t kNoLoad = UINT32_MAX;
  // A pod's values this cycle. Slots [0, route_.pods()) are the pods the host listed, in the route
  // index's order; pods the host did not list follow (unlisted_). A slot is a replica of this cycle once
  // a sample reached it (seen != 0).
  struct PodValues {
    std::array<double, kPodSignals> value{};  // meaningful where `present` is set
    Mask present = 0;                         // a finite value arrived
    Mask seen = 0;                            // any value arrived (NaN included)
    std::uint32_t load = kNoLoad;             // index into pod_load_
  };
  struct DeploymentValues {                    // a Deployment's load series this cycle
    std::array<double, kSignalCount> value{};  // meaningful where `present` is set
    Mask present = 0;
    Mask seen = 0;
  };
  // One bucket of a Deployment's histogram (the series of a bucket signal, kBucketSignals). Each histogram
  // of a Deployment is a list in one pool shared by all (bucket_pool_), its head in that histogram's
  // bucket_head_: no allocation per Deployment, and a list as short as one histogram's bounds.
  static constexpr std::uint32_t kNoBucket = UINT32_MAX;
  static constexpr std::size_t kHistograms = kBucketSignals.size();
  struct BucketEntry {               // 16 bytes
    std::uint32_t next = kNoBucket;  // the next bucket of the Deployment's histogram in bucket_pool_
    std::uint16_t bound = 0;         // index into bounds_
    double count = 0;                // cumulative count (a rate of them), summed over the series
  };
  // Staged::bound of a bucket series whose `le` is missing or no bound, and of one beyond kMaxBucketBounds.
  static constexpr std::uint16_t kBadBound = UINT16_MAX;
  static constexpr std::uint16_t kTooManyBounds = UINT16_MAX - 1;
  static_assert(kMaxBucketBounds < kTooManyBounds);
  struct UnlistedPod {  // a pod the host did not list, seen this cycle
    std::uint32_t model = 0;
    std::int32_t variant = -1;                     // index into the model's variants, -1: none
    std::uint32_t name_offset = 0, name_size = 0;  // into unlisted_names_
  };
  enum class Target : std::uint8_t { kPod, kVariant, kModel };
  struct Staged {             // one routed sample of the query being read (16 bytes)
    std::uint32_t index = 0;  // pod slot, global variant index or model index
    std::uint8_t signal = 0;  // a Signal
    Target target = Target::kPod;
    std::uint16_t bound = 0;  // a bucket signal's: index into bounds_, or kBadBound / kTooManyBounds
    double value = 0;
  };
  static_assert(sizeof(Staged) == 16 && sizeof(BucketEntry) == 16);
  struct Capacity {  // a vllm:cache_config_info series, matched to pods in finish()
    std::uint32_t ns_offset = 0, ns_size = 0, pod_offset = 0, pod_size = 0;  // into capacity_names_
    bool has_labels = false;
    double tokens = 0;
  };
  struct ModelState {  // per cycle
    std::size_t unmapped_deployments = 0;
    std::size_t invalid = 0;                    // samples outside their domain
    std::vector<std::string> invalid_examples;  // the first few, "kvCacheUsage -5 on pod p (outside [0, 1])"
    std::vector<std::uint32_t> unlisted;        // slots of pods the host did not list, in arrival order
    std::optional<double> router_queue;         // model-level: summed over the routers that report it
  };
  // The labels of a series that route it, found in one pass over its labels.
  struct Routing {
    const std::string_view* signal = nullptr;
    const std::string_view* ns = nullptr;
    const std::string_view* model = nullptr;
    const std::string_view* pod = nullptr;
    const std::string_view* deployment = nullptr;
  };

  Routing routing_labels(const SampleView& s) const;
  std::uint32_t unlisted_slot(std::uint32_t model, std::string_view pod);
  void forget_unlisted_from(std::size_t slot);
  std::uint32_t pod_model(std::uint32_t slot) const {
    return slot < route_.pods() ? route_.pod(slot).model : unlisted_[slot - route_.pods()].model;
  }
  std::int32_t pod_variant(std::uint32_t slot) const {
    return slot < route_.pods() ? route_.pod(slot).variant : unlisted_[slot - route_.pods()].variant;
  }
  std::string_view pod_name(std::uint32_t slot) const {
    if (slot < route_.pods()) return route_.pod_name(slot);
    const UnlistedPod& u = unlisted_[slot - route_.pods()];
    return std::string_view(unlisted_names_.data() + u.name_offset, u.name_size);
  }
  std::size_t slots() const { return pod_values_.size(); }
  // A sample of this cycle reached the pod: it is one of the cycle's replicas.
  bool replica(std::uint32_t slot) const { return pod_values_[slot].seen != 0; }
  void store(std::uint32_t slot, Signal signal, double value);
  void store_variant(std::uint32_t global_variant, Signal signal, double value);
  void store_model_level(std::uint32_t model, Signal signal, double value);
  // A bucket signal's series routed to a pod or a Deployment (Target::kPod / kVariant): checked, then
  // added to the Deployment's (a pod's: its variant's) list of that histogram.
  void store_bucket(const Staged& st);
  void add_bucket(std::size_t histogram, std::uint32_t global_variant, std::uint16_t bound, double count);
  // The index in bounds_ of a series' `le` (kBadBound, kTooManyBounds), added when new.
  std::uint16_t bound_index(const std::string_view* le);
  // A variant's buckets of one histogram (an index into kBucketSignals), as the SDK's histogram, in the
  // order of its list (into `out`, cleared first).
  void variant_buckets(std::size_t histogram, std::uint32_t global_variant,
                       std::vector<sdk::HistogramBucket>& out) const;
  // Keeps a value in its slot; a finite value outside its signal's domain is counted and left out, and
  // its reason returned for note_invalid().
  std::optional<std::string> keep_value(Mask& present, Mask& seen, double& stored, Signal signal, double value);
  void note_invalid(std::uint32_t model, Signal signal, double value, std::string_view kind, std::string_view name,
                    const std::string& why);
  void match_capacity(std::string_view ns, std::string_view pod, double tokens, std::uint32_t& guess,
                      const std::unordered_multimap<std::string_view, std::uint32_t>& unlisted);
  void match_capacities();
  void lay_out_cycle();
  void release_cycle();

  std::span<const sdk::ModelView> models_;
  LabelNames labels_;
  Millis stale_after_;
  RouteIndex route_;
  std::vector<std::uint32_t> next_model_;    // per model: the model whose series followed its own last time
  std::uint64_t next_model_generation_ = 0;  // route generation next_model_ was laid out for

  // This cycle's storage (reset() .. finish()).
  std::vector<ModelState> state_;
  std::vector<PodValues> pod_values_;                       // per slot
  std::vector<DeploymentValues> variant_values_;            // per-Deployment load series, by global variant
  std::vector<std::array<double, kSignalCount>> pod_load_;  // per-pod load values
  std::vector<BucketEntry> bucket_pool_;                    // every Deployment's buckets of every histogram
  // Per histogram (kBucketSignals), by global variant: the list's first entry; laid out at its first bucket.
  std::array<std::vector<std::uint32_t>, kHistograms> bucket_head_;
  std::vector<double> bounds_;         // the distinct `le` bounds of this cycle, all histograms together
  std::size_t bucket_reserve_ = 0;     // bucket_pool_'s size last cycle: its first allocation
  std::vector<UnlistedPod> unlisted_;  // slots route_.pods() and up
  std::string unlisted_names_;
  FlatIndex unlisted_index_;                      // (model, pod) -> slot, unlisted pods
  std::uint32_t last_model_ = RouteIndex::kNone;  // of the last routed series
  std::optional<Signal> last_signal_;             // of the last tagged series
  std::vector<Capacity> capacity_;
  std::string capacity_names_;
  const CapacityCache* cached_capacity_ = nullptr;
  double eval_time_ = 0;  // newest evaluation timestamp seen, seconds
  GroupStats stats_;

  // The query being read (begin .. commit / rollback).
  std::optional<Signal> single_;
  std::vector<Staged> staged_;
  std::size_t staged_reserve_ = 0;  // the largest query of the last cycle: staged_'s first allocation
  std::size_t staged_peak_ = 0;     // the largest query of this cycle
  std::size_t slots_mark_ = 0, capacity_mark_ = 0, capacity_names_mark_ = 0, bounds_mark_ = 0;
  std::size_t staged_samples_ = 0, staged_ignored_ = 0, staged_unmapped_deployments_ = 0;
  std::vector<std::uint32_t> staged_unmapped_models_;
  double staged_eval_time_ = 0;
};

}  // namespace wva::prometheus
