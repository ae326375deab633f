// Objects as a real cluster has them: a Deployment, its ReplicaSet and its pods (named
// <deployment>-<hash>-<suffix>, owned through ownerReferences), VariantAutoscalings, ConfigMaps.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wva::testing {

inline nlohmann::json deployment(const std::string& ns, const std::string& name, int replicas,
                                 const std::string& model_label,
                                 const std::string& gpu_product = "NVIDIA-H100-80GB-HBM3") {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"llmd.ai/model", model_label}}}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}, {"llmd.ai/model", model_label}}}}},
              {"spec",
               {{"nodeSelector", {{"nvidia.com/gpu.product", gpu_product}}},
                {"containers",
                 {{{"name", "vllm"},
                   {"image", "vllm/vllm-openai:v0.8.5"},
                   {"resources", {{"limits", {{"nvidia.com/gpu", "1"}}}}}}}}}}}}}},
          {"status", {{"replicas", replicas}, {"readyReplicas", replicas}}}};
}

inline nlohmann::json replicaset(const std::string& ns, const std::string& deployment_name, const std::string& hash) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata",
           {{"name", deployment_name + "-" + hash},
            {"namespace", ns},
            {"ownerReferences",
             {{{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", deployment_name}, {"controller", true}}}}}},
          {"spec", {{"selector", {{"matchLabels", {{"app", deployment_name}}}}}}}};
}

inline nlohmann::json pod(const std::string& ns, const std::string& replicaset_name, const std::string& app,
                          const std::string& suffix) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", replicaset_name + "-" + suffix},
            {"namespace", ns},
            {"labels", {{"app", app}}},
            {"ownerReferences",
             {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", replicaset_name}, {"controller", true}}}}}},
          {"spec", {{"containers", {{{"name", "vllm"}, {"image", "vllm/vllm-openai:v0.8.5"}}}}}},
          {"status", {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
}

inline nlohmann::json variant_autoscaling(const std::string& ns, const std::string& name, const std::string& model_id) {
  return {{"apiVersion", "llmd.ai/v1alpha1"},
          {"kind", "VariantAutoscaling"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"modelID", model_id}, {"minReplicas", 1}, {"maxReplicas", 10}}}};
}

inline nlohmann::json config_map(const std::string& ns, const std::string& name, nlohmann::json data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", std::move(data)}};
}

}  // namespace wva::testing
