// The Kubernetes API backend: informer caches of VariantAutoscalings, Deployments, ReplicaSets and Pods
// (in the watched namespaces, default all) and ConfigMaps (the controller's namespace), served through
// ClusterView; writes (status, scale) go to the API.
//
// - Pods are annotated `wva.llmd.ai/deployment: <name>` from their ownerReferences (Pod -> ReplicaSet ->
//   Deployment), which is how the model builder maps real pods (<deployment>-<hash>-<suffix>);
//   list_pod_owners gives the model builder the same without making the pods' JSON.
// - revision() is bumped when a VA's spec/metadata (not its status), a Deployment, ReplicaSet, Pod or a
//   ConfigMap's data changes, and changes_since() names those objects (a ReplicaSet whose owner changed
//   also names its pods); after a list that changed more than ObjectStore::kManyChanges objects (the
//   first sync at scale) it names nothing and answers nullopt: the reader rebuilds. A VA or ConfigMap change also calls
//   the change listener (the host runs a cycle soon after).
// - patch_status sends a merge patch to /status carrying the cached resourceVersion, so a stale write gets
//   409; on 409 the object is re-read into the cache and kConflict returned (the status sink re-reads and
//   retries). A patch that would change nothing but lastRunTime stamps is not sent.
// - Reads of other kinds, or of ConfigMaps outside the controller's namespace, go to the API directly.
// - What the cache keeps of each kind is in object_store.h (pods and ReplicaSets as compact records,
//   Deployments without most of their pod template): at 100,000 pods whole objects would dominate the
//   controller's memory.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "cluster/change_log.h"
#include "cluster/cluster_backend.h"
#include "cluster/kube/access_reviews.h"
#include "cluster/kube/kube_client.h"
#include "cluster/kube/object_store.h"
#include "cluster/kube/reflector.h"

namespace wva::framework::kube {

struct KubeClusterOptions {
  std::string system_namespace = "workload-variant-autoscaler-system";
  std::vector<std::string> watch_namespaces;  // empty = all namespaces
  ReflectorOptions reflector;
};

class KubeCluster final : public ClusterBackend {
 public:
  KubeCluster(std::shared_ptr<KubeClient> client, KubeClusterOptions options, std::shared_ptr<spdlog::logger> log);
  ~KubeCluster() override;

  // Starts the informers (idempotent).
  void start();
  void stop();
  // Waits until every informer has listed once. On timeout (or `cancelled` turning true) the error
  // names each informer not synced and its last error ("variantautoscalings (all namespaces): GET ...:
  // HTTP 401 Unauthorized").
  sdk::Result<void> wait_synced(std::chrono::milliseconds timeout, const std::function<bool()>& cancelled = {});
  bool synced() const;
  // Called (from an informer thread) when a VA or one of the controller's ConfigMaps changed.
  void set_change_listener(std::function<void()> listener);

  sdk::Result<void> refresh() override;
  std::string describe() const override { return "kube:" + client_->server(); }
  std::uint64_t revision() const override { return revision_.load(); }
  std::optional<std::vector<ObjectRef>> changes_since(std::uint64_t revision) const override {
    return changes_.since(revision);
  }
  sdk::Result<std::vector<PodOwner>> list_pod_owners() override;
  sdk::Result<std::optional<PodOwner>> get_pod_owner(const std::string& ns, const std::string& name) override;
  // The cached Deployments' records, without unpacking them.
  sdk::Result<std::vector<DeploymentRecordPtr>> list_deployment_records() override;
  sdk::Result<DeploymentRecordPtr> get_deployment_record(const std::string& ns, const std::string& name) override;
  // The cached HPAs' records, each unpacked in turn.
  sdk::Result<std::vector<HpaRecord>> list_hpa_records() override;
  void subscribe_changes(std::function<void()> listener) override { set_change_listener(std::move(listener)); }
  // How many objects of a cached kind the cache holds (no copies, no JSON made).
  std::size_t cached_count(const std::string& kind) const { return store_.size(kind); }
  sdk::AccessReviewer* access_reviewer() override { return &access_reviewer_; }

  std::string system_namespace() const override { return options_.system_namespace; }
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string& kind, const std::string& ns) override;
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string& kind, const std::string& ns,
                                              const std::string& name) override;
  sdk::Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                 const nlohmann::json& merge_patch) override;
  sdk::Result<void> scale(const std::string& ns, const std::string& deployment, int replicas) override;
  // "rv:" and metadata.resourceVersion (from the cache when the kind is cached, no JSON made; else a GET);
  // an object without one: a digest of its JSON.
  sdk::Result<std::optional<std::string>> object_version(const std::string& kind, const std::string& ns,
                                                         const std::string& name) override;
  // Records a core/v1 Event on the object: queued here, sent by the event sender thread (a failed send
  // is logged, not returned). Folded as client-go's EventCorrelator folds them, so memory stays bounded
  // and no object's latest Event is lost to a burst:
  // - the same (object, type, reason, message) again within kEventRepeatWindow bumps the count of its
  //   Event; the count is sent (a PATCH) with the Event's next change, or after the window;
  // - more than kSimilarEventsLimit distinct messages for one (object, type, reason) within the window
  //   fold into one Event of that reason whose message is the latest, prefixed "(combined from similar
  //   events): ", with the count bumped;
  // - an Event is queued once however often it recurs before it is sent: the queue holds at most one
  //   entry per Event record. Records of Events neither queued nor seen within the window are forgotten
  //   (once a window, and when kEventRecordLimit is reached; a repeat of one is then sent as a new
  //   Event, as client-go's LRU of 4,096 forgets); past the limit a new Event is dropped and counted in a
  //   warning;
  // - a message longer than kEventMessageLimit bytes is cut there (on a UTF-8 boundary), ending "...".
  sdk::Result<void> emit_event(const nlohmann::json& object, const std::string& type, const std::string& reason,
                               const std::string& message) override;
  static constexpr std::chrono::seconds kEventRepeatWindow{300};
  static constexpr int kSimilarEventsLimit = 10;  // client-go's maxEvents per aggregate key
  // Records held at most: about 70 MB with typical names and messages (a record is its key, its
  // involved object's uid and resourceVersion and its Event's name: 600-700 bytes).
  static constexpr std::size_t kEventRecordLimit = 100000;
  // A longer message is cut to this many bytes (events.k8s.io's limit on an Event's note), ending "...":
  // an error listing every problem of a config must not make an Event, or a record, of any size.
  static constexpr std::size_t kEventMessageLimit = 1024;
  static constexpr std::chrono::seconds kEventDrainBound{5};  // on destruction
  static constexpr int kEventSendAttempts = 5;                // per Event, on 429, 5xx or no answer
  static constexpr std::chrono::seconds kEventTimeout{30};    // each send
  // Events sent (POST or PATCH answered 2xx), and Events dropped or given up after kEventSendAttempts.
  std::uint64_t events_sent() const { return events_sent_.load(); }
  std::uint64_t events_lost() const { return events_lost_.load(); }

  KubeClient& client() { return *client_; }
  // For tests: how many PATCHes to /status were sent, and how many full lists the informers did.
  std::uint64_t status_patches_sent() const { return status_patches_.load(); }
  std::uint64_t lists() const;

 private:
  void on_change(const std::string& kind, const std::string& ns, const std::string& name);
  void on_many_changes(const std::string& kind);
  bool cached(const std::string& kind, const std::string& ns) const;

  std::shared_ptr<KubeClient> client_;
  KubeAccessReviewer access_reviewer_{client_};
  KubeClusterOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  ObjectStore store_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
  std::atomic<std::uint64_t> revision_{1};
  ChangeLog changes_;
  std::atomic<std::uint64_t> status_patches_{0};
  mutable std::mutex mutex_;
  std::condition_variable synced_cv_;
  std::function<void()> change_listener_;
  bool started_ = false;
  // What an Event record's key names: "<kind>/<namespace>/<name>\x1f<type>\x1f<reason>\x1f<message>".
  struct EventKeyParts {
    std::string_view kind, ns, name, type, reason;
  };
  // One Event object as recorded and, once sent, as the API server has it. The involved object's kind,
  // namespace and name and the Event's type and reason are read from the record's key, split by the sizes
  // recorded with it (so any byte may appear in a part): at 10,000 VAs a cycle records some 40,000
  // Events, and a copy of each part held here was a string per part per record. The message too is the
  // key's, but for the reason's combined Event (whose key ends with an empty message).
  struct EventRecord {
    std::uint32_t kind_size = 0, ns_size = 0, name_size = 0, type_size = 0, reason_size = 0;
    const std::string* involved_api_version = nullptr;  // in event_api_versions_, never null once recorded
    std::string involved_uid, involved_rv;
    std::string combined_message;               // the combined Event's latest message; empty for the others
    std::string event_name;                     // empty until created
    std::time_t first_time = 0, last_time = 0;  // formatted when sent
    int count = 0;                              // occurrences, folded ones included
    int sent_count = 0;                         // what the API server has
    std::size_t sent_message_hash = 0;          // of the message the API server has
    std::chrono::steady_clock::time_point last_seen, last_sent;
    bool queued = false;
    int attempts = 0;

    EventKeyParts parts(std::string_view key) const {
      EventKeyParts p;
      std::size_t at = 0;
      auto next = [&](std::uint32_t size) {
        const std::string_view part = key.substr(at, size);
        at += size + 1;  // and its separator
        return part;
      };
      p.kind = next(kind_size);
      p.ns = next(ns_size);
      p.name = next(name_size);
      p.type = next(type_size);
      p.reason = next(reason_size);
      return p;
    }
    std::string_view message(std::string_view key) const {
      const std::string_view own = key.substr(std::min<std::size_t>(
          key.size(), std::size_t(kind_size) + ns_size + name_size + type_size + reason_size + 5));
      return own.empty() ? std::string_view(combined_message) : own;
    }
  };
  bool make_room_locked(std::chrono::steady_clock::time_point now);
  void forget_stale_events_locked(std::chrono::steady_clock::time_point now);
  void send_events();
  void send_event(const std::string& key);
  void stop_events();
  std::mutex events_mutex_;
  std::condition_variable event_queue_cv_;
  // Keyed "<kind>/<ns>/<name>\x1f<type>\x1f<reason>\x1f<message>" (the combined Event of a reason: an
  // empty message with a trailing "\x1f"), so the records of one (object, type, reason) are adjacent.
  std::map<std::string, EventRecord> event_records_;
  // The keys (in event_records_, whose nodes do not move; a queued record is never forgotten) of the
  // records to send, each at most once.
  std::deque<const std::string*> event_queue_;
  std::set<std::string> event_api_versions_;  // the involved objects' apiVersions, held once
  std::chrono::steady_clock::time_point last_event_sweep_{};
  bool events_stopping_ = false;
  std::uint64_t event_serial_ = 0;
  std::atomic<std::uint64_t> events_sent_{0}, events_lost_{0};
  std::thread event_sender_;  // started at the first Event
};

}  // namespace wva::framework::kube
