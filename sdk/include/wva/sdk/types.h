// Plain value types that flow between the host and plugins. Absent data is std::nullopt, never 0.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace wva::sdk {

using Clock_t = std::chrono::system_clock;
using TimePoint = Clock_t::time_point;
using Duration = std::chrono::milliseconds;

struct ModelKey {
  std::string ns;  // Kubernetes namespace
  std::string model_id;

  std::string to_string() const { return ns + "/" + model_id; }
  friend bool operator==(const ModelKey&, const ModelKey&) = default;
  friend auto operator<=>(const ModelKey& a, const ModelKey& b) {
    return std::tie(a.ns, a.model_id) <=> std::tie(b.ns, b.model_id);
  }
};

// Queueing-model parameters of one variant (docs/upstream.md section 6.1). Times in ms.
struct PerformanceProfile {
  double alpha = 0;  // decode: ITL(n) = alpha + beta * n
  double beta = 0;
  double gamma = 0;  // prefill: gamma + delta * inputTokens * n
  double delta = 0;
  int max_batch = 0;
  std::optional<double> kv_capacity_tokens;
};

// One variant = one Deployment of the model on one accelerator type.
struct Variant {
  std::string name;         // Deployment name
  std::string va_name;      // VariantAutoscaling that covers it
  std::string accelerator;  // normalized accelerator type, e.g. "H100"; empty when unknown
  int gpus_per_replica = 1;
  std::optional<double> cost_per_replica;  // nullopt: unknown accelerator cost (a condition, never 0)
  std::string cost_source;                 // "variantCost", "accelerator-unitcost", or why it is missing
  int current_replicas = 0;                // Deployment status.replicas (spec when status is empty)
  int ready_replicas = 0;
  int pending_replicas = 0;             // current - ready, >= 0
  std::optional<int> previous_desired;  // last target WVA published for it
  // The bounds a target is clamped to: the VA's spec.minReplicas / maxReplicas within those of the
  // HorizontalPodAutoscaler that scales the Deployment (what HPA and KEDA enforce); nullopt: unbounded.
  int min_replicas = 1;
  // Whether the HorizontalPodAutoscaler that scales the Deployment narrows the VA's bounds to these (false:
  // they are the VA's own): what a clamp's reason names. A flag, not the HPA's name: the Deployment (this
  // variant's name) identifies its HPA, and at 30,000 variants a name in every view costs megabytes.
  // Since SDK ABI 7.0.
  bool hpa_bounded = false;
  std::optional<int> max_replicas;
  std::optional<PerformanceProfile> profile;
  std::vector<std::string> pods;  // names of its pods as the cluster backend sees them
};

// One pod's saturation signals. Each value is absent when its series was absent.
struct ReplicaMetrics {
  std::string pod;
  std::string variant;
  std::optional<double> kv_cache_usage;  // 0..1
  std::optional<double> waiting;
  std::optional<double> running;
  std::optional<double> kv_capacity_tokens;
  TimePoint sample_time{};
};

// Request load, per variant or per model. Rates in requests per second, latencies in ms.
// One bucket of a Prometheus histogram as vLLM exports it: cumulative, by upper bound (`le`).
struct HistogramBucket {
  double upper_bound = 0;  // the bucket's `le`; +infinity for the last
  double count = 0;        // cumulative: observations <= upper_bound (a rate of them works the same)
};

struct Load {
  std::optional<double> arrival_rate;
  std::optional<double> avg_input_tokens;
  std::optional<double> avg_output_tokens;
  std::optional<double> ttft_ms;
  std::optional<double> itl_ms;
  // Tokens the pods computed per second over the window (vLLM's prompt_tokens_total and
  // generation_tokens_total rates): served work, which differs from arrival_rate x tokens under overload.
  std::optional<double> prompt_tokens_rate;
  std::optional<double> generation_tokens_rate;
  // Requests of the model waiting at the router (e.g. the inference gateway's flow-control queue), not
  // yet on any pod: the only demand signal of a model scaled to zero. Whole model only. Since SDK ABI 2.0.
  std::optional<double> router_queue;
  // The spread of the prompt lengths of the requests the pods completed over the window: standard
  // deviation / mean, estimated from vLLM's request_prompt_tokens histogram (wva/sdk/util/histogram.h's
  // histogram_cv: the bucket counts, each bucket shaped as a fitted lognormal). A long prompt's prefill disturbs the
  // decode steps of the requests around it in proportion to its square, so sizing for a latency tail
  // needs the spread, not only the mean. Whole model: fitted to its variants' buckets summed.
  // Since SDK ABI 6.0.
  std::optional<double> prompt_tokens_cv;
  // The requests the pods completed over the window by their mean time per output token (after the first),
  // in seconds: vLLM's request_time_per_output_token_seconds histogram, its buckets' counts as rates (per
  // second over the window; +Inf last; any order). What a request's ITL SLO is judged on: the fraction
  // over the SLO is read from it (wva/sdk/util/histogram.h's fraction_above). Empty when unknown. Whole
  // model: its variants' buckets summed. Since SDK ABI 7.0.
  std::vector<HistogramBucket> request_tpot_buckets;
};

enum class MetricsState {
  kOk,      // fresh data
  kNoData,  // the source answered but had no series for this model
  kStale,   // only samples older than the freshness limit
  kError,   // the source failed (unreachable, query error)
};

// The MetricsAvailable condition's messages for kOk and kNoData without a message of their own: upstream
// WVA's words, kept so its dashboards and runbooks still match.
inline constexpr const char* kMetricsFoundMessage = "Saturation metrics data is available for scaling decisions";
inline constexpr const char* kMetricsMissingMessage =
    "No saturation metrics available - pods may not be ready or metrics not yet scraped";

inline const char* to_string(MetricsState state) {
  switch (state) {
    case MetricsState::kOk: return "ok";
    case MetricsState::kNoData: return "no data";
    case MetricsState::kStale: return "stale";
    case MetricsState::kError: return "error";
  }
  return "unknown";
}

struct ModelMetrics {
  MetricsState state = MetricsState::kNoData;
  std::string message;  // why, when state != kOk; with kOk, samples the source rejected (or empty)
  // With kError: the source's own reason for the MetricsAvailable condition (e.g. "PrometheusError");
  // empty: the host's generic one. Since SDK ABI 4.0.
  std::string reason;
  std::vector<ReplicaMetrics> replicas;
  std::map<std::string, Load> load_by_variant;  // variant name -> load
  Load load;                                    // whole model
  TimePoint collected_at{};
};

struct Slo {
  std::string service_class;
  int priority = 100;  // 1 = highest
  std::optional<double> ttft_ms;
  std::optional<double> itl_ms;
  std::optional<double> tps;
};

// Everything an analyzer may know about one model this cycle.
struct ModelView {
  ModelKey key;
  std::string va_name;            // the VariantAutoscaling of the model (first one when several)
  std::vector<Variant> variants;  // sorted by name
  ModelMetrics metrics;           // filled by the source
  std::optional<Slo> slo;
  bool scale_to_zero = false;
  // No raw VA spec: the host parses spec.modelProfile (Variant::profile) and spec.sloClassRef (slo) with
  // the one parser of wva/sdk/util/; a plugin never re-parses them. Since SDK ABI 4.0.
};

struct Condition {
  std::string type;     // TargetResolved, MetricsAvailable, OptimizationReady, ...
  std::string status;   // "True", "False", "Unknown"
  std::string reason;   // CamelCase
  std::string message;  // a human sentence
};

struct VariantTarget {
  std::string variant;
  int replicas = 0;
  std::string reason;
  // Whose number this is, set by a combiner (the analyzer whose target won); empty: the recommendation's
  // analyzer. Since SDK ABI 4.0.
  std::string analyzer = {};
};

// One analyzer's opinion about one model.
struct Recommendation {
  std::string analyzer;
  bool has_opinion = true;  // false: "no opinion", the combiner skips it
  std::vector<VariantTarget> targets;
  std::string reason;  // model-level summary
  double confidence = 1.0;
  bool scale_down_safe = true;  // for hybrid combining: may the model lose a replica?
  std::vector<Condition> conditions;

  const VariantTarget* target_for(const std::string& variant) const {
    for (const auto& t : targets)
      if (t.variant == variant) return &t;
    return nullptr;
  }
};

struct TrailEntry {
  std::string analyzer;
  std::optional<int> replicas;  // nullopt: no opinion on this variant
  std::string reason;
};

// The final target of one variant after combining, with how it was reached.
struct Decision {
  ModelKey model;
  std::string variant;
  std::string va_name;
  std::string accelerator;
  int current = 0;
  int desired = 0;
  std::string reason;
  std::string analyzer;  // whose target won
  bool held = false;     // true: last good decision kept because this cycle failed
  std::vector<TrailEntry> trail;
  std::vector<Condition> conditions;  // this variant's own; they come after shared_conditions
  TimePoint time{};
  // Conditions the decisions of one model have in common (its analyzers', MetricsAvailable, a hold's
  // OptimizationReady), held once for all its variants and immutable; null: none. A decision's
  // conditions are these, then `conditions`: read them with for_each_condition() or all_conditions().
  // Since SDK ABI 5.0.
  std::shared_ptr<const std::vector<Condition>> shared_conditions;

  // Calls `visit` with every condition of the decision, in order (shared ones first).
  template <class Visit>
  void for_each_condition(Visit&& visit) const {
    if (shared_conditions)
      for (const Condition& c : *shared_conditions) visit(c);
    for (const Condition& c : conditions) visit(c);
  }
  std::size_t condition_count() const {
    return (shared_conditions ? shared_conditions->size() : 0) + conditions.size();
  }
  // A copy of every condition, in order.
  std::vector<Condition> all_conditions() const {
    std::vector<Condition> out;
    out.reserve(condition_count());
    for_each_condition([&](const Condition& c) { out.push_back(c); });
    return out;
  }
};

}  // namespace wva::sdk
