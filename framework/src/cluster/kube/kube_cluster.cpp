#include "cluster/kube/kube_cluster.h"

#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "cluster/kube/resources.h"
#include "cluster/status_patch.h"

namespace wva::framework::kube {
namespace {

using nlohmann::json;
using sdk::ErrorCode;
using sdk::make_error;

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
  for (const ResourceType* r :
       {&kVariantAutoscalings, &kDeployments, &kReplicaSets, &kPods, &kHorizontalPodAutoscalers})
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

sdk::Result<std::optional<std::string>> KubeCluster::object_version(const std::string& kind, const std::string& ns,
                                                                    const std::string& name) {
  std::optional<std::string> rv;
  sdk::ObjectSnapshot object;
  if (cached(kind, ns)) {
    rv = store_.cached_version(kind, ns, name);
    if (!rv) return std::optional<std::string>();
    if (rv->empty()) object = store_.get(kind, ns, name);
  } else {
    auto read = get_shared(kind, ns, name);
    if (!read) return read.error();
    object = std::move(*read);
    if (object) rv = ObjectStore::resource_version(*object);
  }
  if (rv && !rv->empty()) return std::optional<std::string>("rv:" + *rv);
  if (!object) return std::optional<std::string>();  // gone since the version was read
  return std::optional<std::string>(content_version(*object));
}

sdk::Result<std::vector<PodOwner>> KubeCluster::list_pod_owners() { return store_.pod_owners(); }

sdk::Result<std::optional<PodOwner>> KubeCluster::get_pod_owner(const std::string& ns, const std::string& name) {
  return store_.pod_owner(ns, name);
}

sdk::Result<std::vector<DeploymentRecordPtr>> KubeCluster::list_deployment_records() {
  return store_.deployment_records();
}

sdk::Result<std::vector<HpaRecord>> KubeCluster::list_hpa_records() {
  if (!cached("HorizontalPodAutoscaler", "")) return ClusterBackend::list_hpa_records();
  return store_.hpa_records();
}

sdk::Result<DeploymentRecordPtr> KubeCluster::get_deployment_record(const std::string& ns, const std::string& name) {
  return store_.deployment_record(ns, name);
}

sdk::Result<void> KubeCluster::patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                            const json& merge_patch) {
  const ResourceType* r = cached_resource(kind);
  if (!r) return make_error(ErrorCode::kNotFound, "kind " + kind + " is not served by the kube backend");
  // The cached version and status alone: a VA stays packed.
  const auto current = store_.cached_status(kind, ns, name);
  std::string rv;
  if (current) {
    rv = current->resource_version;
    static const json kNoStatus = json::object();
    if (!status_patch_changes(current->status ? &*current->status : &kNoStatus, merge_patch))
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

std::string rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string bounded_event_message(const std::string& message) {
  if (message.size() <= KubeCluster::kEventMessageLimit) return message;
  constexpr std::string_view kCut = "...";
  std::size_t end = KubeCluster::kEventMessageLimit - kCut.size();
  // Never inside a UTF-8 sequence: back up over its continuation bytes.
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) --end;
  return message.substr(0, end) + std::string(kCut);
}

}  // namespace

sdk::Result<void> KubeCluster::emit_event(const json& object, const std::string& type, const std::string& reason,
                                          const std::string& full_message) {
  if (!object.is_object()) return make_error(ErrorCode::kInvalidConfig, "event: no object");
  const std::string message = bounded_event_message(full_message);
  static const json kNoMetadata = json::object();
  auto meta_it = object.find("metadata");
  const json& meta = meta_it != object.end() && meta_it->is_object() ? *meta_it : kNoMetadata;
  const auto text = [](const json& o, const char* k, const char* fallback) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
  };
  const std::string ns = text(meta, "namespace", "default"), name = text(meta, "name", "");
  const std::string kind = text(object, "kind", "");
  const std::string aggregate = kind + "/" + ns + "/" + name + "\x1f" + type + "\x1f" + reason + "\x1f";
  const auto now = std::chrono::steady_clock::now();
  const std::time_t wall_now = std::time(nullptr);
  std::unique_lock lock(events_mutex_);
  if (events_stopping_) return sdk::ok();
  std::string key = aggregate + message;
  std::string shown = message;
  if (!event_records_.count(key)) {
    // A new message for this (object, type, reason): past kSimilarEventsLimit distinct ones seen within
    // the window, it goes to the reason's combined Event.
    int similar = 0;
    for (auto it = event_records_.lower_bound(aggregate);
         it != event_records_.end() && it->first.starts_with(aggregate); ++it)
      if (it->first.size() > aggregate.size() && now - it->second.last_seen < kEventRepeatWindow) ++similar;
    if (similar >= kSimilarEventsLimit) {
      key = aggregate;
      shown = "(combined from similar events): " + message;
    }
  }
  auto it = event_records_.find(key);
  if (it == event_records_.end()) {
    if (!make_room_locked(now)) {
      const auto lost = ++events_lost_;
      lock.unlock();
      // The first drop and every 1,000th: a flood must not become a flood of log lines.
      if (log_ && lost % 1000 == 1)
        log_->warn("{} Event records held (the limit): Event {} on {} {}/{} dropped ({} so far)", kEventRecordLimit,
                   reason, kind, ns, name, lost);
      return sdk::ok();
    }
    EventRecord rec;
    rec.kind_size = static_cast<std::uint32_t>(kind.size());
    rec.ns_size = static_cast<std::uint32_t>(ns.size());
    rec.name_size = static_cast<std::uint32_t>(name.size());
    rec.type_size = static_cast<std::uint32_t>(type.size());
    rec.reason_size = static_cast<std::uint32_t>(reason.size());
    rec.involved_api_version = &*event_api_versions_.insert(text(object, "apiVersion", "")).first;
    rec.first_time = wall_now;
    it = event_records_.emplace(key, std::move(rec)).first;
  }
  EventRecord& rec = it->second;
  rec.involved_uid = text(meta, "uid", "");
  rec.involved_rv = text(meta, "resourceVersion", "");
  ++rec.count;
  rec.last_time = wall_now;
  // The key holds a message but the combined Event's (and an empty one, which shares its key).
  if (it->first.size() == aggregate.size()) rec.combined_message = std::move(shown);
  rec.last_seen = now;
  // A repeat of what the API server already shows within the window is only counted: its count goes
  // out with the Event's next change, or with the first repeat after the window.
  const bool repeat = !rec.event_name.empty() &&
                      std::hash<std::string_view>()(rec.message(it->first)) == rec.sent_message_hash &&
                      now - rec.last_sent < kEventRepeatWindow;
  if (repeat || rec.queued) return sdk::ok();
  rec.queued = true;
  event_queue_.push_back(&it->first);
  if (!event_sender_.joinable()) event_sender_ = std::thread([this] { send_events(); });
  lock.unlock();
  event_queue_cv_.notify_one();
  return sdk::ok();
}

bool KubeCluster::make_room_locked(std::chrono::steady_clock::time_point now) {
  if (now - last_event_sweep_ >= kEventRepeatWindow) forget_stale_events_locked(now);
  if (event_records_.size() < kEventRecordLimit) return true;
  // At most one sweep a second: a flood at the limit must not scan every record per Event.
  if (now - last_event_sweep_ >= std::chrono::seconds(1)) forget_stale_events_locked(now);
  return event_records_.size() < kEventRecordLimit;
}

// Forgets the Events neither queued nor seen within the window: a repeat of one is then sent as new.
void KubeCluster::forget_stale_events_locked(std::chrono::steady_clock::time_point now) {
  last_event_sweep_ = now;
  std::erase_if(event_records_,
                [&](const auto& kv) { return !kv.second.queued && now - kv.second.last_seen >= kEventRepeatWindow; });
}

void KubeCluster::send_events() {
  std::optional<std::chrono::steady_clock::time_point> drain_until;
  std::unique_lock lock(events_mutex_);
  while (true) {
    event_queue_cv_.wait(lock, [&] { return events_stopping_ || !event_queue_.empty(); });
    if (events_stopping_ && !drain_until) drain_until = std::chrono::steady_clock::now() + kEventDrainBound;
    if (event_queue_.empty() || (drain_until && std::chrono::steady_clock::now() > *drain_until)) {
      if (!events_stopping_) continue;
      if (!event_queue_.empty()) {
        events_lost_ += event_queue_.size();
        if (log_)
          log_->warn("{} Events not sent: the API server did not take them within {} s of shutdown",
                     event_queue_.size(), kEventDrainBound.count());
      }
      return;
    }
    // A copy: once sent (unqueued), the record may be forgotten.
    std::string key = *event_queue_.front();
    event_queue_.pop_front();
    lock.unlock();
    send_event(key);
    lock.lock();
  }
}

// Sends one Event record as it is now: POST when the API server has no Event for it yet (or no longer:
// Events expire), else a merge PATCH of its count, message and lastTimestamp. Transient failures (no
// answer, 429, 5xx) queue it again after a pause (Retry-After when given), up to kEventSendAttempts.
void KubeCluster::send_event(const std::string& key) {
  EventRecord rec;
  {
    std::lock_guard lock(events_mutex_);
    auto it = event_records_.find(key);
    if (it == event_records_.end()) return;
    it->second.queued = false;
    rec = it->second;
  }
  const EventKeyParts named = rec.parts(key);
  const std::string message(rec.message(key));
  const std::string ns(named.ns), involved_name(named.name);
  const std::string collection = kEvents.collection_path(ns);
  bool create = rec.event_name.empty();
  auto post = [&] {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".%llx%04llx", static_cast<unsigned long long>(std::time(nullptr)),
                  static_cast<unsigned long long>(++event_serial_ & 0xffff));
    rec.event_name = involved_name + suffix;
    json event = {{"apiVersion", "v1"},
                  {"kind", "Event"},
                  {"metadata", {{"name", rec.event_name}, {"namespace", ns}}},
                  {"involvedObject",
                   {{"kind", std::string(named.kind)},
                    {"apiVersion", *rec.involved_api_version},
                    {"namespace", ns},
                    {"name", involved_name},
                    {"uid", rec.involved_uid},
                    {"resourceVersion", rec.involved_rv}}},
                  {"type", std::string(named.type)},
                  {"reason", std::string(named.reason)},
                  {"message", message},
                  {"source", {{"component", "workload-variant-autoscaler"}}},
                  {"reportingComponent", "workload-variant-autoscaler"},
                  {"firstTimestamp", rfc3339(rec.first_time)},
                  {"lastTimestamp", rfc3339(rec.last_time)},
                  {"count", rec.count}};
    // Throttled: queued again with its Retry-After (below), so a later message replaces it meanwhile.
    return client_->request("POST", collection, event.dump(), "application/json", kEventTimeout, false);
  };
  auto resp =
      create ? post()
             : client_->request(
                   "PATCH", collection + "/" + rec.event_name,
                   json{{"count", rec.count}, {"message", message}, {"lastTimestamp", rfc3339(rec.last_time)}}.dump(),
                   "application/merge-patch+json", kEventTimeout, false);
  if (!create && resp && resp->status == 404) {  // expired or deleted: record it again
    create = true;
    resp = post();
  }
  const bool done = resp && (resp->status == 200 || resp->status == 201);
  const bool transient = !resp || resp->status == 429 || resp->status >= 500;
  std::optional<std::chrono::milliseconds> pause;
  std::uint64_t lost = 0;
  {
    std::lock_guard lock(events_mutex_);
    auto it = event_records_.find(key);
    if (it == event_records_.end()) return;
    EventRecord& now = it->second;
    if (done) {
      ++events_sent_;
      now.attempts = 0;
      now.event_name = rec.event_name;
      now.sent_count = rec.count;
      now.sent_message_hash = std::hash<std::string_view>()(message);
      now.last_sent = std::chrono::steady_clock::now();
      return;
    }
    if (transient && ++now.attempts < kEventSendAttempts) {
      if (!now.queued) {
        now.queued = true;
        event_queue_.push_back(&it->first);
      }
      pause = resp && resp->retry_after ? std::chrono::duration_cast<std::chrono::milliseconds>(*resp->retry_after)
                                        : std::chrono::milliseconds(200 * now.attempts);
    } else {
      now.attempts = 0;
      lost = ++events_lost_;
    }
  }
  const std::string what = (create ? "POST " : "PATCH ") + collection;
  const std::string why = !resp ? resp.error().message : api_error(*resp, what).message;
  if (pause) {
    if (log_) log_->debug("event {} on {}/{} not recorded yet: {}", named.reason, ns, involved_name, why);
    std::unique_lock lock(events_mutex_);
    event_queue_cv_.wait_for(lock, *pause, [&] { return events_stopping_; });
    return;
  }
  // The first loss and every 1,000th (a 403 would otherwise log every Event).
  if (log_ && lost % 1000 == 1)
    log_->warn("event {} on {}/{} not recorded: {} ({} Events lost so far)", named.reason, ns, involved_name, why,
               lost);
}

void KubeCluster::stop_events() {
  {
    std::lock_guard lock(events_mutex_);
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
