// Local backend: a folder of ordinary Kubernetes YAML (the same files `kubectl apply -f DIR` accepts).
// Multi-document files are allowed. Pods are synthesized: Deployment d with n replicas has pods d-0..d-<n-1>
// in d's namespace, labelled like the Deployment's pod template. Status patches and scale calls change
// the in-memory objects only (the files are never written); a status patch that would change nothing but
// lastRunTime stamps is not stored (as the kube backend does not send it; cluster/status_patch.h).
//
// Every object needs apiVersion, kind and metadata.name; metadata.namespace defaults to "default"; any kind
// is kept (list by kind works); VariantAutoscalings must be llmd.ai/v1alpha1; `kind: List` is unpacked.
// ConfigMap data values are kept as the text written in the file (`ratio: 0.8` reads as "0.8").
// Hidden files and kustomization.yaml are skipped.
//
// Deployments are held packed (cluster/packed_object.h, about a tenth of their JSON's memory) with their
// DeploymentRecord, which is what the model views read; a reader asking for one gets its JSON unpacked
// (the same snapshot while anyone holds it). Their pods are synthesized here as the SDK's
// InMemoryCluster synthesizes them.
//
// refresh() re-reads the folder when a file was added, removed, or its mtime/size changed. An object whose
// file content (apart from status) is unchanged keeps its in-memory status patches and scale() result; a
// changed object is taken from the file. On any error the previous state stays and the error is returned
// (every problem, one per line: "dir/file.yaml[doc 2]: missing metadata.name").
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/change_log.h"
#include "cluster/cluster_backend.h"
#include "cluster/packed_object.h"
#include "wva/sdk/util/memory_cluster.h"

namespace wva::framework {

class LocalCluster final : public ClusterBackend {
 public:
  // system_namespace: where wva-pipelines & co live (default "workload-variant-autoscaler-system",
  // env POD_NAMESPACE overrides in the CLI).
  LocalCluster(std::filesystem::path dir, std::string system_namespace);

  // Objects that stand beside the folder's (e.g. the HPAs a simulation's fleet model stands for): read with the
  // files at every load and refresh, checked as they are ("<origin>[i]: ..." in errors), and a name both
  // define is an error. Set before load().
  void set_extra_objects(std::vector<nlohmann::json> objects, std::string origin);

  // Loads every *.yaml / *.yml / *.json in the folder (not recursive, sorted by name). All errors are
  // collected: "quickstart/va.yaml[doc 2]: ...".
  sdk::Result<void> load();

  sdk::Result<void> refresh() override;
  std::string describe() const override;
  std::uint64_t revision() const override { return revision_.load(); }
  // Changes made through patch_status (other than VAs') and scale(); a re-read folder answers nullopt.
  std::optional<std::vector<ObjectRef>> changes_since(std::uint64_t revision) const override {
    return changes_.since(revision);
  }
  // Synthesized pods from the Deployments' replica counts, without making their JSON.
  sdk::Result<std::vector<PodOwner>> list_pod_owners() override;
  sdk::Result<std::optional<PodOwner>> get_pod_owner(const std::string& ns, const std::string& name) override;
  // The Deployments' records, without unpacking them.
  sdk::Result<std::vector<DeploymentRecordPtr>> list_deployment_records() override;
  sdk::Result<DeploymentRecordPtr> get_deployment_record(const std::string& ns, const std::string& name) override;
  // The HPAs' records, each unpacked in turn.
  sdk::Result<std::vector<HpaRecord>> list_hpa_records() override;

  std::string system_namespace() const override;
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string& kind, const std::string& ns) override;
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string& kind, const std::string& ns,
                                              const std::string& name) override;
  sdk::Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                 const nlohmann::json& merge_patch) override;
  sdk::Result<void> scale(const std::string& ns, const std::string& deployment, int replicas) override;
  // Deployments and VariantAutoscalings: "local:<n>", n moved by every write of the object (a status
  // patch that stores something, scale(), a re-read folder), never reused; other kinds: a digest.
  sdk::Result<std::optional<std::string>> object_version(const std::string& kind, const std::string& ns,
                                                         const std::string& name) override;

 private:
  struct FileStamp {
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  using Stamps = std::map<std::filesystem::path, FileStamp>;
  // A Deployment, VariantAutoscaling or HPA as read from its file, packed as soon as its file is read: the
  // JSON of a whole fleet at once (30,000 Deployments and as many HPAs) was the load's peak, and the
  // long-lived objects made while it was held pinned the allocator's pages it freed.
  struct ReadObject {
    enum class Kind { kDeployment, kVariantAutoscaling, kHpa } kind;
    std::string key;  // "ns/name"
    PackedObject from_file;
    DeploymentRecordPtr record;  // a Deployment's
    long long pods = 0;          // a Deployment's synthesized pods
  };
  struct Snapshot {
    std::vector<ReadObject> packed;       // in the order of the files
    std::vector<nlohmann::json> objects;  // every other kind, as written in the files
    Stamps stamps;
  };
  // Moves the objects of snap.objects from index `first` on that install() keeps packed into snap.packed.
  static void pack_read(Snapshot& snap, std::size_t first);

  // A VariantAutoscaling: its status, which the status sink writes every cycle something changes, takes
  // several KB as JSON (10,000 VAs: about 70 MB); packed, about a third of it.
  struct LocalVa {
    PackedObject from_file;     // as last read from disk
    PackedObject current;       // shares from_file's bytes until a status patch changes it
    std::uint64_t version = 0;  // of `current` (object_version)
  };
  struct LocalDeployment {
    PackedObject from_file;      // as last read from disk
    PackedObject current;        // shares from_file's bytes until scale() or a status patch changes it
    DeploymentRecordPtr record;  // never null
    long long pods = 0;          // synthesized pods <name>-0 .. <name>-<pods-1>
    std::uint64_t version = 0;   // of `current` (object_version)
  };
  // A Deployment record for `current` (`object` unpacked), with the next version.
  LocalDeployment local_deployment(PackedObject from_file, PackedObject current, const nlohmann::json& object);
  // Puts the Deployments of namespace `ns` ("" = all), or the one named, in `scratch`: to synthesize their
  // pods or apply a status patch exactly as InMemoryCluster does.
  void fill_scratch(sdk::InMemoryCluster& scratch, const std::string& ns, const std::string* name = nullptr) const;
  sdk::Result<void> patch_deployment_status_locked(const std::string& ns, const std::string& name,
                                                   const nlohmann::json& merge_patch);
  sdk::Result<void> patch_va_status_locked(const std::string& ns, const std::string& name,
                                           const nlohmann::json& merge_patch);

  sdk::Result<Stamps> scan() const;
  sdk::Result<Snapshot> read_folder(const Stamps& stamps) const;
  // Installs a snapshot; `keep_memory` carries over status patches / scale() of unchanged objects.
  void install(Snapshot snapshot, bool keep_memory);

  std::filesystem::path dir_;
  std::string system_namespace_;
  std::vector<nlohmann::json> extra_objects_;
  std::string extra_origin_;
  // Serializes load/refresh with the writes (patch_status, scale); guards deployments_ and vas_.
  mutable std::mutex mutex_;
  sdk::InMemoryCluster store_;
  // "kind/ns/name" -> the object as last read from disk (the store shares it while nothing changed it);
  // Deployments are in deployments_, VariantAutoscalings in vas_.
  std::map<std::string, sdk::ObjectSnapshot> file_objects_;
  std::map<std::string, LocalDeployment> deployments_;  // "ns/name"
  std::map<std::string, LocalVa> vas_;                  // "ns/name"
  // HorizontalPodAutoscalers, packed: a fleet has one per variant (30,000 as JSON trees: about 190 MB).
  std::map<std::string, PackedObject> hpas_;  // "ns/name"
  std::uint64_t last_version_ = 0;            // the latest object_version handed to a write
  Stamps stamps_;
  bool loaded_ = false;
  std::atomic<std::uint64_t> revision_{0};
  ChangeLog changes_;
};

// RFC 7396 JSON merge patch (the SDK's, shared with InMemoryCluster).
using sdk::apply_merge_patch;

}  // namespace wva::framework
