// What a ScaledObject's external trigger asks for, read from its scalerMetadata (no gRPC types here):
//   variantName: <Deployment of the variant>   required
//   namespace:   <its namespace>               default: the ScaledObject's namespace
//   modelID:     <spec.modelID of its VA>      optional: checked against the decision's model
// KEDA passes every key of the trigger's metadata (scalerAddress, tls settings, ...): other keys are
// ignored, except near misses of these three (e.g. "variantname"), refused with a did-you-mean.
#pragma once

#include <map>
#include <string>

#include "decision_store.h"
#include "wva/sdk/result.h"

namespace wva::plugins::keda {

inline constexpr const char* kVariantKey = "variantName";
inline constexpr const char* kNamespaceKey = "namespace";
inline constexpr const char* kModelKey = "modelID";

// kInvalidConfig (the RPC answers INVALID_ARGUMENT) with a message that names the ScaledObject.
sdk::Result<VariantRef> variant_ref(const std::string& scaled_object, const std::string& scaled_object_ns,
                                    const std::map<std::string, std::string>& metadata);

// "wva-desired-replicas-<variant>", lower case, characters other than [a-z0-9-] written as '-'.
std::string metric_name(const std::string& variant);

}  // namespace wva::plugins::keda
