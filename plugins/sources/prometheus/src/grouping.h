// Turns the samples of one cycle's batched queries into ModelMetrics per model: groups them by
// (namespace, model, pod), maps pods to variants, and tells "ok", "no data" and "stale" apart.
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

#include "config.h"
#include "promql.h"
#include "response_parser.h"
#include "wva/sdk/types.h"

namespace wva::prometheus {

// The FAQ's texts: conditions and logs carry them verbatim.
inline constexpr const char* kFailedToGetMetrics = "Failed to get metrics from Prometheus";
inline constexpr const char* kNoPodsFound = "No pods found for model";

struct GroupStats {
  std::size_t samples = 0;                          // samples routed to a known model
  std::size_t ignored = 0;                          // unknown model / signal, or missing labels
  std::size_t non_finite = 0;                       // NaN or +-Inf values (treated as absent)
  std::array<std::size_t, kSignalCount> invalid{};  // per signal: finite values outside its domain (absent)
  std::size_t unmapped_pods = 0;                    // pods of a known model that belong to none of its variants
};

// Largest count (waiting/running requests) or rate a signal may carry; more is a broken exporter.
inline constexpr double kMaxPlausibleCount = 1e9;
inline constexpr double kMaxPlausibleRate = 1e12;

// Why a finite value is outside the domain of its signal ("outside [0, 1]", "negative", "above 1e+09"),
// or nullopt when it is valid. Such values are invalid data: absent, counted, named in the message.
std::optional<std::string> domain_violation(Signal signal, double value);

class Grouper {
 public:
  Grouper(std::span<const sdk::ModelView> models, LabelNames labels, Millis stale_after);

  // Routes the samples of one response. `single` is the signal of an untagged (unbatched) query;
  // otherwise each sample names its signal in the wva_signal label. The response must outlive finish().
  void add(const QueryResponse& response, std::optional<Signal> single = std::nullopt);

  // Builds the metrics of every model given to the constructor.
  std::map<sdk::ModelKey, sdk::ModelMetrics> finish(sdk::TimePoint collected_at);

  const GroupStats& stats() const { return stats_; }

 private:
  struct Pod {
    std::uint32_t model = 0;
    std::int32_t variant = -1;  // index into the model's variants, -1: none
    std::string_view name;      // into a ModelView or a response: both outlive finish()
    std::array<double, kSignalCount> value{};
    std::bitset<kSignalCount> present;  // a finite value arrived
    std::bitset<kSignalCount> seen;     // any value arrived (NaN included)
  };
  struct ModelState {
    std::vector<std::uint32_t> slots;                               // pods seen, in arrival order
    std::unordered_map<std::string_view, std::uint32_t> by_name;    // used once a model has many pods
    std::unordered_map<std::string_view, std::int32_t> variant_of;  // pod -> variant, for many pods
    bool variant_index_built = false;
    std::size_t invalid = 0;                    // samples outside their domain
    std::vector<std::string> invalid_examples;  // the first few, "kvCacheUsage -5 on pod p (outside [0, 1])"
    std::optional<double> router_queue;         // model-level: summed over the routers that report it
  };
  static constexpr std::size_t kLinearScan = 32;  // below this many pods a scan beats hashing

  std::uint32_t pod_slot(std::uint32_t model, std::string_view pod);
  std::int32_t variant_of(std::uint32_t model, std::string_view pod);
  void store(std::uint32_t slot, Signal signal, double value);
  void store_model_level(std::uint32_t model, Signal signal, double value);

  std::span<const sdk::ModelView> models_;
  LabelNames labels_;
  Millis stale_after_;
  std::unordered_map<std::string, std::uint32_t> model_index_;  // ns \x1f model_id
  std::vector<ModelState> state_;
  std::vector<Pod> pods_;
  std::vector<const Sample*> deferred_capacity_;
  double eval_time_ = 0;  // newest evaluation timestamp seen, seconds
  std::string key_;       // reused lookup buffer
  GroupStats stats_;
};

}  // namespace wva::prometheus
