// The informers' cache: the latest version of every watched object, by kind and "namespace/name",
// trimmed to what WVA reads (at 10,000 models the cache holds about 200,000 objects):
// - every kind: metadata.managedFields and the kubectl.kubernetes.io/last-applied-configuration
//   annotation are dropped (never read, often the largest parts);
// - VariantAutoscaling: kept packed (VariantPack: MessagePack of its JSON less status and
//   metadata.resourceVersion, the status packed apart, the resourceVersion held as it came), about a
//   fifth of the JSON's memory at 10,000 VAs; a reader gets a fresh unpacked snapshot on each call (the
//   model views keep only what they read of it, so nothing holds the whole object long);
// - ConfigMap: the rest is kept as JSON;
// - Deployment: its JSON less spec.template.spec other than nodeSelector and containers[].name /
//   .resources (what the model builder reads: accelerator, GPUs per replica), and less status.conditions,
//   kept packed (MessagePack, about a seventh of the JSON's memory; DeploymentPack) with its
//   DeploymentRecord, which is what the model views read. Its JSON is unpacked when someone asks (the same
//   snapshot while anyone holds it);
// - Pod: a compact record (PodRecord): metadata uid, resourceVersion, labels, ownerReferences
//   (apiVersion, kind, name, uid, controller), deletionTimestamp; status phase, conditions (type, status
//   only), podIP, startTime; name and namespace are its key. Its JSON is made only when someone asks;
// - ReplicaSet: a compact record of its metadata uid, resourceVersion, ownerReferences (they map pods to
//   Deployments); name and namespace are its key.
// Labels, owner references and conditions are interned: the pods of one ReplicaSet share one copy of
// each (at 120,000 pods, per-pod copies were about 40% of the pods' memory).
// JSON objects are shared immutable snapshots: a change replaces one, so what a reader holds never changes.
// The listener hears every change that can matter to a reader (not one of resourceVersion alone, of a
// VariantAutoscaling's status, or of a ConfigMap's metadata) as (kind, namespace, name); a ReplicaSet's
// change of owner is also heard as a change of each of its pods. A list that changes more than
// kManyChanges objects (the first list of each kind) is heard once, as "many changes of kind", when a
// many-changes listener is set: naming 190,000 objects costs more than a reader's full rebuild. The
// listeners run under the store's lock, so they must not call back into the store. Thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/cluster_backend.h"
#include "cluster/deployment_record.h"
#include "cluster/packed_object.h"

namespace wva::framework::kube {

struct OwnerRef {
  std::string api_version, kind, name, uid;
  std::optional<bool> controller;
  friend bool operator==(const OwnerRef&, const OwnerRef&) = default;
  friend auto operator<=>(const OwnerRef&, const OwnerRef&) = default;
};
using OwnerRefs = std::vector<OwnerRef>;
using Labels = std::vector<std::pair<std::string, std::string>>;      // sorted by key
using Conditions = std::vector<std::pair<std::string, std::string>>;  // (type, status)

// Equal values held once: intern() gives the pooled copy of a value. A value no record holds any more
// is dropped at the next sweep (when the pool has doubled since the last one). Not thread-safe.
template <typename T>
class InternPool {
 public:
  std::shared_ptr<const T> intern(T value) {
    auto it = values_.find(value);
    if (it != values_.end()) return *it;
    if (values_.size() >= sweep_at_) {
      std::erase_if(values_, [](const auto& v) { return v.use_count() == 1; });
      sweep_at_ = std::max<std::size_t>(kFirstSweep, 2 * values_.size());
    }
    return *values_.insert(std::make_shared<const T>(std::move(value))).first;
  }
  std::size_t size() const { return values_.size(); }

 private:
  static constexpr std::size_t kFirstSweep = 1024;
  struct Less {
    using is_transparent = void;
    bool operator()(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) const { return *a < *b; }
    bool operator()(const std::shared_ptr<const T>& a, const T& b) const { return *a < b; }
    bool operator()(const T& a, const std::shared_ptr<const T>& b) const { return a < *b; }
  };
  std::set<std::shared_ptr<const T>, Less> values_;
  std::size_t sweep_at_ = kFirstSweep;
};

struct PodRecord {
  // The text fields end to end in one string (six std::strings took 192 bytes before any text).
  enum Field { kUid, kResourceVersion, kDeletionTimestamp, kPhase, kPodIp, kStartTime, kFieldCount };
  void set_fields(const std::array<std::string, kFieldCount>& values);
  std::string_view field(Field f) const {
    const std::uint32_t begin = f == 0 ? 0 : ends[f - 1];
    return std::string_view(text).substr(begin, ends[f] - begin);
  }
  std::string text;
  std::array<std::uint32_t, kFieldCount> ends{};
  std::shared_ptr<const Labels> labels;  // never null
  std::shared_ptr<const OwnerRefs> owners;
  std::shared_ptr<const Conditions> conditions;
  // Equal apart from resourceVersion.
  bool same_as(const PodRecord& o) const;
};

struct ReplicaSetRecord {
  std::string uid, resource_version;
  std::shared_ptr<const OwnerRefs> owners;  // never null
};

// A Deployment as the cache keeps it: its trimmed JSON as MessagePack without metadata.resourceVersion
// (held apart, so versions that differ by it alone pack to the same bytes), and its DeploymentRecord.
struct DeploymentPack {
  std::shared_ptr<const std::vector<std::uint8_t>> bytes;  // never null
  std::optional<nlohmann::json> resource_version;          // metadata.resourceVersion, when it had one
  DeploymentRecordPtr record;                              // never null
  mutable std::weak_ptr<const nlohmann::json> unpacked;    // shared while a reader holds it

  // The object as it was given (resourceVersion put back). Not thread-safe: the store's lock.
  sdk::ObjectSnapshot object() const;
  std::string resource_version_text() const;  // "" unless a string
};

// A VariantAutoscaling as the cache keeps it. Its body (everything but status and
// metadata.resourceVersion) is what a reader can see change: equal bytes, the same shape; a status write
// answered by the watch leaves the body's bytes as they were.
struct VariantPack {
  std::vector<std::uint8_t> body;                  // MessagePack, exact size
  std::vector<std::uint8_t> status;                // MessagePack of status; empty when it had none
  std::optional<nlohmann::json> resource_version;  // metadata.resourceVersion, when it had one

  static VariantPack pack(nlohmann::json obj);
  sdk::ObjectSnapshot object() const;  // a fresh snapshot: the object as it was given
  std::optional<nlohmann::json> status_json() const;
  std::string resource_version_text() const;  // "" unless a string
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
    std::optional<PodRecord> pod;
    std::optional<ReplicaSetRecord> replica_set;
    std::optional<DeploymentPack> deployment;
    std::optional<VariantPack> variant;
  };

  explicit ObjectStore(Listener listener = {}, ManyChangesListener many = {})
      : listener_(std::move(listener)), many_listener_(std::move(many)) {}

  static std::string key_of(const nlohmann::json& obj);
  static std::string resource_version(const nlohmann::json& obj);
  // Trims an object of `kind` as the cache keeps it (see above), its labels, owners and conditions
  // interned. Consumes `obj`.
  Entry make_entry(const std::string& kind, nlohmann::json obj);

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
  // The cached object's metadata.resourceVersion ("" when it has none), nullopt when none is cached; no
  // JSON made.
  std::optional<std::string> cached_version(const std::string& kind, const std::string& ns,
                                            const std::string& name) const;
  std::size_t size(const std::string& kind) const;
  // The cached object's resourceVersion ("" when it has none) and status (nullopt when it has none),
  // nullopt when no object is cached: what a status write compares against, without the whole object.
  struct VersionedStatus {
    std::string resource_version;
    std::optional<nlohmann::json> status;
  };
  std::optional<VersionedStatus> cached_status(const std::string& kind, const std::string& ns,
                                               const std::string& name) const;

  // Pods with the Deployment each belongs to (Pod -> ReplicaSet -> Deployment), no JSON made.
  std::vector<PodOwner> pod_owners() const;
  std::optional<PodOwner> pod_owner(const std::string& ns, const std::string& name) const;
  // What the model views read of the Deployments, without unpacking them.
  std::vector<DeploymentRecordPtr> deployment_records() const;
  DeploymentRecordPtr deployment_record(const std::string& ns, const std::string& name) const;  // null: none
  // What the model views read of the HorizontalPodAutoscalers, each unpacked in turn.
  std::vector<HpaRecord> hpa_records() const;

 private:
  void put_locked(const std::string& kind, Entry entry);
  void erase_locked(const std::string& kind, const std::string& key);
  void notify(const std::string& kind, const std::string& key) const;
  void notify_pods_of(const std::string& rs_key) const;
  void index_pod_locked(const std::string& ns, const std::string& rs, const std::string* pod_key);
  void unindex_pod_locked(const std::string& ns, const std::string& rs, const std::string* pod_key);
  std::string deployment_of_locked(std::string_view ns, const PodRecord& pod) const;
  PodOwner pod_owner_locked(const std::string& key, const PodRecord& pod) const;
  sdk::ObjectSnapshot pod_json_locked(const std::string& key, const PodRecord& pod) const;

  Listener listener_;
  ManyChangesListener many_listener_;
  mutable std::mutex mutex_;
  // While replace() runs: the changes it made, heard at its end (one by one, or as many).
  std::vector<std::pair<std::string, std::string>>* held_changes_ = nullptr;  // (kind, key)
  // Any other kind (ConfigMaps, HorizontalPodAutoscalers): the trimmed JSON packed (cluster/packed_object.h;
  // 30,000 trimmed HPAs take 72 MB as JSON trees), unpacked while a reader holds it (get() under mutex_).
  std::map<std::string, std::map<std::string, PackedObject>> by_kind_;
  std::map<std::string, PodRecord> pods_;
  std::map<std::string, ReplicaSetRecord> replica_sets_;
  std::map<std::string, DeploymentPack> deployments_;
  std::map<std::string, VariantPack> variants_;
  // "ns/rs" -> the keys (in pods_, whose nodes do not move) of the pods it controls.
  std::map<std::string, std::vector<const std::string*>> pods_by_replica_set_;
  // make_entry runs on the informers' threads: its own lock.
  std::mutex intern_mutex_;
  InternPool<Labels> labels_pool_;
  InternPool<OwnerRefs> owners_pool_;
  InternPool<Conditions> conditions_pool_;
};

}  // namespace wva::framework::kube
