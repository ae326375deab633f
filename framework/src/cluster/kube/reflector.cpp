#include "cluster/kube/reflector.h"

#include "cluster/free_memory.h"
#include "config/input_limits.h"

namespace wva::framework::kube {
namespace {

// kube-apiserver's answer to a watch (or list) from a resourceVersion newer than its cache has: a Status
// of code 504 whose cause is ResourceVersionTooLarge (older servers: the message alone).
bool resource_version_too_large(const nlohmann::json& status) {
  if (!status.is_object() || status.value("code", 0) != 504) return false;
  if (auto d = status.find("details"); d != status.end() && d->is_object())
    if (auto causes = d->find("causes"); causes != d->end() && causes->is_array())
      for (const auto& c : *causes)
        if (c.is_object() && c.value("reason", "") == "ResourceVersionTooLarge") return true;
  return status.value("message", "").find("Too large resource version") != std::string::npos;
}

}  // namespace

Reflector::Reflector(KubeClient& client, const ResourceType& resource, std::string ns, ObjectStore& store,
                     ReflectorOptions options, std::shared_ptr<spdlog::logger> log, std::function<void()> on_synced)
    : client_(client),
      resource_(resource),
      ns_(std::move(ns)),
      store_(store),
      options_(options),
      log_(std::move(log)),
      on_synced_(std::move(on_synced)),
      backoff_(options.backoff_initial, options.backoff_max) {}

Reflector::~Reflector() { stop(); }

void Reflector::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void Reflector::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string Reflector::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::string Reflector::describe() const {
  return std::string(resource_.plural) + (ns_.empty() ? " (all namespaces)" : " in " + ns_);
}

void Reflector::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, d, [&] { return stop_.load(); });
}

void Reflector::fail(const std::string& error, std::optional<std::chrono::seconds> retry_after) {
  bool repeated;
  {
    std::lock_guard lock(mutex_);
    repeated = last_error_ == error;
    last_error_ = error;
  }
  // One line per distinct problem, not one per retry.
  if (!repeated) log_->error("watching {}: {}; retrying", describe(), error);
  const auto delay =
      retry_after ? std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after) : backoff_.next();
  sleep_for(delay);
}

void Reflector::recovered() {
  backoff_.reset();
  std::lock_guard lock(mutex_);
  if (!last_error_.empty()) log_->info("watching {}: recovered", describe());
  last_error_.clear();
}

bool Reflector::too_deep(const nlohmann::json& object, const char* doing) const {
  const InputLimits limits;
  if (json_value_depth(object, limits.max_depth) <= limits.max_depth) return false;
  // One hostile object must not stop the cache (or crash a recursive walk later): it is left out, the
  // rest is kept, and the log names it.
  // Read the names in place: copying any part of the object would walk it recursively.
  auto name_of = [&](const char* key) -> std::string {
    if (!object.is_object()) return "?";
    auto meta = object.find("metadata");
    if (meta == object.end() || !meta->is_object()) return "?";
    auto field = meta->find(key);
    return field != meta->end() && field->is_string() ? field->get<std::string>() : "?";
  };
  log_->error("{} {}: ignoring {}/{}: nested deeper than {} levels (the limit)", doing, describe(),
              name_of("namespace"), name_of("name"), limits.max_depth);
  return true;
}

sdk::Result<std::string> Reflector::list_all() {
  // Each page's objects are trimmed as they are read: the whole list is never held as JSON.
  const auto started = std::chrono::steady_clock::now();
  std::vector<ObjectStore::Entry> items;
  std::string cont, rv;
  int pages = 0;
  for (int page = 0; page < 100000 && !stop_; ++page) {
    std::string path = resource_.collection_path(ns_) + "?limit=" + std::to_string(options_.page_size);
    if (!cont.empty()) path += "&continue=" + url_encode(cont);
    auto r = client_.request("GET", path);
    if (!r) return r.error();
    ++pages;
    if (r->throttled > 0)
      log_->warn("listing {}: page {} throttled {} time(s) (429), sent again after Retry-After", describe(), pages,
                 r->throttled);
    if (r->status == 410 && !cont.empty()) {  // the continue token expired: start over
      items.clear();
      cont.clear();
      continue;
    }
    if (r->status != 200) {
      if (r->status == 429 || r->status == 503) list_retry_after_ = r->retry_after;
      list_status_ = r->status;
      return api_error(*r, "GET " + path);
    }
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(r->body);
    } catch (const std::exception& e) {
      return sdk::make_error(sdk::ErrorCode::kUnavailable, "GET " + path + ": not JSON: " + e.what());
    }
    const auto& meta = doc.value("metadata", nlohmann::json::object());
    rv = meta.value("resourceVersion", "");
    cont = meta.value("continue", "");
    if (auto it = doc.find("items"); it != doc.end() && it->is_array())
      for (auto& item : *it) {
        if (too_deep(item, "listing")) continue;
        // Lists omit kind/apiVersion on items; the cache keeps objects as `kubectl get -o json` shows them.
        item["kind"] = resource_.kind;
        item["apiVersion"] = resource_.api_version();
        items.push_back(store_.make_entry(resource_.kind, std::move(item)));
      }
    if (cont.empty()) break;
  }
  const std::size_t count = items.size();
  store_.replace(resource_.kind, ns_, std::move(items));
  // The pages were parsed and freed on this thread, where the allocator keeps freed memory resident
  // (glibc in this thread's arena, tcmalloc in its caches). Handing it back after each list (not only
  // after the sync) keeps the informers' parallel lists from adding up in the resident size, and a
  // re-list's from staying.
  release_free_memory();
  ++lists_;
  log_->debug(
      "listed {}: {} objects, {} page(s), {} ms", describe(), count, pages,
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  return rv;
}

Reflector::WatchEnd Reflector::watch(const std::string& from, std::string& last_rv) {
  const int base = std::max(1, options_.watch_timeout_seconds);
  const int timeout_seconds = std::uniform_int_distribution<int>(base, 2 * base - 1)(watch_jitter_);
  const std::string path = resource_.collection_path(ns_) +
                           "?watch=1&allowWatchBookmarks=true&resourceVersion=" + url_encode(from) +
                           "&timeoutSeconds=" + std::to_string(timeout_seconds);
  WatchEnd end = WatchEnd::kReconnect;
  bool got_event = false;
  auto r = client_.stream(
      path,
      [&](std::string_view line) {
        nlohmann::json ev;
        try {
          ev = nlohmann::json::parse(line);
        } catch (const std::exception&) {
          log_->warn("watching {}: ignoring a line that is not JSON", describe());
          return true;
        }
        const std::string type = ev.value("type", "");
        if (auto it = ev.find("object"); type != "BOOKMARK" && it != ev.end() && too_deep(*it, "watching")) return true;
        auto obj = ev.value("object", nlohmann::json::object());
        if (type == "ERROR") {
          if (obj.value("code", 0) == 410 || resource_version_too_large(obj)) {
            end = WatchEnd::kRelist;
          } else {
            end = WatchEnd::kError;
            std::lock_guard lock(mutex_);
            last_error_ = "watch error: " + obj.value("message", ev.dump());
          }
          return false;
        }
        got_event = true;
        const std::string rv = ObjectStore::resource_version(obj);
        if (!rv.empty()) last_rv = rv;
        if (type == "BOOKMARK") return true;
        obj["kind"] = resource_.kind;
        obj["apiVersion"] = resource_.api_version();
        if (type == "ADDED" || type == "MODIFIED") store_.upsert(resource_.kind, std::move(obj));
        else if (type == "DELETED") {
          const auto& meta = obj.value("metadata", nlohmann::json::object());
          store_.remove(resource_.kind, meta.value("namespace", ""), meta.value("name", ""));
        }
        return true;
      },
      stop_);
  if (!r) {
    fail(r.error().message, std::nullopt);
    return WatchEnd::kError;
  }
  if (r->status == 410) return WatchEnd::kRelist;
  if (r->status == 504) {
    nlohmann::json status;
    try {
      status = nlohmann::json::parse(r->body);
    } catch (const std::exception&) {}
    if (resource_version_too_large(status)) return WatchEnd::kRelist;
  }
  if (r->status != 200) {
    fail(api_error(*r, "GET " + path).message, (r->status == 429 || r->status == 503) ? r->retry_after : std::nullopt);
    return WatchEnd::kError;
  }
  if (end == WatchEnd::kError) {
    fail(last_error(), std::nullopt);
    return end;
  }
  if (got_event || end == WatchEnd::kReconnect) recovered();
  return end;
}

void Reflector::run() {
  std::string rv;
  while (!stop_) {
    if (rv.empty()) {
      list_retry_after_.reset();
      list_status_ = 0;
      auto listed = list_all();
      if (stop_) break;
      if (!listed) {
        if (resource_.optional && (list_status_ == 403 || list_status_ == 404)) {
          // Denied or not served: an empty cache, synced, so the controller runs without it.
          store_.replace(resource_.kind, ns_, {});
          if (!synced_.exchange(true)) {
            log_->warn("watching {}: optional, going on without it until it can be listed", describe());
            if (on_synced_) on_synced_();
          }
        }
        fail(listed.error().message, list_retry_after_);
        continue;
      }
      rv = *listed;
      recovered();
      if (!synced_.exchange(true) && on_synced_) on_synced_();
    }
    std::string last = rv;
    const auto started = std::chrono::steady_clock::now();
    switch (watch(rv, last)) {
      case WatchEnd::kRelist:
        log_->info(
            "watching {}: resourceVersion {} is not in the server's history (410 Gone, or too large "
            "for its cache); listing again",
            describe(), last);
        rv.clear();
        break;
      case WatchEnd::kError: rv = last; break;
      case WatchEnd::kReconnect:
        rv = last;
        // A server that closes every watch at once would make this a busy loop.
        if (std::chrono::steady_clock::now() - started < std::chrono::milliseconds(100)) sleep_for(backoff_.next());
        break;
    }
  }
}

}  // namespace wva::framework::kube
