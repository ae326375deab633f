#include "reference_object_store.h"

#include <algorithm>
#include <functional>

#include "wva/sdk/util/memory_cluster.h"  // kPodDeploymentAnnotation

namespace wva::testing::reference {
using wva::framework::PodOwner;
namespace sdk = wva::sdk;
namespace {

using nlohmann::json;

std::string string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& object_at(const json& obj, const char* key) {
  static const json empty = json::object();
  if (!obj.is_object()) return empty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : empty;
}

std::vector<OwnerRef> owners_of(const json& meta) {
  std::vector<OwnerRef> out;
  auto refs = meta.find("ownerReferences");
  if (refs == meta.end() || !refs->is_array()) return out;
  for (const auto& r : *refs) {
    if (!r.is_object()) continue;
    OwnerRef o{string_at(r, "apiVersion"), string_at(r, "kind"), string_at(r, "name"), string_at(r, "uid"), {}};
    if (auto c = r.find("controller"); c != r.end() && c->is_boolean()) o.controller = c->get<bool>();
    out.push_back(std::move(o));
  }
  return out;
}

json owners_json(const std::vector<OwnerRef>& owners) {
  json out = json::array();
  for (const auto& o : owners) {
    json r = json::object();
    r["apiVersion"] = o.api_version;
    r["kind"] = o.kind;
    r["name"] = o.name;
    if (!o.uid.empty()) r["uid"] = o.uid;
    if (o.controller) r["controller"] = *o.controller;
    out.push_back(std::move(r));
  }
  return out;
}

// The controlling owner of `kind` (a reference without `controller` counts, as before), or "".
std::string controller_owner(const std::vector<OwnerRef>& owners, const char* kind) {
  for (const auto& o : owners)
    if (o.kind == kind && o.controller.value_or(true)) return o.name;
  return {};
}

void drop_noise(json& obj) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return;
  m->erase("managedFields");
  if (auto a = m->find("annotations"); a != m->end() && a->is_object()) {
    a->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (a->empty()) m->erase(a);
  }
}

void trim_deployment(json& obj) {
  if (auto spec = obj.find("spec"); spec != obj.end() && spec->is_object())
    if (auto tmpl = spec->find("template"); tmpl != spec->end() && tmpl->is_object())
      if (auto pod_spec = tmpl->find("spec"); pod_spec != tmpl->end() && pod_spec->is_object()) {
        json kept = json::object();
        if (auto ns = pod_spec->find("nodeSelector"); ns != pod_spec->end()) kept["nodeSelector"] = std::move(*ns);
        if (auto cs = pod_spec->find("containers"); cs != pod_spec->end() && cs->is_array()) {
          json containers = json::array();
          for (auto& c : *cs) {
            json one = json::object();
            if (c.is_object()) {
              if (auto n = c.find("name"); n != c.end()) one["name"] = std::move(*n);
              if (auto r = c.find("resources"); r != c.end()) one["resources"] = std::move(*r);
            }
            containers.push_back(std::move(one));
          }
          kept["containers"] = std::move(containers);
        }
        *pod_spec = std::move(kept);
      }
  if (auto status = obj.find("status"); status != obj.end() && status->is_object()) status->erase("conditions");
}

// Two objects equal but for their member `skip` (nullptr: none); compared in place, nothing copied.
bool equal_except(const json& a, const json& b, const char* skip,
                  const std::function<bool(const std::string&, const json&, const json&)>& member_equal) {
  if (!a.is_object() || !b.is_object()) return a == b;
  std::size_t a_members = 0, b_members = b.size() - (skip && b.contains(skip) ? 1 : 0);
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (skip && it.key() == skip) continue;
    ++a_members;
    auto other = b.find(it.key());
    if (other == b.end() || !member_equal(it.key(), it.value(), *other)) return false;
  }
  return a_members == b_members;
}

// What a reader of `kind` can see change: not resourceVersion, not a VA's status (the host writes it and
// knows what it wrote). Every watch event and write answer is compared: nothing is copied.
bool same_shape(const std::string& kind, const json& a, const json& b) {
  const auto plain = [](const std::string&, const json& x, const json& y) { return x == y; };
  if (kind == "ConfigMap") {
    const auto da = a.is_object() ? a.find("data") : a.end(), db = b.is_object() ? b.find("data") : b.end();
    const bool has_a = a.is_object() && da != a.end() && !da->is_null();
    const bool has_b = b.is_object() && db != b.end() && !db->is_null();
    return has_a == has_b && (!has_a || *da == *db);
  }
  return equal_except(a, b, kind == "VariantAutoscaling" ? "status" : nullptr,
                      [&](const std::string& key, const json& x, const json& y) {
                        return key == "metadata" ? equal_except(x, y, "resourceVersion", plain) : x == y;
                      });
}

}  // namespace

bool PodRecord::same_as(const PodRecord& o) const {
  return ns == o.ns && name == o.name && uid == o.uid && deletion_timestamp == o.deletion_timestamp &&
         labels == o.labels && owners == o.owners && phase == o.phase && pod_ip == o.pod_ip &&
         start_time == o.start_time && conditions == o.conditions;
}

std::string ReferenceObjectStore::key_of(const json& obj) {
  const json& meta = object_at(obj, "metadata");
  return string_at(meta, "namespace") + "/" + string_at(meta, "name");
}

std::string ReferenceObjectStore::resource_version(const json& obj) {
  return string_at(object_at(obj, "metadata"), "resourceVersion");
}

ReferenceObjectStore::Entry ReferenceObjectStore::make_entry(const std::string& kind, json obj) {
  Entry e;
  e.key = key_of(obj);
  const json& meta = object_at(obj, "metadata");
  if (kind == "Pod") {
    auto p = std::make_shared<PodRecord>();
    p->ns = string_at(meta, "namespace");
    p->name = string_at(meta, "name");
    p->uid = string_at(meta, "uid");
    p->resource_version = string_at(meta, "resourceVersion");
    p->deletion_timestamp = string_at(meta, "deletionTimestamp");
    const json& labels = object_at(meta, "labels");
    for (auto it = labels.begin(); it != labels.end(); ++it)
      if (it.value().is_string()) p->labels.emplace_back(it.key(), it.value().get<std::string>());
    p->owners = owners_of(meta);
    const json& status = object_at(obj, "status");
    p->phase = string_at(status, "phase");
    p->pod_ip = string_at(status, "podIP");
    p->start_time = string_at(status, "startTime");
    if (auto cs = status.find("conditions"); cs != status.end() && cs->is_array())
      for (const auto& c : *cs) p->conditions.emplace_back(string_at(c, "type"), string_at(c, "status"));
    e.pod = std::move(p);
    return e;
  }
  if (kind == "ReplicaSet") {
    auto r = std::make_shared<ReplicaSetRecord>();
    r->ns = string_at(meta, "namespace");
    r->name = string_at(meta, "name");
    r->uid = string_at(meta, "uid");
    r->resource_version = string_at(meta, "resourceVersion");
    r->owners = owners_of(meta);
    e.replica_set = std::move(r);
    return e;
  }
  drop_noise(obj);
  if (kind == "Deployment") trim_deployment(obj);
  e.object = std::make_shared<const json>(std::move(obj));
  return e;
}

void ReferenceObjectStore::notify(const std::string& kind, const std::string& key) const {
  if (!listener_) return;
  if (held_changes_) {
    held_changes_->emplace_back(kind, key);
    return;
  }
  const auto slash = key.find('/');
  listener_(kind, key.substr(0, slash), slash == std::string::npos ? std::string() : key.substr(slash + 1));
}

void ReferenceObjectStore::notify_pods_of(const std::string& rs_key) const {
  auto it = pods_by_replica_set_.find(rs_key);
  if (it == pods_by_replica_set_.end()) return;
  const std::string ns = rs_key.substr(0, rs_key.find('/'));
  for (const auto& pod : it->second) notify("Pod", ns + "/" + pod);
}

void ReferenceObjectStore::put_locked(const std::string& kind, Entry entry) {
  if (entry.pod) {
    auto& slot = pods_[entry.key];
    const bool changed = !slot || !slot->same_as(*entry.pod);
    const std::string old_rs = slot ? controller_owner(slot->owners, "ReplicaSet") : std::string();
    const std::string new_rs = controller_owner(entry.pod->owners, "ReplicaSet");
    if (old_rs != new_rs || !slot) {
      if (slot && !old_rs.empty()) {
        auto it = pods_by_replica_set_.find(slot->ns + "/" + old_rs);
        if (it != pods_by_replica_set_.end() && it->second.erase(slot->name) && it->second.empty())
          pods_by_replica_set_.erase(it);
      }
      if (!new_rs.empty()) pods_by_replica_set_[entry.pod->ns + "/" + new_rs].insert(entry.pod->name);
    }
    slot = std::move(entry.pod);
    if (changed) notify(kind, entry.key);
    return;
  }
  if (entry.replica_set) {
    auto& slot = replica_sets_[entry.key];
    const bool existed = slot != nullptr;
    const bool changed = !slot || slot->uid != entry.replica_set->uid || slot->owners != entry.replica_set->owners;
    const bool owner_changed = !slot || controller_owner(slot->owners, "Deployment") !=
                                            controller_owner(entry.replica_set->owners, "Deployment");
    slot = std::move(entry.replica_set);
    if (changed) notify(kind, entry.key);
    if (owner_changed || !existed) notify_pods_of(entry.key);
    return;
  }
  auto& objects = by_kind_[kind];
  auto it = objects.find(entry.key);
  if (it == objects.end()) {
    objects.emplace(entry.key, std::move(entry.object));
    notify(kind, entry.key);
    return;
  }
  const bool changed = !same_shape(kind, *it->second, *entry.object);
  it->second = std::move(entry.object);
  if (changed) notify(kind, entry.key);
}

void ReferenceObjectStore::erase_locked(const std::string& kind, const std::string& key) {
  if (kind == "Pod") {
    auto it = pods_.find(key);
    if (it == pods_.end()) return;
    if (auto rs = controller_owner(it->second->owners, "ReplicaSet"); !rs.empty()) {
      auto p = pods_by_replica_set_.find(it->second->ns + "/" + rs);
      if (p != pods_by_replica_set_.end() && p->second.erase(it->second->name) && p->second.empty())
        pods_by_replica_set_.erase(p);
    }
    pods_.erase(it);
    notify(kind, key);
    return;
  }
  if (kind == "ReplicaSet") {
    if (!replica_sets_.erase(key)) return;
    notify(kind, key);
    notify_pods_of(key);
    return;
  }
  auto k = by_kind_.find(kind);
  if (k == by_kind_.end() || !k->second.erase(key)) return;
  notify(kind, key);
}

void ReferenceObjectStore::replace(const std::string& kind, const std::string& ns, std::vector<Entry> entries) {
  std::lock_guard lock(mutex_);
  std::set<std::string> fresh;
  for (const auto& e : entries) fresh.insert(e.key);
  std::vector<std::string> gone;
  auto collect = [&](const auto& map) {
    const std::string prefix = ns + "/";
    for (auto it = ns.empty() ? map.begin() : map.lower_bound(prefix); it != map.end(); ++it) {
      if (!ns.empty() && !it->first.starts_with(prefix)) break;
      if (!fresh.count(it->first)) gone.push_back(it->first);
    }
  };
  if (kind == "Pod") collect(pods_);
  else if (kind == "ReplicaSet") collect(replica_sets_);
  else collect(by_kind_[kind]);
  std::vector<std::pair<std::string, std::string>> changes;
  held_changes_ = &changes;
  for (const auto& key : gone) erase_locked(kind, key);
  for (auto& e : entries) put_locked(kind, std::move(e));
  held_changes_ = nullptr;
  if (changes.size() > kManyChanges && many_listener_) {
    many_listener_(kind);
    return;
  }
  for (const auto& [changed_kind, key] : changes) notify(changed_kind, key);
}

void ReferenceObjectStore::upsert(const std::string& kind, json obj) {
  Entry e = make_entry(kind, std::move(obj));
  std::lock_guard lock(mutex_);
  put_locked(kind, std::move(e));
}

void ReferenceObjectStore::upsert_if_version(const std::string& kind, json obj, const std::string& expected_rv) {
  Entry e = make_entry(kind, std::move(obj));
  std::lock_guard lock(mutex_);
  if (e.object) {
    auto& objects = by_kind_[kind];
    auto it = objects.find(e.key);
    if (it != objects.end() && resource_version(*it->second) != expected_rv) return;
  }
  put_locked(kind, std::move(e));
}

void ReferenceObjectStore::remove(const std::string& kind, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  erase_locked(kind, ns + "/" + name);
}

std::string ReferenceObjectStore::deployment_of_locked(const PodRecord& pod) const {
  const std::string rs = controller_owner(pod.owners, "ReplicaSet");
  if (rs.empty()) return {};
  auto it = replica_sets_.find(pod.ns + "/" + rs);
  return it == replica_sets_.end() ? std::string() : controller_owner(it->second->owners, "Deployment");
}

sdk::ObjectSnapshot ReferenceObjectStore::pod_json_locked(const PodRecord& p) const {
  json obj = json::object();
  obj["apiVersion"] = "v1";
  obj["kind"] = "Pod";
  json& meta = obj["metadata"];
  meta["name"] = p.name;
  meta["namespace"] = p.ns;
  if (!p.uid.empty()) meta["uid"] = p.uid;
  if (!p.resource_version.empty()) meta["resourceVersion"] = p.resource_version;
  if (!p.deletion_timestamp.empty()) meta["deletionTimestamp"] = p.deletion_timestamp;
  if (!p.labels.empty()) {
    json& labels = meta["labels"];
    for (const auto& [k, v] : p.labels) labels[k] = v;
  }
  if (!p.owners.empty()) meta["ownerReferences"] = owners_json(p.owners);
  if (auto d = deployment_of_locked(p); !d.empty()) meta["annotations"][sdk::kPodDeploymentAnnotation] = d;
  json& status = obj["status"];
  status = json::object();
  if (!p.phase.empty()) status["phase"] = p.phase;
  if (!p.conditions.empty()) {
    json& cs = status["conditions"];
    for (const auto& [type, value] : p.conditions) {
      json c = json::object();
      c["type"] = type;
      c["status"] = value;
      cs.push_back(std::move(c));
    }
  }
  if (!p.pod_ip.empty()) status["podIP"] = p.pod_ip;
  if (!p.start_time.empty()) status["startTime"] = p.start_time;
  return std::make_shared<const json>(std::move(obj));
}

namespace {

sdk::ObjectSnapshot replica_set_json(const ReplicaSetRecord& r) {
  json obj = json::object();
  obj["apiVersion"] = "apps/v1";
  obj["kind"] = "ReplicaSet";
  json& meta = obj["metadata"];
  meta["name"] = r.name;
  meta["namespace"] = r.ns;
  if (!r.uid.empty()) meta["uid"] = r.uid;
  if (!r.resource_version.empty()) meta["resourceVersion"] = r.resource_version;
  if (!r.owners.empty()) meta["ownerReferences"] = owners_json(r.owners);
  return std::make_shared<const json>(std::move(obj));
}

template <typename Map, typename Fn>
void for_scope(const Map& map, const std::string& ns, Fn&& fn) {
  if (ns.empty()) {
    for (const auto& [key, value] : map) fn(value);
    return;
  }
  const std::string prefix = ns + "/";
  for (auto it = map.lower_bound(prefix); it != map.end() && it->first.starts_with(prefix); ++it) fn(it->second);
}

}  // namespace

std::vector<sdk::ObjectSnapshot> ReferenceObjectStore::list(const std::string& kind, const std::string& ns) const {
  std::lock_guard lock(mutex_);
  std::vector<sdk::ObjectSnapshot> out;
  if (kind == "Pod") {
    out.reserve(pods_.size());
    for_scope(pods_, ns, [&](const auto& p) { out.push_back(pod_json_locked(*p)); });
  } else if (kind == "ReplicaSet") {
    for_scope(replica_sets_, ns, [&](const auto& r) { out.push_back(replica_set_json(*r)); });
  } else if (auto k = by_kind_.find(kind); k != by_kind_.end()) {
    for_scope(k->second, ns, [&](const auto& o) { out.push_back(o); });
  }
  return out;
}

sdk::ObjectSnapshot ReferenceObjectStore::get(const std::string& kind, const std::string& ns,
                                              const std::string& name) const {
  std::lock_guard lock(mutex_);
  const std::string key = ns + "/" + name;
  if (kind == "Pod") {
    auto it = pods_.find(key);
    return it == pods_.end() ? nullptr : pod_json_locked(*it->second);
  }
  if (kind == "ReplicaSet") {
    auto it = replica_sets_.find(key);
    return it == replica_sets_.end() ? nullptr : replica_set_json(*it->second);
  }
  auto k = by_kind_.find(kind);
  if (k == by_kind_.end()) return nullptr;
  auto it = k->second.find(key);
  return it == k->second.end() ? nullptr : it->second;
}

std::string ReferenceObjectStore::resource_version_of(const std::string& kind, const std::string& ns,
                                                      const std::string& name) const {
  auto obj = get(kind, ns, name);
  return obj ? resource_version(*obj) : std::string();
}

std::size_t ReferenceObjectStore::size(const std::string& kind) const {
  std::lock_guard lock(mutex_);
  if (kind == "Pod") return pods_.size();
  if (kind == "ReplicaSet") return replica_sets_.size();
  auto k = by_kind_.find(kind);
  return k == by_kind_.end() ? 0 : k->second.size();
}

PodOwner ReferenceObjectStore::pod_owner_locked(const PodRecord& pod) const {
  PodOwner out{pod.ns, pod.name, deployment_of_locked(pod), {}};
  if (out.deployment.empty())
    for (const auto& [k, v] : pod.labels) out.labels[k] = v;
  return out;
}

std::vector<PodOwner> ReferenceObjectStore::pod_owners() const {
  std::lock_guard lock(mutex_);
  std::vector<PodOwner> out;
  out.reserve(pods_.size());
  for (const auto& [key, pod] : pods_) out.push_back(pod_owner_locked(*pod));
  return out;
}

std::optional<PodOwner> ReferenceObjectStore::pod_owner(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = pods_.find(ns + "/" + name);
  if (it == pods_.end()) return std::nullopt;
  return pod_owner_locked(*it->second);
}

}  // namespace wva::testing::reference
