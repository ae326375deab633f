// `wva run` / `wva validate` without --local: connect to the API server (in-cluster config in a pod, else
// the kubeconfig), check once that it answers and lets us list VariantAutoscalings (one clear line when
// not: unreachable, 401, 403, CRD missing), then start the informers and wait for their first sync.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "cluster/kube/kube_cluster.h"

namespace wva::framework {

struct KubeFlags {
  std::string kubeconfig;
  std::string context;
  std::vector<std::string> watch_namespaces;
  std::chrono::milliseconds sync_timeout{120000};
};

sdk::Result<std::shared_ptr<kube::KubeCluster>> connect_kube(const KubeFlags& flags,
                                                             const std::string& system_namespace,
                                                             std::shared_ptr<spdlog::logger> log,
                                                             const std::function<bool()>& cancelled = {});

// LOG_LEVEL (debug|info|warn|error) sets the level unless --verbose asked for debug. Unknown: a warning.
void apply_log_level_env(spdlog::logger& log, bool verbose);

}  // namespace wva::framework
