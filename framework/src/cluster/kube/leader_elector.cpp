#include "cluster/kube/leader_elector.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <random>

#include "cluster/kube/resources.h"

namespace wva::framework::kube {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch()).count();
}

}  // namespace

std::string micro_time_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(micros));
  return out;
}

std::string default_identity() {
  std::string base;
  if (const char* pod = std::getenv("POD_NAME"); pod && *pod) base = pod;
  if (base.empty()) {
    char host[256] = {0};
    base = gethostname(host, sizeof host - 1) == 0 && *host ? host : "wva";
  }
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", rd());
  return base + "_" + suffix;
}

LeaderElector::LeaderElector(std::shared_ptr<KubeClient> client, LeaderElectionOptions options,
                             std::shared_ptr<spdlog::logger> log)
    : client_(std::move(client)), options_(std::move(options)), log_(std::move(log)) {
  if (options_.identity.empty()) options_.identity = default_identity();
}

LeaderElector::~LeaderElector() { release(); }

void LeaderElector::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

bool LeaderElector::is_leader() const {
  if (!leader_.load()) return false;
  // Counted from when the last successful renew was sent, not answered: the apiserver applied it at some
  // moment in between, and a standby waits a lease duration from when it saw that write, so a reply that
  // came late must not stretch this replica's term. The renew deadline is below the lease duration, as in
  // client-go, leaving the difference for the two replicas' clock rates.
  return steady_ns() - last_renew_ns_.load() <
         std::chrono::duration_cast<std::chrono::nanoseconds>(options_.renew_deadline).count();
}

json LeaderElector::record(const json& previous, bool transition) const {
  json lease = previous.is_object() ? previous : json::object();
  lease["apiVersion"] = kLeases.api_version();
  lease["kind"] = "Lease";
  lease["metadata"]["name"] = options_.lease_name;
  lease["metadata"]["namespace"] = options_.lease_namespace;
  auto& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  const std::string now = micro_time_now();
  spec["holderIdentity"] = options_.identity;
  // Whole seconds, rounded up: a standby must wait at least the duration this replica counts on.
  spec["leaseDurationSeconds"] =
      std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(options_.lease_duration).count());
  spec["renewTime"] = now;
  if (transition || !spec.contains("acquireTime")) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + (previous.is_object() ? 1 : 0);
  }
  return lease;
}

bool LeaderElector::try_acquire_or_renew() {
  const std::string path = kLeases.object_path(options_.lease_namespace, options_.lease_name);
  auto got = client_->request("GET", path, {}, {}, options_.retry_period * 2);
  if (!got) {
    log_->warn("leader election: {}", got.error().message);
    return false;
  }
  if (got->status == 404) {
    json lease = record(json(), true);
    lease["spec"]["leaseTransitions"] = 0;
    auto created = client_->request("POST", kLeases.collection_path(options_.lease_namespace), lease.dump(),
                                    "application/json", options_.retry_period * 2);
    return created && created->status == 201;
  }
  if (got->status != 200) {
    log_->warn("leader election: {}", api_error(*got, "GET " + path).message);
    return false;
  }
  json current;
  try {
    current = json::parse(got->body);
  } catch (const std::exception&) {
    return false;
  }
  const json spec = current.value("spec", json::object());
  const std::string holder = spec.value("holderIdentity", "");
  const std::string renew = spec.value("renewTime", "");
  if (holder != observed_holder_ || renew != observed_renew_ || observed_at_ == Steady::time_point{}) {
    observed_holder_ = holder;
    observed_renew_ = renew;
    observed_at_ = Steady::now();
  }
  const bool mine = holder == options_.identity;
  std::chrono::milliseconds duration = options_.lease_duration;
  if (spec.contains("leaseDurationSeconds") && spec["leaseDurationSeconds"].is_number_integer())
    duration = std::chrono::seconds(spec["leaseDurationSeconds"].get<long long>());
  const bool expired = holder.empty() || Steady::now() - observed_at_ >= duration;
  if (!mine && !expired) return false;
  json lease = record(current, !mine);
  auto put = client_->request("PUT", path, lease.dump(), "application/json", options_.retry_period * 2);
  if (!put || put->status != 200) return false;  // 409: someone else wrote first
  observed_holder_ = options_.identity;
  observed_renew_ = lease["spec"]["renewTime"];
  observed_at_ = Steady::now();
  return true;
}

void LeaderElector::run() {
  log_->info("leader election: candidate {} for Lease {}/{}", options_.identity, options_.lease_namespace,
             options_.lease_name);
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    const std::int64_t sent = steady_ns();
    const bool held = try_acquire_or_renew();
    lock.lock();
    if (stop_) break;
    if (held) {
      last_renew_ns_ = sent;
      if (!leader_.exchange(true)) log_->info("leader election: {} is now the leader; publishing", options_.identity);
    } else if (leader_.load() &&
               steady_ns() - last_renew_ns_.load() >=
                   std::chrono::duration_cast<std::chrono::nanoseconds>(options_.renew_deadline).count()) {
      leader_ = false;
      log_->warn("leader election: {} could not renew the Lease within {}ms; no longer the leader, not publishing",
                 options_.identity, options_.renew_deadline.count());
    }
    cv_.wait_for(lock, options_.retry_period, [&] { return stop_; });
  }
}

void LeaderElector::release() {
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!leader_.exchange(false)) return;
  const std::string path = kLeases.object_path(options_.lease_namespace, options_.lease_name);
  auto got = client_->request("GET", path, {}, {}, std::chrono::seconds(2));
  if (!got || got->status != 200) return;
  try {
    json lease = json::parse(got->body);
    if (lease["spec"].value("holderIdentity", "") != options_.identity) return;
    lease["spec"]["holderIdentity"] = "";
    lease["spec"]["leaseDurationSeconds"] = 1;
    lease["spec"]["renewTime"] = micro_time_now();
    auto put = client_->request("PUT", path, lease.dump(), "application/json", std::chrono::seconds(2));
    if (put && put->status == 200)
      log_->info("leader election: released Lease {}/{}", options_.lease_namespace, options_.lease_name);
  } catch (const std::exception&) {}
}

}  // namespace wva::framework::kube
