// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
// - every retry period a replica tries to create the Lease, renew it (when it holds it) or take it over
//   (when its holder is empty, or the record has not changed for a whole lease duration as this replica
//   observed it: local observation, so clock skew between nodes does not matter);
// - writes carry the resourceVersion read, so two replicas racing for a Lease get one 409;
// - the leader that cannot renew within the renew deadline stops being leader: is_leader() is false once
//   the renew deadline has passed since the last successful renew was sent, whatever the loop is doing;
// - release() (on SIGTERM) clears holderIdentity so another replica takes over at its next retry.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include "cluster/kube/kube_client.h"

namespace wva::framework::kube {

struct LeaderElectionOptions {
  std::string lease_namespace;
  std::string lease_name = "workload-variant-autoscaler-leader";
  std::string identity;  // default_identity()
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
};

// A Lease's MicroTime for now: RFC 3339 with microseconds.
std::string micro_time_now();

// $POD_NAME, else the hostname, plus "_" and a random suffix (a restarted pod is a new candidate).
std::string default_identity();

class LeaderElector {
 public:
  LeaderElector(std::shared_ptr<KubeClient> client, LeaderElectionOptions options, std::shared_ptr<spdlog::logger> log);
  ~LeaderElector();

  void start();
  // Stops the loop; when leader, gives the Lease up so another replica takes over at once.
  void release();
  bool is_leader() const;
  const std::string& identity() const { return options_.identity; }

 private:
  void run();
  // One attempt to acquire or renew; true when this replica holds the Lease afterwards.
  bool try_acquire_or_renew();
  nlohmann::json record(const nlohmann::json& previous, bool transition) const;

  std::shared_ptr<KubeClient> client_;
  LeaderElectionOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> leader_{false};
  std::atomic<std::int64_t> last_renew_ns_{0};  // steady_clock when the last successful acquire/renew was sent
  // What this replica last saw of the Lease, and when it changed (steady clock).
  std::string observed_holder_, observed_renew_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace wva::framework::kube
