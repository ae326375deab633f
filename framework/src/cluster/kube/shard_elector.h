// Automatic sharding on coordination.k8s.io/v1 Leases (`wva run --leader-elect --shards N`), built like
// LeaderElector (leader_elector.h) but with one Lease per shard:
// - every replica holds a membership Lease `<lease-name>-member-<16 hex digits of fnv1a64(identity)>`
//   (holderIdentity = its identity) and renews it every retry period; the live replicas are the holders of
//   membership (and shard) Leases whose record changed within their lease duration as this replica
//   observed it (local observation: clock skew between nodes does not matter);
// - shard i is the Lease `<lease-name>-shard-<i>`; a replica aims at its fair share ceil(N / live
//   replicas): below it, it takes shards that are free (released, or never created) or expired (unchanged
//   for a whole lease duration), starting at a place given by its identity so that replicas spread; above
//   it, while another live replica holds fewer than the fair share, it gives the extras up;
// - a shard given up stops being owned at once and its Lease is released (holderIdentity cleared) once
//   lease duration - renew deadline has passed (renewed meanwhile), so a publish already under way has as
//   long to finish before another replica can take the shard as it has when a replica dies;
// - the first pass only announces membership: replicas started together see each other before taking
//   shards, instead of the first one taking them all;
// - writes carry the resourceVersion read, so two replicas racing for a shard get one 409;
// - owns(i) is true only within the renew deadline of the start of the last successful write of shard i's
//   Lease (another replica can take it only a lease duration after it saw that write): a replica that
//   cannot renew stops publishing before anyone else may start;
// - release() (on SIGTERM) clears the holder of every shard it holds and deletes its membership Lease, so
//   the others take the shards over at their next retry; a dead replica's shards are taken over once its
//   Leases have not changed for a lease duration. Expired membership Leases are deleted by the survivors.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include "cluster/kube/kube_client.h"
#include "wva/sdk/context.h"

namespace wva::framework::kube {

struct ShardElectionOptions {
  std::string lease_namespace;
  std::string lease_name = "workload-variant-autoscaler-leader";  // the prefix of every Lease
  std::string identity;                                           // default_identity()
  std::size_t shards = 2;
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
};

std::string shard_lease_name(const std::string& lease_name, std::size_t shard);
std::string member_lease_name(const std::string& lease_name, const std::string& identity);

class ShardElector {
 public:
  ShardElector(std::shared_ptr<KubeClient> client, ShardElectionOptions options, std::shared_ptr<spdlog::logger> log);
  ~ShardElector();
  ShardElector(const ShardElector&) = delete;
  ShardElector& operator=(const ShardElector&) = delete;

  // Before start(): called (from the election thread) whenever the owned shards change.
  void on_change(std::function<void()> callback) { on_change_ = std::move(callback); }
  // Before start(): gauges wva_shards, wva_shards_owned, wva_shard_owned{shard} and
  // wva_shard_live_replicas go here.
  void attach_metrics(sdk::MetricsRegistry* metrics) { metrics_ = metrics; }

  void start();
  // Stops the loop and gives every shard up (and the membership) so the others take over at once.
  void release();
  // Stops the loop and gives nothing up, as a process that died would leave its Leases (tests).
  void halt();

  // Thread-safe and cheap: asked for every model of every cycle.
  bool owns(std::size_t shard) const;
  std::vector<std::size_t> owned() const;
  std::size_t shards() const { return options_.shards; }
  const std::string& identity() const { return options_.identity; }

 private:
  struct Observed {
    std::string holder, renew;
    std::chrono::steady_clock::time_point at{};
  };
  struct Seen {
    bool exists = false;
    std::string holder;
    nlohmann::json object;
    bool live = false;  // held (holder set) and changed within its lease duration as observed
  };

  void run();
  void stop_loop();
  void pass(bool first);
  // The Leases of the namespace with our prefix, by name; false when the list failed.
  bool list(std::map<std::string, Seen>& out);
  bool renew_membership(const Seen& member);
  // Writes shard i's Lease with this replica as holder (renew, take over or create); true on success.
  // With `own`, a success makes the shard owned until the renew deadline from the write's start.
  bool write_shard(std::size_t shard, const Seen& seen, bool own = true);
  bool release_shard(std::size_t shard, const Seen& seen);
  nlohmann::json record(const nlohmann::json& previous, const std::string& name, bool transition) const;
  void set_owned_until(std::size_t shard, std::int64_t until_ns);
  void publish_state(std::size_t live_replicas);

  std::shared_ptr<KubeClient> client_;
  ShardElectionOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::string member_name_;
  std::function<void()> on_change_;
  sdk::MetricsRegistry* metrics_ = nullptr;
  // Per shard: steady-clock ns until which this replica may act as the owner; 0 = not owned.
  std::unique_ptr<std::atomic<std::int64_t>[]> owned_until_;
  // Loop thread only.
  std::map<std::string, Observed> observed_;
  std::map<std::size_t, std::chrono::steady_clock::time_point> releasing_;  // given up (when), not yet released
  std::vector<bool> last_owned_;                                            // for logging and on_change
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace wva::framework::kube
