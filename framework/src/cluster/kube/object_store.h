// The informers' cache: the latest version of every watched object, by kind and "namespace/name",
// trimmed to what WVA reads (at 10,000 models the cache holds about 200,000 objects):
// - every kind: metadata.managedFields and the kubectl.kubernetes.io/last-applied-configuration
//   annotation are dropped (never read, often the largest parts);
// - VariantAutoscaling, ConfigMap: the rest is kept as JSON;
// - Deployment: kept as JSON less spec.template.spec other than nodeSelector and containers[].name /
//   .resources (what the model builder reads: accelerator, GPUs per replica), and less status.conditions;
// - Pod: a compact record (PodRecord): metadata name, namespace, uid, resourceVersion, labels,
//   ownerReferences (apiVersion, kind, name, uid, controller), deletionTimestamp; status phase,
//   conditions (type, status only), podIP, startTime. Its JSON is made only when someone asks for it;
// - ReplicaSet: a compact record of its metadata name, namespace, uid, resourceVersion,
//   ownerReferences (they map pods to Deployments).
// Objects are shared immutable snapshots: a change replaces one, so what a reader holds never changes.
// The listener hears every change that can matter to a reader (not one of resourceVersion alone, of a
// VariantAutoscaling's status, or of a ConfigMap's metadata) as (kind, namespace, name); a ReplicaSet's
// change of owner is also heard as a change of each of its pods. A list that changes more than
// kManyChanges objects (the first list of each kind) is heard once, as "many changes of kind", when a
// many-changes listener is set: naming 190,000 objects costs more than a reader's full rebuild. The
// listeners run under the store's lock, so they must not call back into the store. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/cluster_backend.h"

namespace wva::framework::kube {

struct OwnerRef {
  std::string api_version, kind, name, uid;
  std::optional<bool> controller;
  friend bool operator==(const OwnerRef&, const OwnerRef&) = default;
};

struct PodRecord {
  std::string ns, name, uid, resource_version, deletion_timestamp;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  std::vector<OwnerRef> owners;
  std::string phase, pod_ip, start_time;
  std::vector<std::pair<std::string, std::string>> conditions;  // (type, status)
  // Equal apart from resourceVersion.
  bool same_as(const PodRecord& o) const;
};

struct ReplicaSetRecord {
  std::string ns, name, uid, resource_version;
  std::vector<OwnerRef> owners;
};

class ObjectStore {
 public:
  using Listener = std::function<void(const std::string& kind, const std::string& ns, const std::string& name)>;
  using ManyChangesListener = std::function<void(const std::string& kind)>;
  static constexpr std::size_t kManyChanges = 10000;

  // One listed or watched object, trimmed: what replace() takes.
  struct Entry {
    std::string key;  // "namespace/name"
    sdk::ObjectSnapshot object;
    std::shared_ptr<const PodRecord> pod;
    std::shared_ptr<const ReplicaSetRecord> replica_set;
  };

  explicit ObjectStore(Listener listener = {}, ManyChangesListener many = {})
      : listener_(std::move(listener)), many_listener_(std::move(many)) {}

  static std::string key_of(const nlohmann::json& obj);
  static std::string resource_version(const nlohmann::json& obj);
  // Trims an object of `kind` as the cache keeps it (see above). Consumes `obj`.
  static Entry make_entry(const std::string& kind, nlohmann::json obj);

  // Installs a full list of `kind` in namespace `ns` ("" = all): objects of that scope missing from
  // `entries` are deleted, the others added or replaced.
  void replace(const std::string& kind, const std::string& ns, std::vector<Entry> entries);
  void upsert(const std::string& kind, nlohmann::json obj);
  // Replaces the object only when the cached one still has resourceVersion `expected_rv` (a write's
  // answer must not overwrite a newer version a watch already delivered).
  void upsert_if_version(const std::string& kind, nlohmann::json obj, const std::string& expected_rv);
  void remove(const std::string& kind, const std::string& ns, const std::string& name);

  // Pods and ReplicaSets as JSON, made on each call; pods carry the wva.llmd.ai/deployment annotation
  // naming the Deployment their ReplicaSet belongs to.
  std::vector<sdk::ObjectSnapshot> list(const std::string& kind, const std::string& ns) const;
  sdk::ObjectSnapshot get(const std::string& kind, const std::string& ns, const std::string& name) const;
  std::string resource_version_of(const std::string& kind, const std::string& ns, const std::string& name) const;
  std::size_t size(const std::string& kind) const;

  // Pods with the Deployment each belongs to (Pod -> ReplicaSet -> Deployment), no JSON made.
  std::vector<PodOwner> pod_owners() const;
  std::optional<PodOwner> pod_owner(const std::string& ns, const std::string& name) const;

 private:
  void put_locked(const std::string& kind, Entry entry);
  void erase_locked(const std::string& kind, const std::string& key);
  void notify(const std::string& kind, const std::string& key) const;
  void notify_pods_of(const std::string& rs_key) const;
  std::string deployment_of_locked(const PodRecord& pod) const;
  PodOwner pod_owner_locked(const PodRecord& pod) const;
  sdk::ObjectSnapshot pod_json_locked(const PodRecord& pod) const;

  Listener listener_;
  ManyChangesListener many_listener_;
  mutable std::mutex mutex_;
  // While replace() runs: the changes it made, heard at its end (one by one, or as many).
  std::vector<std::pair<std::string, std::string>>* held_changes_ = nullptr;   // (kind, key)
  std::map<std::string, std::map<std::string, sdk::ObjectSnapshot>> by_kind_;  // JSON kinds
  std::map<std::string, std::shared_ptr<const PodRecord>> pods_;
  std::map<std::string, std::shared_ptr<const ReplicaSetRecord>> replica_sets_;
  std::map<std::string, std::set<std::string>> pods_by_replica_set_;  // "ns/rs" -> pod names
};

}  // namespace wva::framework::kube
