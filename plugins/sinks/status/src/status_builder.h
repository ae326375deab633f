// Pure logic of the status sink: which VariantAutoscalings a batch touches, the conditions each gets, and
// the merge patch of its .status given the object as it is now. No I/O; tested without a cluster.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "digest.h"
#include "wva/sdk/plugin.h"
#include "wva/sdk/types.h"

namespace wva::plugins::status {

inline constexpr const char* kKind = "VariantAutoscaling";

// Condition types and reasons written by this sink (docs/upstream.md section 1.3).
inline constexpr const char* kTargetResolved = "TargetResolved";
inline constexpr const char* kMetricsAvailable = "MetricsAvailable";
inline constexpr const char* kOptimizationReady = "OptimizationReady";

inline constexpr const char* kMetricsFoundMessage = "Saturation metrics data is available for scaling decisions";
inline constexpr const char* kMetricsMissingMessage =
    "No saturation metrics available - pods may not be ready or metrics not yet scraped";

struct VaKey {
  std::string ns;
  std::string name;

  std::string to_string() const { return ns + "/" + name; }
  friend bool operator==(const VaKey&, const VaKey&) = default;
  friend auto operator<=>(const VaKey&, const VaKey&) = default;
};

// What this cycle says about one VariantAutoscaling.
struct VaUpdate {
  VaKey key;
  std::vector<sdk::Decision> decisions;    // its variants, sorted by variant name (without trail and conditions)
  std::vector<sdk::Condition> conditions;  // desired conditions, without times
  // False when the VA has no decision or only held ones: then desiredOptimizedAlloc and variants[] are
  // left as they are (they already show the last good decision) and only conditions are written.
  bool write_allocation = false;
  std::vector<std::string> problems;  // decisions refused (e.g. negative replicas)
};

// Groups the batch by VariantAutoscaling (Decision.va_name + model namespace, and the batch's resource
// conditions), merges explicit conditions (the worst status of a type wins: False > Unknown > True) and
// derives the standard ones that no plugin set. Ordered by namespace, then name.
std::vector<VaUpdate> plan_updates(const sdk::PublishBatch& batch);

// One VA's share of a batch, as plan_updates groups it: pointers into the batch.
struct VaInputs {
  std::vector<const sdk::Decision*> decisions;    // every decision naming the VA, in batch order
  std::vector<const sdk::Condition*> conditions;  // explicit: each decision's in batch order, then resource ones
  // Set by resolve_model: the decisions with desired >= 0 sorted by variant, and the model its conditions
  // come from (the first in the batch with the key of the first kept decision, else the first naming the VA).
  std::vector<const sdk::Decision*> kept;
  const sdk::ModelView* model = nullptr;

  void clear() {
    decisions.clear();
    conditions.clear();
    kept.clear();
    model = nullptr;
  }
};

// Fills inputs.kept and inputs.model; `first_with_key` finds the first model of the batch with a key
// (nullptr: none), `first_naming` is the first model of the batch that names the VA (nullptr: none).
template <class FirstWithKey>
void resolve_model(VaInputs& inputs, const FirstWithKey& first_with_key, const sdk::ModelView* first_naming);

// The update of one VA from its resolved inputs (what plan_updates gives for it).
VaUpdate plan_update(const VaKey& key, const VaInputs& inputs);

// Appends bytes that determine plan_update's result for resolved `inputs` (every field it reads, each
// length-prefixed), in two parts: `reasons` gets the reasons of the decisions that reach variants[] and the
// messages of True OptimizationReady conditions, `out` everything else. Equal parts give equal updates (same_status);
// equal `out` alone gives updates that differ at most in those reasons (same_status_but_reasons). Much cheaper than
// planning: no text is composed.
// Out: std::string, or DigestHasher; Reasons: std::string, or ReasonsHash.
template <class Out, class Reasons>
void append_fingerprint(const VaInputs& inputs, Out& out, Reasons& reasons);

// A 64-bit hash of what is appended (each append hashed, then mixed in), for the reasons part: a VA keeps
// this instead of its reasons' text. Two texts with the same hash (one chance in 2^64) would only delay a
// reason-only refresh to the next change of the text.
class ReasonsHash {
 public:
  void append(const char* data, std::size_t n);
  void push_back(char c) { append(&c, 1); }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0x84222325cbf29ce4ULL;
};

// Whether two updates of the same VA give the same status patch at the same time: the same decisions as
// the patch reads them (variant, accelerator, current, desired, reason, analyzer, held; not their time),
// the same conditions and write_allocation. Problems are logged, not written, and are not compared.
bool same_status(const VaUpdate& a, const VaUpdate& b);
// same_status but for the text of the decisions' reasons (an analyzer's figures, which change every cycle)
// and the message of a True OptimizationReady (the host's copy of the winning reason).
bool same_status_but_reasons(const VaUpdate& a, const VaUpdate& b);

// What same_status and same_status_but_reasons compare, as two digests (digest.h gives the odds of a
// collision): equal `but_reasons` is same_status_but_reasons, equal `but_reasons` and `reasons` is
// same_status. The sink keeps this of a written update instead of the update.
struct StatusDigest {
  Digest128 but_reasons;  // everything same_status_but_reasons compares
  Digest128 reasons;      // the decisions' reasons, and the messages of True OptimizationReady conditions
  friend bool operator==(const StatusDigest&, const StatusDigest&) = default;
};
StatusDigest status_digest(const VaUpdate& update);

// MetricsAvailable as the source's state says it.
sdk::Condition metrics_condition(const sdk::ModelMetrics& metrics);

// The RFC 7396 merge patch of `.status` (what ClusterView::patch_status takes) for `update`, given the
// object as read now (nullopt: unknown, e.g. read failed). Conditions keep their lastTransitionTime when
// their status does not change; conditions of other types already on the object are kept; every
// condition written carries metadata.generation as observedGeneration.
nlohmann::json build_status_patch(const VaUpdate& update, const std::optional<nlohmann::json>& current,
                                  sdk::TimePoint now);
// The same, reading the object where it is (a shared cluster snapshot; nullptr: unknown), without a copy.
nlohmann::json build_status_patch(const VaUpdate& update, const nlohmann::json* current, sdk::TimePoint now);

// "2025-01-01T00:00:00Z" (UTC, seconds, as metav1.Time serializes).
std::string format_rfc3339(sdk::TimePoint t);

// A condition reason the API server accepts (^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$, <= 1024): invalid
// characters are dropped, words joined in CamelCase; `fallback` when nothing is left.
std::string sanitize_reason(std::string_view reason, std::string_view fallback);

// A condition type the API server accepts (qualified name, <= 316 characters).
bool valid_condition_type(std::string_view type);

// A Kubernetes Event to record on the VariantAutoscaling with a status write.
struct PlannedEvent {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
};

// The Events of a status write, given the object as read before it: Normal/ScalingRecommendation for
// every variant whose desired replicas differ from the status' variants[] (or that had none), held
// decisions excepted; Warning/<reason> for every condition that turns False (status changed or new).
std::vector<PlannedEvent> plan_events(const VaUpdate& update, const std::optional<nlohmann::json>& current);
std::vector<PlannedEvent> plan_events(const VaUpdate& update, const nlohmann::json* current);

void sort_kept_decisions(VaInputs& inputs);

template <class FirstWithKey>
void resolve_model(VaInputs& inputs, const FirstWithKey& first_with_key, const sdk::ModelView* first_naming) {
  sort_kept_decisions(inputs);
  inputs.model = nullptr;
  if (!inputs.kept.empty()) inputs.model = first_with_key(inputs.kept.front()->model);
  if (!inputs.model) inputs.model = first_naming;
}

}  // namespace wva::plugins::status
