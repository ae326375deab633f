// The API resources WVA reads and writes, and their REST paths (/api/v1/... for the core group,
// /apis/<group>/<version>/... otherwise).
#pragma once

#include <string>

namespace wva::framework::kube {

struct ResourceType {
  const char* kind;
  const char* group;  // "" = core
  const char* version;
  const char* plural;
  bool namespaced = true;
  // The controller can run without it: a list answered 403 (RBAC) or 404 (API not served) counts as an
  // empty, synced cache, logged, and retried with back-off until it lists.
  bool optional = false;

  std::string api_version() const { return *group ? std::string(group) + "/" + version : std::string(version); }
  // /api/v1[/namespaces/<ns>]/<plural>; ns empty = all namespaces.
  std::string collection_path(const std::string& ns) const {
    std::string out = *group ? std::string("/apis/") + group + "/" + version : std::string("/api/") + version;
    if (namespaced && !ns.empty()) out += "/namespaces/" + ns;
    return out + "/" + plural;
  }
  std::string object_path(const std::string& ns, const std::string& name) const {
    return collection_path(ns) + "/" + name;
  }
};

inline constexpr ResourceType kVariantAutoscalings{"VariantAutoscaling", "llmd.ai", "v1alpha1", "variantautoscalings"};
inline constexpr ResourceType kDeployments{"Deployment", "apps", "v1", "deployments"};
inline constexpr ResourceType kReplicaSets{"ReplicaSet", "apps", "v1", "replicasets"};
inline constexpr ResourceType kPods{"Pod", "", "v1", "pods"};
inline constexpr ResourceType kConfigMaps{"ConfigMap", "", "v1", "configmaps"};
// Optional: without it (no RBAC grant) the variants are bounded by their VAs alone.
inline constexpr ResourceType kHorizontalPodAutoscalers{.kind = "HorizontalPodAutoscaler",
                                                        .group = "autoscaling",
                                                        .version = "v2",
                                                        .plural = "horizontalpodautoscalers",
                                                        .optional = true};
inline constexpr ResourceType kLeases{"Lease", "coordination.k8s.io", "v1", "leases"};
inline constexpr ResourceType kEvents{"Event", "", "v1", "events"};

// The cached kinds; nullptr for any other.
inline const ResourceType* cached_resource(const std::string& kind) {
  for (const ResourceType* r :
       {&kVariantAutoscalings, &kDeployments, &kReplicaSets, &kPods, &kConfigMaps, &kHorizontalPodAutoscalers})
    if (kind == r->kind) return r;
  return nullptr;
}

}  // namespace wva::framework::kube
