// Local backend: a folder of ordinary Kubernetes YAML (the same files `kubectl apply -f DIR` accepts).
// Multi-document files are allowed. Pods are synthesized: Deployment d with n replicas has pods d-0..d-<n-1>
// in d's namespace, labelled like the Deployment's pod template. Status patches and scale calls change
// the in-memory objects only.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/cluster_backend.h"
#include "wva/sdk/memory_cluster.h"

namespace wva::framework {

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

  std::string system_namespace() const override;
  sdk::Result<std::vector<nlohmann::json>> list(const std::string& kind, const std::string& ns) override;
  sdk::Result<std::optional<nlohmann::json>> get(const std::string& kind, const std::string& ns,
                                                 const std::string& name) override;
  sdk::Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                 const nlohmann::json& merge_patch) override;
  sdk::Result<void> scale(const std::string& ns, const std::string& deployment, int replicas) override;

 private:
  std::filesystem::path dir_;
  std::string system_namespace_;
  mutable std::mutex mutex_;
  // kind -> "ns/name" -> object
  std::map<std::string, std::map<std::string, nlohmann::json>> objects_;
  std::map<std::filesystem::path, std::filesystem::file_time_type> mtimes_;
};

// RFC 7386 JSON merge patch (the SDK's, shared with InMemoryCluster).
using sdk::apply_merge_patch;

}  // namespace wva::framework
