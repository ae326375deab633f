#include "cli/kube_backend.h"

#include <cstdlib>

#include "cluster/free_memory.h"
#include "cluster/kube/resources.h"

namespace wva::framework {

sdk::Result<std::shared_ptr<kube::KubeCluster>> connect_kube(const KubeFlags& flags,
                                                             const std::string& system_namespace,
                                                             std::shared_ptr<spdlog::logger> log,
                                                             const std::function<bool()>& cancelled) {
  auto connection = kube::resolve_connection(flags.kubeconfig, flags.context);
  if (!connection) return connection.error();
  for (const auto& w : connection->warnings) log->warn("{}", w);
  auto client = std::make_shared<kube::KubeClient>(*connection);
  const std::string where = "API server " + client->server() + " (" + connection->source + ")";
  // One request first: its failure is the clearest statement of what is wrong.
  const std::string probe = kube::kVariantAutoscalings.collection_path("") + "?limit=1";
  auto r = client->request("GET", probe, {}, {}, std::chrono::seconds(10));
  if (!r) return sdk::make_error(r.error().code, where + ": " + r.error().message);
  if (r->status == 404)
    return sdk::make_error(sdk::ErrorCode::kNotFound,
                           where +
                               ": the VariantAutoscaling CRD (variantautoscalings.llmd.ai) is not installed; "
                               "apply crds/ or the Helm chart first");
  if (r->status != 200) {
    auto e = kube::api_error(*r, "GET " + probe);
    return sdk::make_error(e.code, where + ": " + e.message);
  }
  kube::KubeClusterOptions options;
  options.system_namespace = system_namespace;
  options.watch_namespaces = flags.watch_namespaces;
  auto cluster = std::make_shared<kube::KubeCluster>(client, options, log);
  cluster->start();
  log->info("connected to {}; watching {}", where,
            flags.watch_namespaces.empty() ? std::string("all namespaces")
                                           : std::to_string(flags.watch_namespaces.size()) + " namespace(s)");
  const auto started = std::chrono::steady_clock::now();
  if (auto synced = cluster->wait_synced(flags.sync_timeout, cancelled); !synced) return synced.error();
  // The lists' pages were parsed on the informers' threads and freed; the allocator keeps such memory
  // (glibc in each thread's arena, tcmalloc in its caches). Handing it back keeps the resident size near
  // what the cache holds.
  release_free_memory();
  const auto count = [&](const char* kind) { return cluster->cached_count(kind); };
  log->info("caches synced in {} ms: {} VariantAutoscalings, {} Deployments, {} Pods",
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count(),
            count("VariantAutoscaling"), count("Deployment"), count("Pod"));
  return cluster;
}

void apply_log_level_env(spdlog::logger& log, bool verbose) {
  if (verbose) return;
  const char* env = std::getenv("LOG_LEVEL");
  if (!env || !*env) return;
  const std::string level = env;
  if (level == "debug") log.set_level(spdlog::level::debug);
  else if (level == "info") log.set_level(spdlog::level::info);
  else if (level == "warn" || level == "warning") log.set_level(spdlog::level::warn);
  else if (level == "error") log.set_level(spdlog::level::err);
  else log.warn("LOG_LEVEL=\"{}\" is not debug, info, warn or error; using info", level);
}

}  // namespace wva::framework
