// The local backend as it was before it kept Deployments packed: the reference the current one is compared
// with (LocalClusterReference.*). Not used by the product.
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
#include "wva/sdk/util/memory_cluster.h"

namespace wva::framework::reference {

class LocalCluster final : public ClusterBackend {
 public:
  // system_namespace: where wva-pipelines & co live (default "workload-variant-autoscaler-system",
  // env POD_NAMESPACE overrides in the CLI).
  LocalCluster(std::filesystem::path dir, std::string system_namespace);

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

  std::string system_namespace() const override;
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string& kind, const std::string& ns) override;
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string& kind, const std::string& ns,
                                              const std::string& name) override;
  sdk::Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                 const nlohmann::json& merge_patch) override;
  sdk::Result<void> scale(const std::string& ns, const std::string& deployment, int replicas) override;

 private:
  struct FileStamp {
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  using Stamps = std::map<std::filesystem::path, FileStamp>;
  struct Snapshot {
    std::vector<nlohmann::json> objects;  // as written in the files
    Stamps stamps;
  };

  sdk::Result<Stamps> scan() const;
  sdk::Result<Snapshot> read_folder(const Stamps& stamps) const;
  // Installs a snapshot; `keep_memory` carries over status patches / scale() of unchanged objects.
  void install(Snapshot snapshot, bool keep_memory);

  std::filesystem::path dir_;
  std::string system_namespace_;
  mutable std::mutex mutex_;  // serializes load/refresh with the writes (patch_status, scale)
  sdk::InMemoryCluster store_;
  // "kind/ns/name" -> the object as last read from disk (the store shares it while nothing changed it).
  std::map<std::string, sdk::ObjectSnapshot> file_objects_;
  Stamps stamps_;
  bool loaded_ = false;
  std::atomic<std::uint64_t> revision_{0};
  ChangeLog changes_;
};

}  // namespace wva::framework::reference
