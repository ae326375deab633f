// An in-memory ClusterView: the object store behind the local backend and the fake every plugin test uses.
//
// Objects are JSON, as `kubectl get -o json` shows them, keyed by kind and "namespace/name".
// - put(obj) adds or replaces an object; metadata.namespace defaults to "default".
// - list("Pod", ns) returns stored Pods plus synthesized ones: Deployment d with n = spec.replicas
//   (default 1) has pods d-0 .. d-<n-1>, labelled with d's spec.template.metadata.labels and annotated
//   `wva.llmd.ai/deployment: d`. Pod d-i is Ready when i < status.readyReplicas (all are Ready when the
//   Deployment has no status.readyReplicas).
// - patch_status applies an RFC 7396 merge patch to the object's "status" (kNotFound when absent).
// - scale sets spec.replicas, status.replicas and status.readyReplicas of a Deployment.
// - fail_next(op, error, times) makes the next `times` calls of op ("list", "get", "patch_status",
//   "scale") return `error`, for tests of retry and hold-last-decision paths.
// Thread-safe: one mutex guards everything. Stored objects are shared immutable snapshots (a write makes
// a new one), so list_shared/get_shared hand them out without copying; synthesized pods are made per call.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/context.h"
#include "wva/sdk/result.h"

namespace wva::sdk {

// Annotation on a synthesized pod naming the Deployment that owns it.
inline constexpr const char* kPodDeploymentAnnotation = "wva.llmd.ai/deployment";

// RFC 7396 JSON merge patch (nlohmann::json::merge_patch): objects merge key by key, null deletes a
// key, anything else replaces.
inline void apply_merge_patch(nlohmann::json& target, const nlohmann::json& patch) { target.merge_patch(patch); }

class InMemoryCluster : public ClusterView {
 public:
  struct PatchRecord {
    std::string kind;
    std::string ns;
    std::string name;
    nlohmann::json patch;
  };

  explicit InMemoryCluster(std::string system_namespace = "workload-variant-autoscaler-system")
      : system_namespace_(std::move(system_namespace)) {}

  InMemoryCluster(const InMemoryCluster&) = delete;
  InMemoryCluster& operator=(const InMemoryCluster&) = delete;

  std::string system_namespace() const override { return system_namespace_; }

  // Adds or replaces an object. Needs `kind` and `metadata.name` (strings); namespace defaults to
  // "default" and is written back into the stored object.
  Result<void> put(nlohmann::json object) {
    if (!object.is_object()) return make_error(ErrorCode::kInvalidConfig, "object is not a JSON object");
    auto kind = string_at(object, "kind");
    if (!kind || kind->empty()) return make_error(ErrorCode::kInvalidConfig, "missing kind");
    auto name = object.contains("metadata") && object["metadata"].is_object() ? string_at(object["metadata"], "name")
                                                                              : std::nullopt;
    if (!name || name->empty()) return make_error(ErrorCode::kInvalidConfig, "missing metadata.name");
    auto ns = string_at(object["metadata"], "namespace");
    if (!ns || ns->empty()) {
      ns = "default";
      object["metadata"]["namespace"] = *ns;
    }
    auto snapshot = std::make_shared<const nlohmann::json>(std::move(object));
    std::lock_guard lock(mutex_);
    objects_[*kind][key(*ns, *name)] = std::move(snapshot);
    return ok();
  }

  // Removes an object; false when it was not there.
  bool remove(const std::string& kind, const std::string& ns, const std::string& name) {
    std::lock_guard lock(mutex_);
    auto k = objects_.find(kind);
    if (k == objects_.end()) return false;
    return k->second.erase(key(ns, name)) > 0;
  }

  void clear() {
    std::lock_guard lock(mutex_);
    objects_.clear();
  }

  // Every stored object (no synthesized pods), ordered by kind, namespace, name.
  std::vector<nlohmann::json> all() const {
    std::lock_guard lock(mutex_);
    std::vector<nlohmann::json> out;
    for (const auto& [kind, by_key] : objects_)
      for (const auto& [k, obj] : by_key) out.push_back(*obj);
    return out;
  }

  // Stored objects of `kind` only (no synthesized pods); ns empty = all namespaces.
  std::vector<ObjectSnapshot> list_stored(const std::string& kind, const std::string& ns) const {
    std::lock_guard lock(mutex_);
    std::vector<ObjectSnapshot> out;
    if (auto k = objects_.find(kind); k != objects_.end())
      for (const auto& [k2, obj] : k->second)
        if (ns.empty() || namespace_of(*obj) == ns) out.push_back(obj);
    return out;
  }

  // How many pods a Deployment's synthesized set has: spec.replicas (default 1), within [0, 100000].
  static long long synthesized_pod_count(const nlohmann::json& deployment) {
    const nlohmann::json* spec = field(deployment, "spec");
    long long n = spec ? int_at(*spec, "replicas").value_or(1) : 1;
    constexpr long long kMaxPods = 100000;  // a typo of 1e9 replicas must not exhaust memory
    return std::clamp(n, 0LL, kMaxPods);
  }

  // Replaces the whole store at once (the local backend's reload). Objects must be valid for put().
  Result<void> replace_all(const std::vector<nlohmann::json>& objects) {
    InMemoryCluster staging(system_namespace_);
    for (const auto& obj : objects)
      if (auto r = staging.put(obj); !r) return r;
    std::lock_guard lock(mutex_);
    objects_ = std::move(staging.objects_);
    return ok();
  }

  // Replaces the whole store with these snapshots, shared, not copied. Each must be valid for put() with
  // its namespace set (as the local backend's loader leaves them); one that is not fails the whole call.
  Result<void> replace_all(const std::vector<ObjectSnapshot>& objects) {
    std::map<std::string, std::map<std::string, ObjectSnapshot>> fresh;
    for (const auto& obj : objects) {
      const nlohmann::json* meta = obj ? field(*obj, "metadata") : nullptr;
      auto kind = obj ? string_at(*obj, "kind") : std::nullopt;
      auto name = meta ? string_at(*meta, "name") : std::nullopt;
      auto ns = meta ? string_at(*meta, "namespace") : std::nullopt;
      if (!kind || kind->empty() || !name || name->empty() || !ns || ns->empty())
        return make_error(ErrorCode::kInvalidConfig, "object without kind, metadata.name or metadata.namespace");
      fresh[*kind][key(*ns, *name)] = obj;
    }
    std::lock_guard lock(mutex_);
    objects_ = std::move(fresh);
    return ok();
  }

  // Makes the next `times` calls of `op` ("list", "get", "patch_status", "scale") fail with `error`.
  void fail_next(const std::string& op, Error error, int times = 1) {
    std::lock_guard lock(mutex_);
    if (times <= 0) {
      failures_.erase(op);
      return;
    }
    failures_[op] = {std::move(error), times};
  }

  struct EventRecord {
    std::string kind, ns, name, type, reason, message;
  };
  // Every emit_event, in order (nothing is rate-limited here).
  std::vector<EventRecord> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  Result<void> emit_event(const nlohmann::json& object, const std::string& type, const std::string& reason,
                          const std::string& message) override {
    std::lock_guard lock(mutex_);
    if (!record_writes_) return ok();
    const nlohmann::json meta =
        object.is_object() ? object.value("metadata", nlohmann::json::object()) : nlohmann::json::object();
    events_.push_back({object.is_object() ? object.value("kind", "") : "", meta.value("namespace", ""),
                       meta.value("name", ""), type, reason, message});
    return ok();
  }

  // Whether patch_status and emit_event are recorded for patches() and events() (on by default, for
  // tests). A store that serves a long-running process (the local backend) turns it off: the records
  // would grow with every write.
  void record_writes(bool on) {
    std::lock_guard lock(mutex_);
    record_writes_ = on;
    if (!on) {
      patches_.clear();
      events_.clear();
    }
  }

  // Every successful patch_status, in order.
  std::vector<PatchRecord> patches() const {
    std::lock_guard lock(mutex_);
    return patches_;
  }

  Result<std::vector<ObjectSnapshot>> list_shared(const std::string& kind, const std::string& ns) override {
    std::lock_guard lock(mutex_);
    if (auto e = take_failure("list")) return *e;
    std::vector<ObjectSnapshot> out;
    if (auto k = objects_.find(kind); k != objects_.end())
      for (const auto& [k2, obj] : k->second)
        if (ns.empty() || namespace_of(*obj) == ns) out.push_back(obj);
    if (kind == "Pod") {
      if (auto d = objects_.find("Deployment"); d != objects_.end())
        for (const auto& [k2, dep] : d->second)
          if (ns.empty() || namespace_of(*dep) == ns) append_pods(*dep, out);
    }
    return out;
  }

  Result<ObjectSnapshot> get_shared(const std::string& kind, const std::string& ns, const std::string& name) override {
    std::lock_guard lock(mutex_);
    if (auto e = take_failure("get")) return *e;
    if (auto k = objects_.find(kind); k != objects_.end())
      if (auto o = k->second.find(key(ns, name)); o != k->second.end()) return o->second;
    if (kind == "Pod") {
      // Pod d-i belongs to Deployment d: only that Deployment's pods are made.
      const auto dash = name.rfind('-');
      if (dash == std::string::npos || dash == 0) return ObjectSnapshot();
      const nlohmann::json* dep = find("Deployment", ns, name.substr(0, dash));
      if (!dep) return ObjectSnapshot();
      std::vector<ObjectSnapshot> pods;
      append_pods(*dep, pods);
      for (auto& p : pods)
        if ((*p)["metadata"]["name"] == name) return p;
    }
    return ObjectSnapshot();
  }

  Result<void> patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                            const nlohmann::json& merge_patch) override {
    std::lock_guard lock(mutex_);
    if (auto e = take_failure("patch_status")) return *e;
    auto* slot = find_slot(kind, ns, name);
    if (!slot) return make_error(ErrorCode::kNotFound, kind + " " + ns + "/" + name + " not found");
    if (!merge_patch.is_object() && !merge_patch.is_null())
      return make_error(ErrorCode::kInvalidConfig, "status merge patch must be a JSON object");
    // Snapshots handed out stay as they were: a new object, copied without what the patch replaces.
    *slot = std::make_shared<const nlohmann::json>(patched_status(**slot, merge_patch));
    if (record_writes_) patches_.push_back(PatchRecord{kind, ns, name, merge_patch});
    return ok();
  }

  Result<void> scale(const std::string& ns, const std::string& deployment, int replicas) override {
    std::lock_guard lock(mutex_);
    if (auto e = take_failure("scale")) return *e;
    if (replicas < 0)
      return make_error(ErrorCode::kInvalidConfig, "replicas must be >= 0, got " + std::to_string(replicas));
    auto* slot = find_slot("Deployment", ns, deployment);
    if (!slot) return make_error(ErrorCode::kNotFound, "Deployment " + ns + "/" + deployment + " not found");
    auto next = std::make_shared<nlohmann::json>(**slot);
    (*next)["spec"]["replicas"] = replicas;
    (*next)["status"]["replicas"] = replicas;
    (*next)["status"]["readyReplicas"] = replicas;
    *slot = std::move(next);
    return ok();
  }

 private:
  static std::string key(const std::string& ns, const std::string& name) { return ns + "/" + name; }

  // `object` with its .status merge-patched (null: removed). Status members the patch replaces whole (a
  // value that is not an object, or null) are not copied first: a status write replaces its conditions
  // and variants lists every time, and copying the old ones only to drop them was most of its cost.
  static nlohmann::json patched_status(const nlohmann::json& object, const nlohmann::json& merge_patch) {
    if (!object.is_object()) {
      nlohmann::json next = object;
      if (merge_patch.is_null()) next.erase("status");
      else apply_merge_patch(next["status"], merge_patch);
      return next;
    }
    nlohmann::json next = nlohmann::json::object();
    for (auto it = object.begin(); it != object.end(); ++it)
      if (it.key() != "status") next[it.key()] = it.value();
    if (merge_patch.is_null()) return next;
    nlohmann::json& status = next["status"];
    if (auto old = object.find("status"); old != object.end()) {
      if (old->is_object() && merge_patch.is_object()) {
        status = nlohmann::json::object();
        for (auto it = old->begin(); it != old->end(); ++it) {
          auto replaced = merge_patch.find(it.key());
          if (replaced == merge_patch.end() || replaced->is_object()) status[it.key()] = it.value();
        }
      } else {
        status = *old;
      }
    }
    apply_merge_patch(status, merge_patch);
    return next;
  }

  static std::optional<std::string> string_at(const nlohmann::json& obj, const char* field) {
    if (!obj.is_object()) return std::nullopt;
    auto it = obj.find(field);
    if (it == obj.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  }

  static std::string namespace_of(const nlohmann::json& obj) {
    return obj.at("metadata").value("namespace", std::string("default"));
  }

  static const nlohmann::json* field(const nlohmann::json& obj, const char* name) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(name);
    return it != obj.end() && it->is_object() ? &*it : nullptr;
  }

  // An integer field (JSON number; a float is truncated), else nullopt.
  static std::optional<long long> int_at(const nlohmann::json& obj, const char* field) {
    if (!obj.is_object()) return std::nullopt;
    auto it = obj.find(field);
    if (it == obj.end()) return std::nullopt;
    if (it->is_number_integer()) return it->get<long long>();
    if (it->is_number_float()) return static_cast<long long>(it->get<double>());
    return std::nullopt;
  }

  static void append_pods(const nlohmann::json& dep, std::vector<ObjectSnapshot>& out) {
    const std::string name = dep.at("metadata").at("name").get<std::string>();
    const std::string ns = namespace_of(dep);
    const nlohmann::json empty = nlohmann::json::object();
    const nlohmann::json* spec_ptr = field(dep, "spec");
    const nlohmann::json* status_ptr = field(dep, "status");
    const nlohmann::json& spec = spec_ptr ? *spec_ptr : empty;
    const nlohmann::json& status = status_ptr ? *status_ptr : empty;
    const long long n = synthesized_pod_count(dep);
    const auto ready = int_at(status, "readyReplicas");
    nlohmann::json labels = nlohmann::json::object();
    if (spec.contains("template") && spec["template"].is_object()) {
      const auto& tmpl = spec["template"];
      if (tmpl.contains("metadata") && tmpl["metadata"].is_object() && tmpl["metadata"].contains("labels") &&
          tmpl["metadata"]["labels"].is_object())
        labels = tmpl["metadata"]["labels"];
    }
    // One template per Deployment, copied per pod (nested initializer lists are slow in nlohmann::json).
    nlohmann::json base = nlohmann::json::object();
    base["apiVersion"] = "v1";
    base["kind"] = "Pod";
    nlohmann::json& meta = base["metadata"];
    meta["namespace"] = ns;
    meta["labels"] = std::move(labels);
    meta["annotations"][kPodDeploymentAnnotation] = name;
    base["status"]["phase"] = "Running";
    nlohmann::json ready_condition = nlohmann::json::object();
    ready_condition["type"] = "Ready";
    ready_condition["status"] = "True";
    base["status"]["conditions"] = nlohmann::json::array();
    base["status"]["conditions"].push_back(std::move(ready_condition));
    for (long long i = 0; i < n; ++i) {
      nlohmann::json pod = base;
      pod["metadata"]["name"] = name + "-" + std::to_string(i);
      if (ready && i >= *ready) pod["status"]["conditions"][0]["status"] = "False";
      out.push_back(std::make_shared<const nlohmann::json>(std::move(pod)));
    }
  }

  ObjectSnapshot* find_slot(const std::string& kind, const std::string& ns, const std::string& name) {
    auto k = objects_.find(kind);
    if (k == objects_.end()) return nullptr;
    auto o = k->second.find(key(ns, name));
    return o == k->second.end() ? nullptr : &o->second;
  }
  const nlohmann::json* find(const std::string& kind, const std::string& ns, const std::string& name) {
    const ObjectSnapshot* slot = find_slot(kind, ns, name);
    return slot ? slot->get() : nullptr;
  }

  std::optional<Error> take_failure(const std::string& op) {
    auto it = failures_.find(op);
    if (it == failures_.end()) return std::nullopt;
    Error e = it->second.first;
    if (--it->second.second <= 0) failures_.erase(it);
    return e;
  }

  std::string system_namespace_;
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, ObjectSnapshot>> objects_;  // kind -> "ns/name" -> object
  std::map<std::string, std::pair<Error, int>> failures_;                 // op -> (error, times left)
  bool record_writes_ = true;
  std::vector<PatchRecord> patches_;
  std::vector<EventRecord> events_;
};

}  // namespace wva::sdk
