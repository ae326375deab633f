// The informers' cache as it was before pod and ReplicaSet records were made compact (owner references,
// labels and conditions held once for the pods that share them; no copies of names in the records): the
// reference ObjectStore is compared with on random inputs (kube_test.cpp, "ObjectStoreEquality"). Kept
// as it was, apart from its namespace and class name.
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

namespace wva::testing::reference {
using wva::framework::PodOwner;
namespace sdk = wva::sdk;

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

class ReferenceObjectStore {
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

  explicit ReferenceObjectStore(Listener listener = {}, ManyChangesListener many = {})
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

}  // namespace wva::testing::reference
