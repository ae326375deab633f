// One informer loop (client-go's Reflector): list a resource (paged with limit/continue), then watch it
// from the list's resourceVersion with bookmarks, feeding an ObjectStore.
// - A watch that ends normally (timeoutSeconds, server closed, connection dropped) reconnects from the
//   last resourceVersion seen (an event's or a bookmark's).
// - 410 Gone (as an HTTP answer or an ERROR event) means the history was compacted: list again; so does
//   "Too large resource version" (504, cause ResourceVersionTooLarge: an apiserver whose watch cache is
//   behind the list's, or an etcd restored from a backup), which retrying the same version never cures.
// - Each watch asks for a timeoutSeconds drawn in [watch_timeout_seconds, 2 x that), as client-go does, so
//   the informers of a replica (and the replicas) do not all reconnect at once.
// - Errors back off exponentially with jitter; 429/503 with Retry-After wait that long instead (a list
//   page or a request answered 429 is first retried by the client, KubeClient::request).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include <spdlog/logger.h>

#include "cluster/kube/backoff.h"
#include "cluster/kube/kube_client.h"
#include "cluster/kube/object_store.h"
#include "cluster/kube/resources.h"

namespace wva::framework::kube {

struct ReflectorOptions {
  std::size_t page_size = 500;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{30000};
};

class Reflector {
 public:
  Reflector(KubeClient& client, const ResourceType& resource, std::string ns, ObjectStore& store,
            ReflectorOptions options, std::shared_ptr<spdlog::logger> log, std::function<void()> on_synced);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  void stop();
  bool synced() const { return synced_.load(); }
  // The last error, "" once a list or watch succeeded after it.
  std::string last_error() const;
  std::string describe() const;
  std::uint64_t lists() const { return lists_.load(); }

 private:
  enum class WatchEnd { kReconnect, kRelist, kError };
  void run();
  sdk::Result<std::string> list_all();  // returns the list's resourceVersion
  // True (and logged) when an object from the API nests deeper than the input limits allow.
  bool too_deep(const nlohmann::json& object, const char* doing) const;
  WatchEnd watch(const std::string& from, std::string& last_rv);
  void fail(const std::string& error, std::optional<std::chrono::seconds> retry_after);
  void recovered();
  void sleep_for(std::chrono::milliseconds d);

  KubeClient& client_;
  const ResourceType& resource_;
  std::string ns_;
  ObjectStore& store_;
  ReflectorOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::function<void()> on_synced_;
  Backoff backoff_;
  std::mt19937 watch_jitter_{std::random_device{}()};
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::atomic<std::uint64_t> lists_{0};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string last_error_;
  std::optional<std::chrono::seconds> list_retry_after_;  // from the last failed list page
  int list_status_ = 0;                                   // HTTP status of the last failed list page
  std::thread thread_;
};

}  // namespace wva::framework::kube
