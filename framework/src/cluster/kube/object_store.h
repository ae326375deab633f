// The informers' cache: the latest version of every watched object, by kind and "namespace/name".
// A listener hears every change (before = nullptr: added; after = nullptr: deleted); it runs under the
// store's lock, so it must not call back into the store. Thread-safe; reads return copies.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wva::framework::kube {

class ObjectStore {
 public:
  using Listener =
      std::function<void(const std::string& kind, const nlohmann::json* before, const nlohmann::json* after)>;

  explicit ObjectStore(Listener listener = {}) : listener_(std::move(listener)) {}

  static std::string key_of(const nlohmann::json& obj) {
    const auto& meta = obj.value("metadata", nlohmann::json::object());
    return meta.value("namespace", "") + "/" + meta.value("name", "");
  }

  // Installs a full list of `kind` in namespace `ns` ("" = all): objects of that scope missing from
  // `items` are deleted, the others added or replaced.
  void replace(const std::string& kind, const std::string& ns, std::vector<nlohmann::json> items) {
    std::lock_guard lock(mutex_);
    auto& objects = by_kind_[kind];
    std::map<std::string, nlohmann::json> fresh;
    for (auto& item : items) {
      tidy(kind, item);
      std::string key = key_of(item);
      fresh.emplace(std::move(key), std::move(item));
    }
    for (auto it = objects.begin(); it != objects.end();) {
      const bool in_scope = ns.empty() || it->first.compare(0, ns.size() + 1, ns + "/") == 0;
      if (in_scope && !fresh.count(it->first)) {
        if (listener_) listener_(kind, &it->second, nullptr);
        it = objects.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [key, obj] : fresh) put_locked(kind, objects, key, std::move(obj));
  }

  void upsert(const std::string& kind, nlohmann::json obj) {
    tidy(kind, obj);
    std::lock_guard lock(mutex_);
    const std::string key = key_of(obj);
    put_locked(kind, by_kind_[kind], key, std::move(obj));
  }

  // Replaces the object only when the cached one still has resourceVersion `expected_rv` (a write's
  // answer must not overwrite a newer version a watch already delivered).
  void upsert_if_version(const std::string& kind, nlohmann::json obj, const std::string& expected_rv) {
    tidy(kind, obj);
    std::lock_guard lock(mutex_);
    auto& objects = by_kind_[kind];
    const std::string key = key_of(obj);
    auto it = objects.find(key);
    if (it != objects.end() && resource_version(it->second) != expected_rv) return;
    put_locked(kind, objects, key, std::move(obj));
  }

  void remove(const std::string& kind, const nlohmann::json& obj) {
    std::lock_guard lock(mutex_);
    auto& objects = by_kind_[kind];
    auto it = objects.find(key_of(obj));
    if (it == objects.end()) return;
    if (listener_) listener_(kind, &it->second, nullptr);
    objects.erase(it);
  }

  std::vector<nlohmann::json> list(const std::string& kind, const std::string& ns) const {
    std::lock_guard lock(mutex_);
    std::vector<nlohmann::json> out;
    auto k = by_kind_.find(kind);
    if (k == by_kind_.end()) return out;
    if (ns.empty()) {
      out.reserve(k->second.size());
      for (const auto& [key, obj] : k->second) out.push_back(obj);
    } else {
      const std::string prefix = ns + "/";
      for (auto it = k->second.lower_bound(prefix); it != k->second.end() && it->first.starts_with(prefix); ++it)
        out.push_back(it->second);
    }
    return out;
  }

  std::optional<nlohmann::json> get(const std::string& kind, const std::string& ns, const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto k = by_kind_.find(kind);
    if (k == by_kind_.end()) return std::nullopt;
    auto it = k->second.find(ns + "/" + name);
    if (it == k->second.end()) return std::nullopt;
    return it->second;
  }

  std::size_t size(const std::string& kind) const {
    std::lock_guard lock(mutex_);
    auto k = by_kind_.find(kind);
    return k == by_kind_.end() ? 0 : k->second.size();
  }

  static std::string resource_version(const nlohmann::json& obj) {
    const auto& meta = obj.value("metadata", nlohmann::json::object());
    return meta.value("resourceVersion", "");
  }

 private:
  // What the cache keeps: managedFields is large and never read; of Pods (the most numerous objects) only
  // metadata and status are kept (the spec, with its containers, env and volumes, is never read), of
  // ReplicaSets only metadata (their ownerReferences map pods to Deployments).
  static void tidy(const std::string& kind, nlohmann::json& obj) {
    if (auto m = obj.find("metadata"); m != obj.end() && m->is_object()) m->erase("managedFields");
    if (kind == "Pod") {
      obj.erase("spec");
      if (auto s = obj.find("status"); s != obj.end() && s->is_object())
        for (auto it = s->begin(); it != s->end();) {
          const std::string& k = it.key();
          if (k == "phase" || k == "conditions" || k == "podIP" || k == "startTime") ++it;
          else it = s->erase(it);
        }
    } else if (kind == "ReplicaSet") {
      obj.erase("spec");
      obj.erase("status");
    }
  }

  void put_locked(const std::string& kind, std::map<std::string, nlohmann::json>& objects, const std::string& key,
                  nlohmann::json obj) {
    auto it = objects.find(key);
    if (it == objects.end()) {
      auto [ins, _] = objects.emplace(key, std::move(obj));
      if (listener_) listener_(kind, nullptr, &ins->second);
      return;
    }
    if (resource_version(it->second) == resource_version(obj) && it->second == obj) return;
    nlohmann::json before = std::move(it->second);
    it->second = std::move(obj);
    if (listener_) listener_(kind, &before, &it->second);
  }

  Listener listener_;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, nlohmann::json>> by_kind_;
};

}  // namespace wva::framework::kube
