// The cluster as the host sees it: the SDK's ClusterView plus what only the host needs.
// Backends: local (a folder of Kubernetes YAML) and kube (REST + watch), same interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/deployment_record.h"
#include "cluster/hpa_record.h"
#include "wva/sdk/context.h"
#include "wva/sdk/util/memory_cluster.h"

namespace wva::framework {

// One object by kind, namespace and name: what a backend reports as changed.
struct ObjectRef {
  std::string kind, ns, name;
  friend bool operator==(const ObjectRef&, const ObjectRef&) = default;
  friend auto operator<=>(const ObjectRef&, const ObjectRef&) = default;
};

// What the model builder needs of a pod: its name and the Deployment that owns it, as the backend knows
// it (local: the synthesized pod's Deployment; kube: ownerReferences Pod -> ReplicaSet -> Deployment),
// else "" and the pod's labels, for the model builder's name-prefix rule.
struct PodOwner {
  std::string ns, name;
  std::string deployment;
  sdk::Labels labels;  // filled only when `deployment` is empty
  friend bool operator==(const PodOwner&, const PodOwner&) = default;
};

// PodOwner of a pod's JSON (the wva.llmd.ai/deployment annotation names the Deployment).
PodOwner pod_owner_of(const nlohmann::json& pod);

// The pods of an InMemoryCluster (stored ones, and those synthesized from the Deployments' replica
// counts) without making the synthesized pods' JSON.
std::vector<PodOwner> pod_owners_of(const sdk::InMemoryCluster& store);

class ClusterBackend : public sdk::ClusterView {
 public:
  // Brings the cache up to date (local: re-reads the folder when files changed; kube: drains watches).
  // Errors name the file/object and what is wrong; on error the previous good state is kept.
  virtual sdk::Result<void> refresh() = 0;
  // Human name for logs: "local:/path" or "kube:https://...".
  virtual std::string describe() const = 0;
  // Bumped whenever an object that shapes the model views changes (files, scale, Deployment status,
  // ConfigMaps). A VariantAutoscaling status patch does NOT bump it: the host writes those itself and
  // knows what it wrote. The host rebuilds its model views only when this changes.
  virtual std::uint64_t revision() const = 0;
  // The objects that changed after `revision` up to revision() (each once, in no particular order), or
  // nullopt when the backend cannot say (it does not track changes, or `revision` is older than what it
  // keeps): then everything may have changed. Default: nullopt.
  virtual std::optional<std::vector<ObjectRef>> changes_since(std::uint64_t revision) const {
    (void)revision;
    return std::nullopt;
  }
  // Every pod (all namespaces) with its owner, without building the pods' JSON where the backend can
  // avoid it. Default: from list_shared("Pod", "").
  virtual sdk::Result<std::vector<PodOwner>> list_pod_owners();
  // One pod's owner; nullopt when the pod does not exist. Default: from get_shared("Pod", ...).
  virtual sdk::Result<std::optional<PodOwner>> get_pod_owner(const std::string& ns, const std::string& name);
  // Every Deployment (all namespaces) as the model views read it, without handing out their JSON where the
  // backend keeps them otherwise. Default: from list_shared("Deployment", "").
  virtual sdk::Result<std::vector<DeploymentRecordPtr>> list_deployment_records();
  // One Deployment's record; null when it does not exist. Default: from get_shared("Deployment", ...).
  virtual sdk::Result<DeploymentRecordPtr> get_deployment_record(const std::string& ns, const std::string& name);
  // Every HorizontalPodAutoscaler (all namespaces) as the model views read it, each object's JSON made and
  // dropped in turn where the backend keeps them packed (a fleet has one per variant: 30,000 HPAs' JSON at
  // once was the largest transient of a rebuild). Default: from list_shared("HorizontalPodAutoscaler", "").
  virtual sdk::Result<std::vector<HpaRecord>> list_hpa_records();
  // `listener` is called (from any thread) when a VariantAutoscaling or one of the controller's ConfigMaps
  // changed, so the host can run a cycle soon instead of at the next interval. Default: never called
  // (the local backend is polled by refresh()).
  virtual void subscribe_changes(std::function<void()> listener) { (void)listener; }
  // The API server's TokenReview/SubjectAccessReview, lent to plugins; nullptr when there is no API
  // server (local, offline).
  virtual sdk::AccessReviewer* access_reviewer() { return nullptr; }
};

// Any ClusterView as a ClusterBackend (refresh does nothing, revision stays 0, changes are not tracked):
// for building model views from a view that is not a backend (tests, benchmarks, plugins' fakes).
class ViewBackend final : public ClusterBackend {
 public:
  explicit ViewBackend(sdk::ClusterView& view) : view_(view) {}
  std::string system_namespace() const override { return view_.system_namespace(); }
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string& kind, const std::string& ns) override {
    return view_.list_shared(kind, ns);
  }
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string& kind, const std::string& ns,
                                              const std::string& name) override {
    return view_.get_shared(kind, ns, name);
  }
  sdk::Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                 const nlohmann::json& merge_patch) override {
    return view_.patch_status(kind, ns, name, merge_patch);
  }
  sdk::Result<std::optional<std::string>> object_version(const std::string& kind, const std::string& ns,
                                                         const std::string& name) override {
    return view_.object_version(kind, ns, name);
  }
  sdk::Result<void> scale(const std::string& ns, const std::string& deployment, int replicas) override {
    return view_.scale(ns, deployment, replicas);
  }
  sdk::Result<void> refresh() override { return sdk::ok(); }
  std::string describe() const override { return "view"; }
  std::uint64_t revision() const override { return 0; }
  // An InMemoryCluster's pods without making their JSON; any other view's from list_shared.
  sdk::Result<std::vector<PodOwner>> list_pod_owners() override {
    if (auto* store = dynamic_cast<sdk::InMemoryCluster*>(&view_)) return pod_owners_of(*store);
    return ClusterBackend::list_pod_owners();
  }

 private:
  sdk::ClusterView& view_;
};

}  // namespace wva::framework
