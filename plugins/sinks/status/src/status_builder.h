// Pure logic of the status sink: which VariantAutoscalings a batch touches, the conditions each gets, and
// the merge patch of its .status given the object as it is now. No I/O; tested without a cluster.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

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

// Whether two updates of the same VA give the same status patch at the same time: the same decisions as
// the patch reads them (variant, accelerator, current, desired, reason, analyzer, held; not their time),
// the same conditions and write_allocation. Problems are logged, not written, and are not compared.
bool same_status(const VaUpdate& a, const VaUpdate& b);
// same_status but for the text of the decisions' reasons (an analyzer's figures, which change every cycle).
bool same_status_but_reasons(const VaUpdate& a, const VaUpdate& b);

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

}  // namespace wva::plugins::status
