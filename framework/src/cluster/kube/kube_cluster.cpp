#include "cluster/kube/kube_cluster.h"

#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "cluster/kube/resources.h"

namespace wva::framework::kube {
namespace {

using nlohmann::json;
using sdk::ErrorCode;
using sdk::make_error;

// lastRunTime says when a decision was last computed; alone it is not worth a write. These compare as if
// every "lastRunTime" member, at any depth, were absent on both sides.
constexpr const char* kRunTime = "lastRunTime";

bool same_but_run_times(const json& a, const json& b) {
  if (a.is_object() && b.is_object()) {
    std::size_t a_members = 0, b_members = b.size() - (b.contains(kRunTime) ? 1 : 0);
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (it.key() == kRunTime) continue;
      ++a_members;
      auto other = b.find(it.key());
      if (other == b.end() || !same_but_run_times(it.value(), *other)) return false;
    }
    return a_members == b_members;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_but_run_times(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

// Whether applying the RFC 7396 merge patch `patch` to `target` would change it, lastRunTime aside,
// without making the patched copy (the status sink asks this of every VA in every cycle).
bool patch_changes(const json& target, const json& patch) {
  if (!patch.is_object()) return !same_but_run_times(target, patch);
  if (!target.is_object()) {
    json after = target;
    after.merge_patch(patch);
    return !same_but_run_times(target, after);
  }
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.key() == kRunTime) continue;
    auto current = target.find(it.key());
    if (it.value().is_null()) {
      if (current != target.end()) return true;  // removed
    } else if (current == target.end() || patch_changes(*current, it.value())) {
      return true;  // added (even as an empty object) or changed
    }
  }
  return false;
}

}  // namespace

KubeCluster::KubeCluster(std::shared_ptr<KubeClient> client, KubeClusterOptions options,
                         std::shared_ptr<spdlog::logger> log)
    : client_(std::move(client)),
      options_(std::move(options)),
      log_(std::move(log)),
      store_([this](const std::string& kind, const std::string& ns,
                    const std::string& name) { on_change(kind, ns, name); },
             [this](const std::string& kind) { on_many_changes(kind); }) {
  std::vector<std::string> scopes = options_.watch_namespaces;
  if (scopes.empty()) scopes.push_back("");
  auto on_synced = [this] {
    std::lock_guard lock(mutex_);
    synced_cv_.notify_all();
  };
  for (const ResourceType* r : {&kVariantAutoscalings, &kDeployments, &kReplicaSets, &kPods})
    for (const auto& ns : scopes)
      reflectors_.push_back(std::make_unique<Reflector>(*client_, *r, ns, store_, options_.reflector, log_, on_synced));
  reflectors_.push_back(std::make_unique<Reflector>(*client_, kConfigMaps, options_.system_namespace, store_,
                                                    options_.reflector, log_, on_synced));
}

KubeCluster::~KubeCluster() {
  stop_events();
  stop();
}

void KubeCluster::start() {
  {
    std::lock_guard lock(mutex_);
    if (started_) return;
    started_ = true;
  }
  for (auto& r : reflectors_) r->start();
}

void KubeCluster::stop() {
  for (auto& r : reflectors_) r->stop();
}

bool KubeCluster::synced() const {
  for (const auto& r : reflectors_)
    if (!r->synced()) return false;
  return true;
}

std::uint64_t KubeCluster::lists() const {
  std::uint64_t n = 0;
  for (const auto& r : reflectors_) n += r->lists();
  return n;
}

sdk::Result<void> KubeCluster::wait_synced(std::chrono::milliseconds timeout, const std::function<bool()>& cancelled) {
  start();
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  while (!synced() && std::chrono::steady_clock::now() < end && !(cancelled && cancelled())) {
    // Woken by each informer's first sync; the short step lets `cancelled` be seen.
    synced_cv_.wait_for(lock, std::chrono::milliseconds(200));
  }
  lock.unlock();
  if (synced()) return sdk::ok();
  std::string msg = "API server " + client_->server() + " (" + client_->connection().source +
                    "): caches not synced after " + std::to_string(timeout.count() / 1000) + "s";
  std::set<std::string> errors;
  for (const auto& r : reflectors_)
    if (!r->synced()) {
      const std::string e = r->last_error();
      errors.insert(e.empty() ? r->describe() + ": no answer yet" : e);
    }
  for (const auto& e : errors) msg += "; " + e;
  return make_error(ErrorCode::kUnavailable, msg);
}

void KubeCluster::set_change_listener(std::function<void()> listener) {
  std::lock_guard lock(mutex_);
  change_listener_ = std::move(listener);
}

void KubeCluster::on_change(const std::string& kind, const std::string& ns, const std::string& name) {
  // The store calls only for changes a reader can see (not resourceVersion alone, not a VA's status).
  changes_.record(revision_, {ObjectRef{kind, ns, name}});
  if (kind == "VariantAutoscaling" || kind == "ConfigMap") {
    std::function<void()> listener;
    {
      std::lock_guard lock(mutex_);
      listener = change_listener_;
    }
    if (listener) listener();
  }
}

void KubeCluster::on_many_changes(const std::string& kind) {
  // Too many to name: readers of changes_since rebuild everything.
  changes_.forget(revision_);
  if (kind == "VariantAutoscaling" || kind == "ConfigMap") {
    std::function<void()> listener;
    {
      std::lock_guard lock(mutex_);
      listener = change_listener_;
    }
    if (listener) listener();
  }
}

sdk::Result<void> KubeCluster::refresh() {
  if (!synced()) {
    for (const auto& r : reflectors_)
      if (!r->synced())
        return make_error(ErrorCode::kUnavailable,
                          r->describe() + ": not synced yet" + (r->last_error().empty() ? "" : ": " + r->last_error()));
  }
  return sdk::ok();
}

bool KubeCluster::cached(const std::string& kind, const std::string& ns) const {
  if (!cached_resource(kind)) return false;
  if (kind == "ConfigMap") return ns == options_.system_namespace;
  return true;
}

sdk::Result<std::vector<sdk::ObjectSnapshot>> KubeCluster::list_shared(const std::string& kind, const std::string& ns) {
  if (cached(kind, ns)) return store_.list(kind, ns);
  const ResourceType* r = cached_resource(kind);
  if (!r) return make_error(ErrorCode::kNotFound, "kind " + kind + " is not served by the kube backend");
  auto resp = client_->request("GET", r->collection_path(ns));
  if (!resp) return resp.error();
  if (resp->status != 200) return api_error(*resp, "GET " + r->collection_path(ns));
  std::vector<sdk::ObjectSnapshot> out;
  try {
    for (auto& item : json::parse(resp->body).value("items", json::array())) {
      item["kind"] = r->kind;
      item["apiVersion"] = r->api_version();
      out.push_back(std::make_shared<const json>(std::move(item)));
    }
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kUnavailable, "GET " + r->collection_path(ns) + ": not JSON: " + e.what());
  }
  return out;
}

sdk::Result<sdk::ObjectSnapshot> KubeCluster::get_shared(const std::string& kind, const std::string& ns,
                                                         const std::string& name) {
  if (cached(kind, ns)) return store_.get(kind, ns, name);
  const ResourceType* r = cached_resource(kind);
  if (!r) return make_error(ErrorCode::kNotFound, "kind " + kind + " is not served by the kube backend");
  const std::string path = r->object_path(ns, name);
  auto resp = client_->request("GET", path);
  if (!resp) return resp.error();
  if (resp->status == 404) return sdk::ObjectSnapshot();
  if (resp->status != 200) return api_error(*resp, "GET " + path);
  try {
    return sdk::ObjectSnapshot(std::make_shared<const json>(json::parse(resp->body)));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kUnavailable, "GET " + path + ": not JSON: " + e.what());
  }
}

sdk::Result<std::vector<PodOwner>> KubeCluster::list_pod_owners() { return store_.pod_owners(); }

sdk::Result<std::optional<PodOwner>> KubeCluster::get_pod_owner(const std::string& ns, const std::string& name) {
  return store_.pod_owner(ns, name);
}

sdk::Result<void> KubeCluster::patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                            const json& merge_patch) {
  const ResourceType* r = cached_resource(kind);
  if (!r) return make_error(ErrorCode::kNotFound, "kind " + kind + " is not served by the kube backend");
  const auto current = store_.get(kind, ns, name);
  std::string rv;
  if (current) {
    rv = ObjectStore::resource_version(*current);
    static const json kNoStatus = json::object();
    auto status = current->find("status");
    if (!patch_changes(status != current->end() ? *status : kNoStatus, merge_patch))
      return sdk::ok();  // nothing to say
  }
  json body = {{"status", merge_patch}};
  if (!rv.empty()) body["metadata"] = {{"resourceVersion", rv}};
  const std::string path = r->object_path(ns, name) + "/status";
  ++status_patches_;
  auto resp = client_->request("PATCH", path, body.dump(), "application/merge-patch+json");
  if (!resp) return resp.error();
  if (resp->status == 200) {
    try {
      json updated = json::parse(resp->body);
      updated["kind"] = r->kind;
      updated["apiVersion"] = r->api_version();
      store_.upsert_if_version(kind, std::move(updated), rv);
    } catch (const std::exception&) {}
    return sdk::ok();
  }
  if (resp->status == 409) {
    // Our copy is stale: fetch the current one so the caller's re-read sees it.
    auto fresh = client_->request("GET", r->object_path(ns, name));
    if (fresh && fresh->status == 200) {
      try {
        json obj = json::parse(fresh->body);
        obj["kind"] = r->kind;
        obj["apiVersion"] = r->api_version();
        store_.upsert(kind, std::move(obj));
      } catch (const std::exception&) {}
    } else if (fresh && fresh->status == 404) {
      store_.remove(kind, ns, name);
    }
  }
  return api_error(*resp, "PATCH " + path);
}

namespace {

std::string rfc3339_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

sdk::Result<void> KubeCluster::emit_event(const json& object, const std::string& type, const std::string& reason,
                                          const std::string& message) {
  if (!object.is_object()) return make_error(ErrorCode::kInvalidConfig, "event: no object");
  const json meta = object.value("metadata", json::object());
  const std::string ns = meta.value("namespace", "default"), name = meta.value("name", "");
  const std::string kind = object.value("kind", ""), object_key = kind + "/" + ns + "/" + name;
  const std::string key = object_key + "/" + type + "/" + reason + "/" + message;
  const auto now = std::chrono::steady_clock::now();
  const std::string stamp = rfc3339_now();
  std::optional<std::pair<std::string, int>> repeat;  // (event name, count) to PATCH
  std::string event_name;
  {
    std::lock_guard lock(events_mutex_);
    if (auto it = sent_events_.find(key); it != sent_events_.end()) {
      ++it->second.count;
      if (now - it->second.last_sent < kEventRepeatWindow) return sdk::ok();  // folded
      it->second.last_sent = now;
      repeat = std::pair{it->second.name, it->second.count};
    } else {
      auto& times = event_times_[object_key];
      std::erase_if(times, [&](auto t) { return now - t > std::chrono::minutes(1); });
      if (static_cast<int>(times.size()) >= kEventsPerMinute) return sdk::ok();  // rate-limited: dropped
      times.push_back(now);
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, ".%llx%04llx", static_cast<unsigned long long>(std::time(nullptr)),
                    static_cast<unsigned long long>(++event_serial_ & 0xffff));
      event_name = name + suffix;
      sent_events_[key] = SentEvent{event_name, now, 1};
    }
  }
  const std::string collection = kEvents.collection_path(ns);
  if (repeat) {
    json patch = {{"count", repeat->second}, {"lastTimestamp", stamp}};
    enqueue_event({"PATCH", collection + "/" + repeat->first, patch.dump(), "application/merge-patch+json"});
    return sdk::ok();
  }
  json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", event_name}, {"namespace", ns}}},
                {"involvedObject",
                 {{"kind", kind},
                  {"apiVersion", object.value("apiVersion", "")},
                  {"namespace", ns},
                  {"name", name},
                  {"uid", meta.value("uid", "")},
                  {"resourceVersion", meta.value("resourceVersion", "")}}},
                {"type", type},
                {"reason", reason},
                {"message", message},
                {"source", {{"component", "workload-variant-autoscaler"}}},
                {"reportingComponent", "workload-variant-autoscaler"},
                {"firstTimestamp", stamp},
                {"lastTimestamp", stamp},
                {"count", 1}};
  enqueue_event({"POST", collection, event.dump(), "application/json"});
  return sdk::ok();
}

void KubeCluster::enqueue_event(EventRequest request) {
  std::lock_guard lock(event_queue_mutex_);
  if (events_stopping_) return;
  if (event_queue_.size() >= kEventQueueLimit) {
    // Logged at the first drop and every 1,000th: a flood must not become a flood of log lines.
    if (events_dropped_++ % 1000 == 0 && log_)
      log_->warn("event queue full ({} Events waiting): Event dropped ({} so far)", kEventQueueLimit, events_dropped_);
    return;
  }
  event_queue_.push_back(std::move(request));
  if (!event_sender_.joinable()) event_sender_ = std::thread([this] { send_events(); });
  event_queue_cv_.notify_one();
}

void KubeCluster::send_events() {
  std::optional<std::chrono::steady_clock::time_point> drain_until;
  std::unique_lock lock(event_queue_mutex_);
  while (true) {
    event_queue_cv_.wait(lock, [&] { return events_stopping_ || !event_queue_.empty(); });
    if (events_stopping_ && !drain_until) drain_until = std::chrono::steady_clock::now() + kEventDrainBound;
    if (event_queue_.empty() || (drain_until && std::chrono::steady_clock::now() > *drain_until)) {
      if (events_stopping_) return;
      continue;
    }
    EventRequest request = std::move(event_queue_.front());
    event_queue_.pop_front();
    lock.unlock();
    // A failed Event never fails anything: it is logged (as the write path logged it before).
    auto r = client_->request(request.method, request.path, request.body, request.content_type);
    if (!r) {
      if (log_) log_->debug("event {} {} not recorded: {}", request.method, request.path, r.error().message);
    } else if (r->status != 200 && r->status != 201) {
      if (log_)
        log_->debug("event {} {} not recorded: {}", request.method, request.path,
                    api_error(*r, request.method + " " + request.path).message);
    }
    lock.lock();
  }
}

void KubeCluster::stop_events() {
  {
    std::lock_guard lock(event_queue_mutex_);
    events_stopping_ = true;
  }
  event_queue_cv_.notify_all();
  if (event_sender_.joinable()) event_sender_.join();
}

sdk::Result<void> KubeCluster::scale(const std::string& ns, const std::string& deployment, int replicas) {
  const std::string path = kDeployments.object_path(ns, deployment) + "/scale";
  json body = {{"spec", {{"replicas", replicas}}}};
  auto resp = client_->request("PATCH", path, body.dump(), "application/merge-patch+json");
  if (!resp) return resp.error();
  if (resp->status != 200) return api_error(*resp, "PATCH " + path);
  return sdk::ok();
}

}  // namespace wva::framework::kube
