// What the model views read of a Deployment, taken from its JSON once (the rules are in
// model/model_builder.cpp): the views keep this record instead of the object, so a backend may hold its
// Deployments compactly (packed) and unpack one only when a plugin asks for it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/context.h"  // sdk::Labels

namespace wva::framework {

// Label on a Deployment that makes it a variant of a model when the VA has no scaleTargetRef.
// Label values cannot hold '/', so the modelID's '/' is written as '.': meta/llama-3.1-8b -> meta.llama-3.1-8b
inline constexpr const char* kModelLabel = "llmd.ai/model";
// Optional explicit accelerator on a VA or Deployment (upstream's label).
inline constexpr const char* kAcceleratorLabel = "inference.optimization/acceleratorName";

struct DeploymentRecord {
  std::string ns, name;  // metadata.namespace ("default" when absent), metadata.name
  // A label from metadata.labels, else from spec.template.metadata.labels; "" when neither has it as a
  // string (a metadata label written as "" is "", the template's is not consulted).
  std::string model_label;        // llmd.ai/model
  std::string accelerator_label;  // inference.optimization/acceleratorName
  // spec.template.spec.nodeSelector nvidia.com/gpu.product, else cloud.google.com/gke-accelerator
  // (the first non-empty string).
  std::string node_selector_product;
  // current = status.replicas when > 0, else spec.replicas (default 1); ready = status.readyReplicas
  // (0 when absent from a non-empty status; every current replica when there is no status);
  // pending = current - ready, at least 0.
  int current_replicas = 0, ready_replicas = 0, pending_replicas = 0;
  // Sum over the pod template's containers of the GPU resources' limits (requests when a container has
  // no GPU limits); 0 when none.
  int gpus = 0;
  // spec.selector.matchLabels with string values, sorted by key; a value of another type makes the
  // selector match no pod.
  std::vector<std::pair<std::string, std::string>> match_labels;
  bool selector_matches_nothing = false;

  // Whether a pod with these labels is selected (no or empty matchLabels: every pod).
  bool selects(const sdk::Labels& pod_labels) const;

  friend bool operator==(const DeploymentRecord&, const DeploymentRecord&) = default;
};

DeploymentRecord deployment_record_of(const nlohmann::json& deployment);

// A record as the backends and the model views share it: one copy per Deployment, not one in the cache and
// another in the views (30,000 Deployments: 8 MB each).
using DeploymentRecordPtr = std::shared_ptr<const DeploymentRecord>;

}  // namespace wva::framework
