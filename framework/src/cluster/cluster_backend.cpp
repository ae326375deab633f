#include "cluster/cluster_backend.h"

namespace wva::framework {

namespace {

const nlohmann::json* object_at(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? &*it : nullptr;
}

std::string string_at(const nlohmann::json* obj, const char* key) {
  if (!obj) return {};
  auto it = obj->find(key);
  return it != obj->end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

PodOwner pod_owner_of(const nlohmann::json& pod) {
  PodOwner out;
  const nlohmann::json* meta = object_at(pod, "metadata");
  out.name = string_at(meta, "name");
  out.ns = string_at(meta, "namespace");
  if (out.ns.empty()) out.ns = "default";
  out.deployment = string_at(meta ? object_at(*meta, "annotations") : nullptr, sdk::kPodDeploymentAnnotation);
  if (out.deployment.empty() && meta)
    if (const nlohmann::json* labels = object_at(*meta, "labels"))
      for (auto it = labels->begin(); it != labels->end(); ++it)
        if (it.value().is_string()) out.labels[it.key()] = it.value().get<std::string>();
  return out;
}

std::vector<PodOwner> pod_owners_of(const sdk::InMemoryCluster& store) {
  std::vector<PodOwner> out;
  for (const auto& pod : store.list_stored("Pod", "")) out.push_back(pod_owner_of(*pod));
  for (const auto& d : store.list_stored("Deployment", "")) {
    const auto& meta = (*d)["metadata"];
    const std::string ns = meta["namespace"].get<std::string>(), name = meta["name"].get<std::string>();
    const long long n = sdk::InMemoryCluster::synthesized_pod_count(*d);
    for (long long i = 0; i < n; ++i) out.push_back(PodOwner{ns, name + "-" + std::to_string(i), name, {}});
  }
  return out;
}

sdk::Result<std::vector<PodOwner>> ClusterBackend::list_pod_owners() {
  auto pods = list_shared("Pod", "");
  if (!pods) return pods.error();
  std::vector<PodOwner> out;
  out.reserve(pods->size());
  for (const auto& p : *pods) out.push_back(pod_owner_of(*p));
  return out;
}

sdk::Result<std::optional<PodOwner>> ClusterBackend::get_pod_owner(const std::string& ns, const std::string& name) {
  auto pod = get_shared("Pod", ns, name);
  if (!pod) return pod.error();
  if (!*pod) return std::optional<PodOwner>();
  return std::optional<PodOwner>(pod_owner_of(**pod));
}

sdk::Result<std::vector<DeploymentRecordPtr>> ClusterBackend::list_deployment_records() {
  auto deployments = list_shared("Deployment", "");
  if (!deployments) return deployments.error();
  std::vector<DeploymentRecordPtr> out;
  out.reserve(deployments->size());
  for (const auto& d : *deployments) out.push_back(std::make_shared<const DeploymentRecord>(deployment_record_of(*d)));
  return out;
}

sdk::Result<std::vector<HpaRecord>> ClusterBackend::list_hpa_records() {
  auto hpas = list_shared("HorizontalPodAutoscaler", "");
  if (!hpas) return hpas.error();
  std::vector<HpaRecord> out;
  out.reserve(hpas->size());
  for (const auto& h : *hpas)
    if (h) out.push_back(hpa_record_of(*h));
  return out;
}

sdk::Result<DeploymentRecordPtr> ClusterBackend::get_deployment_record(const std::string& ns, const std::string& name) {
  auto d = get_shared("Deployment", ns, name);
  if (!d) return d.error();
  if (!*d) return DeploymentRecordPtr();
  return DeploymentRecordPtr(std::make_shared<const DeploymentRecord>(deployment_record_of(**d)));
}

}  // namespace wva::framework
