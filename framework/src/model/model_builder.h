// Builds the per-model views a pipeline analyzes from what the cluster holds: VariantAutoscalings,
// their Deployments (one scaleTargetRef, or every Deployment of the model discovered by label), costs
// from accelerator-unitcost, SLOs from service-classes-config, profiles from spec.modelProfile.
#pragma once

#include <string>
#include <vector>

#include "wva/sdk/plugin.h"
#include "wva/sdk/types.h"

namespace wva::framework {

// Label on a Deployment that makes it a variant of a model when the VA has no scaleTargetRef.
// Label values cannot hold '/', so the modelID's '/' is written as '.': meta/llama-3.1-8b -> meta.llama-3.1-8b
inline constexpr const char* kModelLabel = "llmd.ai/model";
// Optional explicit accelerator on a VA or Deployment (upstream's label).
inline constexpr const char* kAcceleratorLabel = "inference.optimization/acceleratorName";

struct ClusterModels {
  std::vector<sdk::ModelView> models;              // sorted by key; variants sorted by name
  std::vector<sdk::ResourceCondition> conditions;  // e.g. TargetResolved=False for a missing Deployment
  std::vector<sdk::Labels> va_labels;              // labels of models[i]'s VA, for selectors
  std::vector<std::string> warnings;               // e.g. a bad accelerator-unitcost entry
};

// Reads everything through the ClusterView (cached, no per-model I/O). `discovered`: which pods serve which
// model by their metrics (sources with sdk::ModelDiscovery); a VA without a scaleTargetRef and without a
// labelled Deployment then takes the Deployments owning the pods that serve its model.
sdk::Result<ClusterModels> build_models(sdk::ClusterView& cluster,
                                        const std::vector<sdk::PodModel>* discovered = nullptr);

// "A100-SXM4-80GB" -> "A100" given cost keys {A100, H100}: the longest key the product name starts with
// (case-insensitive, ignoring a vendor prefix such as "NVIDIA-" or "nvidia-tesla-", and ending at a word
// boundary so "A10G" is not "A10" and "L40S" is not "L40"), else the name itself. The rules of
// build_models are written at the top of model_builder.cpp.
std::string normalize_accelerator(const std::string& product, const std::vector<std::string>& cost_keys);

}  // namespace wva::framework
