#include "cluster/kube/shard_elector.h"

#include <algorithm>
#include <cstdio>

#include "cluster/kube/leader_elector.h"
#include "cluster/kube/resources.h"
#include "host/sharding.h"

namespace wva::framework::kube {
namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch()).count();
}

std::int64_t ns_of(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

std::string hex16(std::uint64_t v) {
  char out[20];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(v));
  return out;
}

// The Lease's spec, or an empty object.
json spec_of(const json& lease) {
  auto it = lease.find("spec");
  return it != lease.end() && it->is_object() ? *it : json::object();
}

std::string string_field(const json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string shard_lease_name(const std::string& lease_name, std::size_t shard) {
  return lease_name + "-shard-" + std::to_string(shard);
}

std::string member_lease_name(const std::string& lease_name, const std::string& identity) {
  return lease_name + "-member-" + hex16(fnv1a64(identity));
}

ShardElector::ShardElector(std::shared_ptr<KubeClient> client, ShardElectionOptions options,
                           std::shared_ptr<spdlog::logger> log)
    : client_(std::move(client)), options_(std::move(options)), log_(std::move(log)) {
  if (options_.identity.empty()) options_.identity = default_identity();
  options_.shards = std::max<std::size_t>(1, options_.shards);
  member_name_ = member_lease_name(options_.lease_name, options_.identity);
  owned_until_ = std::make_unique<std::atomic<std::int64_t>[]>(options_.shards);
  for (std::size_t i = 0; i < options_.shards; ++i) owned_until_[i] = 0;
  last_owned_.assign(options_.shards, false);
}

ShardElector::~ShardElector() { release(); }

void ShardElector::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

bool ShardElector::owns(std::size_t shard) const {
  return shard < options_.shards && steady_ns() < owned_until_[shard].load();
}

std::vector<std::size_t> ShardElector::owned() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < options_.shards; ++i)
    if (owns(i)) out.push_back(i);
  return out;
}

void ShardElector::set_owned_until(std::size_t shard, std::int64_t until_ns) { owned_until_[shard] = until_ns; }

json ShardElector::record(const json& previous, const std::string& name, bool transition) const {
  json lease = previous.is_object() ? previous : json::object();
  lease["apiVersion"] = kLeases.api_version();
  lease["kind"] = "Lease";
  lease["metadata"]["name"] = name;
  lease["metadata"]["namespace"] = options_.lease_namespace;
  auto& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  const std::string now = micro_time_now();
  spec["holderIdentity"] = options_.identity;
  // Rounded up: the others wait at least as long as this replica's own lease duration.
  spec["leaseDurationSeconds"] =
      std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(options_.lease_duration).count());
  spec["renewTime"] = now;
  if (transition || !spec.contains("acquireTime")) {
    spec["acquireTime"] = now;
    const auto& t = spec.find("leaseTransitions");
    const long long before = t != spec.end() && t->is_number_integer() ? t->get<long long>() : 0;
    spec["leaseTransitions"] = previous.is_object() ? before + 1 : 0;
  }
  return lease;
}

bool ShardElector::list(std::map<std::string, Seen>& out) {
  const std::string path = kLeases.collection_path(options_.lease_namespace);
  auto got = client_->request("GET", path, {}, {}, options_.retry_period * 2);
  if (!got) {
    log_->warn("shards: {}", got.error().message);
    return false;
  }
  if (got->status != 200) {
    log_->warn("shards: {}", api_error(*got, "GET " + path).message);
    return false;
  }
  json doc;
  try {
    doc = json::parse(got->body);
  } catch (const std::exception& e) {
    log_->warn("shards: GET {}: not JSON: {}", path, e.what());
    return false;
  }
  auto items = doc.find("items");
  if (items == doc.end() || !items->is_array()) {
    log_->warn("shards: GET {}: no items", path);
    return false;
  }
  const auto now = Steady::now();
  std::set<std::string> present;
  const std::string prefix = options_.lease_name + "-";
  for (auto& item : *items) {
    if (!item.is_object()) continue;
    const std::string name = string_field(item.value("metadata", json::object()), "name");
    if (!name.starts_with(prefix)) continue;
    const json spec = spec_of(item);
    Seen seen;
    seen.exists = true;
    seen.holder = string_field(spec, "holderIdentity");
    const std::string renew = string_field(spec, "renewTime");
    auto& obs = observed_[name];
    if (obs.at == Steady::time_point{} || obs.holder != seen.holder || obs.renew != renew) {
      obs.holder = seen.holder;
      obs.renew = renew;
      obs.at = now;
    }
    std::chrono::milliseconds duration = options_.lease_duration;
    auto d = spec.find("leaseDurationSeconds");
    if (d != spec.end() && d->is_number_integer() && d->get<long long>() > 0)
      duration = std::chrono::seconds(std::min<long long>(d->get<long long>(), 86400));
    seen.live = !seen.holder.empty() && now - obs.at < duration;
    seen.object = std::move(item);
    present.insert(name);
    out[name] = std::move(seen);
  }
  for (auto it = observed_.begin(); it != observed_.end();)
    it = present.count(it->first) ? std::next(it) : observed_.erase(it);
  return true;
}

bool ShardElector::renew_membership(const Seen& member) {
  if (!member.exists) {
    json lease = record(json(), member_name_, true);
    auto created = client_->request("POST", kLeases.collection_path(options_.lease_namespace), lease.dump(),
                                    "application/json", options_.retry_period * 2);
    return created && created->status == 201;
  }
  json lease = record(member.object, member_name_, member.holder != options_.identity);
  auto put = client_->request("PUT", kLeases.object_path(options_.lease_namespace, member_name_), lease.dump(),
                              "application/json", options_.retry_period * 2);
  return put && put->status == 200;
}

bool ShardElector::write_shard(std::size_t shard, const Seen& seen, bool own) {
  const std::string name = shard_lease_name(options_.lease_name, shard);
  const bool mine = seen.exists && seen.holder == options_.identity;
  json lease = record(seen.exists ? seen.object : json(), name, !mine);
  if (!seen.exists) lease["spec"]["leaseTransitions"] = 0;
  const std::int64_t started = steady_ns();
  sdk::Result<HttpResponse> r = seen.exists
                                    ? client_->request("PUT", kLeases.object_path(options_.lease_namespace, name),
                                                       lease.dump(), "application/json", options_.retry_period * 2)
                                    : client_->request("POST", kLeases.collection_path(options_.lease_namespace),
                                                       lease.dump(), "application/json", options_.retry_period * 2);
  if (!r || r->status != (seen.exists ? 200 : 201)) return false;  // 409: another replica wrote first
  if (own) set_owned_until(shard, started + ns_of(options_.renew_deadline));
  observed_[name] = {options_.identity, lease["spec"]["renewTime"].get<std::string>(), Steady::now()};
  return true;
}

bool ShardElector::release_shard(std::size_t shard, const Seen& seen) {
  if (!seen.exists || seen.holder != options_.identity) return false;
  const std::string name = shard_lease_name(options_.lease_name, shard);
  json lease = seen.object;
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = micro_time_now();
  auto put = client_->request("PUT", kLeases.object_path(options_.lease_namespace, name), lease.dump(),
                              "application/json", std::chrono::seconds(2));
  const bool ok = put && put->status == 200;
  if (ok) log_->info("shards: released Lease {}/{}", options_.lease_namespace, name);
  return ok;
}

void ShardElector::pass(bool first) {
  const std::size_t n = options_.shards;
  std::map<std::string, Seen> leases;
  if (!list(leases)) {
    publish_state(0);
    return;  // what is owned ages out by itself (owned_until_)
  }
  const Seen absent;
  auto seen_of = [&](const std::string& name) -> const Seen& {
    auto it = leases.find(name);
    return it == leases.end() ? absent : it->second;
  };

  if (!renew_membership(seen_of(member_name_)))
    log_->warn("shards: could not renew the membership Lease {}/{}", options_.lease_namespace, member_name_);

  // Live replicas: holders of live membership or shard Leases, and this one.
  std::map<std::string, std::size_t> held_by;  // live identity -> shards it holds
  held_by[options_.identity] = 0;
  const std::string member_prefix = options_.lease_name + "-member-";
  for (const auto& [name, seen] : leases) {
    if (!name.starts_with(member_prefix)) continue;
    if (seen.live) {
      held_by.emplace(seen.holder, 0);
    } else if (name != member_name_) {
      // A replica that died without releasing: its membership is garbage now (best effort; it recreates
      // it if it was only cut off). Only the version seen: a replica that renewed it since (slow, not dead)
      // keeps it (409).
      const json& meta = seen.object.value("metadata", json::object());
      json options = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
      if (meta.contains("uid")) options["preconditions"]["uid"] = meta["uid"];
      if (meta.contains("resourceVersion")) options["preconditions"]["resourceVersion"] = meta["resourceVersion"];
      auto del = client_->request("DELETE", kLeases.object_path(options_.lease_namespace, name), options.dump(),
                                  "application/json", options_.retry_period * 2);
      if (del && (del->status == 200 || del->status == 202))
        log_->info("shards: deleted the expired membership Lease {} of {}", name,
                   seen.holder.empty() ? "(nobody)" : seen.holder);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const Seen& s = seen_of(shard_lease_name(options_.lease_name, i));
    if (s.live && s.holder != options_.identity) ++held_by[s.holder];
  }
  const std::size_t live = held_by.size();
  const std::size_t fair = (n + live - 1) / live;

  // Shards this replica holds on the server: renew them, or release those given up last pass.
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string name = shard_lease_name(options_.lease_name, i);
    const Seen& s = seen_of(name);
    const bool server_says_mine = s.exists && s.holder == options_.identity;
    if (!server_says_mine) {
      releasing_.erase(i);
      if (owns(i))
        log_->warn("shards: shard {} is now held by {}; no longer publishing it", i,
                   s.holder.empty() ? "nobody" : s.holder);
      set_owned_until(i, 0);
      continue;
    }
    if (auto r = releasing_.find(i); r != releasing_.end()) {
      set_owned_until(i, 0);
      // Released once a publish that began just before the shard was given up has had as long as it has
      // when a replica dies (lease duration - renew deadline); renewed meanwhile so nobody takes it early.
      if (Steady::now() - r->second >= options_.lease_duration - options_.renew_deadline) {
        release_shard(i, s);
        releasing_.erase(r);
      } else {
        write_shard(i, s, /*own=*/false);
      }
      continue;
    }
    if (write_shard(i, s)) mine.push_back(i);
  }
  held_by[options_.identity] = mine.size();

  // Over the fair share while another live replica is under it: give the extras up (highest first). They
  // stop being owned now and are released at the next pass.
  std::size_t under = 0;
  for (const auto& [id, count] : held_by)
    if (id != options_.identity && count < fair) ++under;
  if (mine.size() > fair && under > 0) {
    for (std::size_t k = fair; k < mine.size(); ++k) {
      const std::size_t i = mine[mine.size() - 1 - (k - fair)];
      set_owned_until(i, 0);
      releasing_.emplace(i, Steady::now());
      log_->info("shards: giving shard {} up (holding {}, fair share {} of {} over {} live replicas)", i, mine.size(),
                 fair, n, live);
    }
    mine.resize(fair);
  }

  // Under the fair share: take free or expired shards, starting where this identity points.
  if (!first && mine.size() < fair) {
    const std::size_t begin = static_cast<std::size_t>(fnv1a64(options_.identity) % n);
    for (std::size_t k = 0; k < n && mine.size() < fair; ++k) {
      const std::size_t i = (begin + k) % n;
      const Seen& s = seen_of(shard_lease_name(options_.lease_name, i));
      if (s.exists && (s.live || s.holder == options_.identity)) continue;
      if (write_shard(i, s)) {
        mine.push_back(i);
        log_->info("shards: {} acquired shard {} ({} of {}; fair share {} over {} live replicas)", options_.identity, i,
                   mine.size(), n, fair, live);
      }
    }
  }
  publish_state(live);
}

void ShardElector::publish_state(std::size_t live_replicas) {
  bool changed = false;
  std::size_t count = 0;
  for (std::size_t i = 0; i < options_.shards; ++i) {
    const bool now = owns(i);
    count += now ? 1 : 0;
    if (now != last_owned_[i]) {
      changed = true;
      if (!now) log_->info("shards: no longer own shard {}", i);
      last_owned_[i] = now;
    }
    if (metrics_)
      metrics_->set_gauge("wva_shard_owned", "1 while this replica owns the shard (publishes its models)",
                          {{"shard", std::to_string(i)}}, now ? 1 : 0);
  }
  if (metrics_) {
    metrics_->set_gauge("wva_shards", "Shards the models are spread over (--shards)", {},
                        static_cast<double>(options_.shards));
    metrics_->set_gauge("wva_shards_owned", "Shards this replica owns", {}, static_cast<double>(count));
    if (live_replicas > 0)
      metrics_->set_gauge("wva_shard_live_replicas", "Live replicas sharing the shards, as this replica sees them", {},
                          static_cast<double>(live_replicas));
  }
  if (changed) {
    std::string list;
    for (std::size_t i = 0; i < options_.shards; ++i)
      if (last_owned_[i]) list += (list.empty() ? "" : ",") + std::to_string(i);
    log_->info("shards: {} owns {} of {} shard(s): [{}]", options_.identity, count, options_.shards, list);
    if (on_change_) on_change_();
  }
}

void ShardElector::run() {
  log_->info("shards: candidate {} for {} shard Leases {}/{}-shard-<i>", options_.identity, options_.shards,
             options_.lease_namespace, options_.lease_name);
  std::unique_lock lock(mutex_);
  bool first = true;
  while (!stop_) {
    lock.unlock();
    pass(first);
    first = false;
    lock.lock();
    if (stop_) break;
    cv_.wait_for(lock, options_.retry_period, [&] { return stop_; });
  }
}

void ShardElector::stop_loop() {
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ShardElector::halt() {
  stop_loop();
  for (std::size_t i = 0; i < options_.shards; ++i) set_owned_until(i, 0);
}

void ShardElector::release() {
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
  }
  const bool was_running = thread_.joinable();
  stop_loop();
  for (std::size_t i = 0; i < options_.shards; ++i) set_owned_until(i, 0);
  if (!was_running) return;
  // Bounded: the shards this replica holds per one list, each released with one write.
  const auto deadline = Steady::now() + std::chrono::seconds(5);
  std::map<std::string, Seen> leases;
  if (list(leases)) {
    for (std::size_t i = 0; i < options_.shards && Steady::now() < deadline; ++i) {
      auto it = leases.find(shard_lease_name(options_.lease_name, i));
      if (it != leases.end()) release_shard(i, it->second);
    }
  }
  auto del = client_->request("DELETE", kLeases.object_path(options_.lease_namespace, member_name_), {}, {},
                              std::chrono::seconds(2));
  if (del && (del->status == 200 || del->status == 202))
    log_->info("shards: {} left (deleted its membership Lease {})", options_.identity, member_name_);
  if (metrics_) metrics_->set_gauge("wva_shards_owned", "Shards this replica owns", {}, 0);
}

}  // namespace wva::framework::kube
