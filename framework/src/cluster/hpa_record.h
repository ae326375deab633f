// What the model views read of a HorizontalPodAutoscaler (autoscaling/v2): the Deployment it scales and
// the replica bounds it enforces. WVA only recommends; the HPA (or an event-driven autoscaler, through the
// HPA its ScaledObject makes) is what scales, and it clamps every recommendation to its bounds. A policy
// that does not know them asks a variant for replicas it will never get instead of placing them on
// another variant.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wva::framework {

struct HpaRecord {
  std::string ns, name;  // metadata.namespace ("default" when absent), metadata.name
  // spec.scaleTargetRef.name when its kind is Deployment (and its apiVersion, when given, is apps/...);
  // "" otherwise: the HPA bounds no variant.
  std::string target;
  // spec.minReplicas (Kubernetes defaults it to 1); nullopt when a ScaledObject made the HPA (an
  // ownerReference of kind ScaledObject): its autoscaler scales between 0 and 1 itself, so the HPA's
  // minimum is not a floor.
  std::optional<int> min_replicas;
  std::optional<int> max_replicas;  // spec.maxReplicas; nullopt when missing or invalid
  std::string scaled_object;        // the ScaledObject's name when one made the HPA
  // Invalid fields, each a sentence naming the object and the key (the value is then ignored).
  std::vector<std::string> problems;

  friend bool operator==(const HpaRecord&, const HpaRecord&) = default;
};

HpaRecord hpa_record_of(const nlohmann::json& hpa);

// What the model views keep of an HPA, under its namespace and name: a fleet has one per variant, and the
// whole record, its namespace and name twice over, cost 13 MB at 30,000.
struct HpaBounds {
  std::string target;  // HpaRecord::target
  std::optional<int> min_replicas;
  std::optional<int> max_replicas;
  std::vector<std::string> problems;

  friend bool operator==(const HpaBounds&, const HpaBounds&) = default;
};
HpaBounds hpa_bounds_of(HpaRecord record);

// Trims an HPA to what hpa_record_of reads (metadata, spec.scaleTargetRef, minReplicas, maxReplicas):
// the status, rewritten at every HPA sync, and the metrics and behavior are dropped. How the backends
// keep HPAs: a fleet has one per variant.
void trim_hpa(nlohmann::json& hpa);

// The replica bounds of a variant: the VariantAutoscaling's [min, max] within the HPA's. Where they do
// not overlap the HPA's side holds (it is what scales): the result is the HPA bound nearest the VA's
// range, and `conflict` says so.
struct ReplicaBounds {
  int min_replicas = 1;
  std::optional<int> max_replicas;
  std::string conflict;  // empty when the ranges overlap
};
// `hpa_ns` and `hpa_name` name the HPA in the conflict.
ReplicaBounds bounds_within(int va_min, std::optional<int> va_max, const HpaBounds& hpa, const std::string& hpa_ns,
                            const std::string& hpa_name);

}  // namespace wva::framework
