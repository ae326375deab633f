#include "cluster/kube/object_store.h"

#include <algorithm>
#include <functional>
#include <string_view>

#include "cluster/hpa_record.h"           // trim_hpa, hpa_record_of
#include "wva/sdk/util/memory_cluster.h"  // kPodDeploymentAnnotation

namespace wva::framework::kube {
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

OwnerRefs owners_of(const json& meta) {
  OwnerRefs out;
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

json owners_json(const OwnerRefs& owners) {
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
std::string controller_owner(const OwnerRefs& owners, const char* kind) {
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

// Interned values: equal ones are usually the same pointer; compared by value all the same.
template <typename T>
bool same_value(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) {
  return a == b || (a && b && *a == *b);
}

// "ns/name" -> (ns, name).
std::pair<std::string_view, std::string_view> split_key(const std::string& key) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) return {std::string_view(), key};
  return {std::string_view(key).substr(0, slash), std::string_view(key).substr(slash + 1)};
}

}  // namespace

sdk::ObjectSnapshot DeploymentPack::object() const {
  if (auto held = unpacked.lock()) return held;
  json obj = json::from_msgpack(*bytes);
  if (resource_version) obj["metadata"]["resourceVersion"] = *resource_version;
  auto snapshot = std::make_shared<const json>(std::move(obj));
  unpacked = snapshot;
  return snapshot;
}

namespace {

std::vector<std::uint8_t> packed_exactly(const json& value) {
  const std::vector<std::uint8_t> packed = json::to_msgpack(value);
  return std::vector<std::uint8_t>(packed.begin(), packed.end());  // sized exactly, no spare room
}

}  // namespace

VariantPack VariantPack::pack(json obj) {
  VariantPack v;
  if (obj.is_object()) {
    if (auto status = obj.find("status"); status != obj.end()) {
      v.status = packed_exactly(*status);
      obj.erase(status);
    }
    if (auto m = obj.find("metadata"); m != obj.end() && m->is_object())
      if (auto rv = m->find("resourceVersion"); rv != m->end()) {
        v.resource_version = std::move(*rv);
        m->erase(rv);
      }
  }
  v.body = packed_exactly(obj);
  return v;
}

sdk::ObjectSnapshot VariantPack::object() const {
  json obj = json::from_msgpack(body);
  if (!status.empty()) obj["status"] = json::from_msgpack(status);
  if (resource_version) obj["metadata"]["resourceVersion"] = *resource_version;
  return std::make_shared<const json>(std::move(obj));
}

std::optional<json> VariantPack::status_json() const {
  if (status.empty()) return std::nullopt;
  return json::from_msgpack(status);
}

std::string VariantPack::resource_version_text() const {
  return resource_version && resource_version->is_string() ? resource_version->get<std::string>() : std::string();
}

std::string DeploymentPack::resource_version_text() const {
  return resource_version && resource_version->is_string() ? resource_version->get<std::string>() : std::string();
}

bool PodRecord::same_as(const PodRecord& o) const {
  for (int f = 0; f < kFieldCount; ++f)
    if (f != kResourceVersion && field(Field(f)) != o.field(Field(f))) return false;
  return same_value(labels, o.labels) && same_value(owners, o.owners) && same_value(conditions, o.conditions);
}

void PodRecord::set_fields(const std::array<std::string, kFieldCount>& values) {
  text.clear();
  std::size_t size = 0;
  for (const auto& v : values) size += v.size();
  text.reserve(size);
  for (int f = 0; f < kFieldCount; ++f) {
    text += values[f];
    ends[f] = static_cast<std::uint32_t>(text.size());
  }
}

std::string ObjectStore::key_of(const json& obj) {
  const json& meta = object_at(obj, "metadata");
  return string_at(meta, "namespace") + "/" + string_at(meta, "name");
}

std::string ObjectStore::resource_version(const json& obj) {
  return string_at(object_at(obj, "metadata"), "resourceVersion");
}

ObjectStore::Entry ObjectStore::make_entry(const std::string& kind, json obj) {
  Entry e;
  e.key = key_of(obj);
  const json& meta = object_at(obj, "metadata");
  if (kind == "Pod") {
    PodRecord p;
    Labels labels;
    const json& label_map = object_at(meta, "labels");
    for (auto it = label_map.begin(); it != label_map.end(); ++it)
      if (it.value().is_string()) labels.emplace_back(it.key(), it.value().get<std::string>());
    const json& status = object_at(obj, "status");
    p.set_fields({string_at(meta, "uid"), string_at(meta, "resourceVersion"), string_at(meta, "deletionTimestamp"),
                  string_at(status, "phase"), string_at(status, "podIP"), string_at(status, "startTime")});
    Conditions conditions;
    if (auto cs = status.find("conditions"); cs != status.end() && cs->is_array())
      for (const auto& c : *cs) conditions.emplace_back(string_at(c, "type"), string_at(c, "status"));
    OwnerRefs owners = owners_of(meta);
    std::lock_guard lock(intern_mutex_);
    p.labels = labels_pool_.intern(std::move(labels));
    p.owners = owners_pool_.intern(std::move(owners));
    p.conditions = conditions_pool_.intern(std::move(conditions));
    e.pod = std::move(p);
    return e;
  }
  if (kind == "ReplicaSet") {
    ReplicaSetRecord r;
    r.uid = string_at(meta, "uid");
    r.resource_version = string_at(meta, "resourceVersion");
    OwnerRefs owners = owners_of(meta);
    std::lock_guard lock(intern_mutex_);
    r.owners = owners_pool_.intern(std::move(owners));
    e.replica_set = std::move(r);
    return e;
  }
  drop_noise(obj);
  if (kind == "Deployment") {
    trim_deployment(obj);
    DeploymentPack d;
    d.record = std::make_shared<const DeploymentRecord>(deployment_record_of(obj));
    if (auto m = obj.find("metadata"); m != obj.end() && m->is_object())
      if (auto rv = m->find("resourceVersion"); rv != m->end()) {
        d.resource_version = std::move(*rv);
        m->erase(rv);
      }
    const std::vector<std::uint8_t> packed = json::to_msgpack(obj);
    d.bytes = std::make_shared<const std::vector<std::uint8_t>>(packed.begin(), packed.end());  // exact size
    e.deployment = std::move(d);
    return e;
  }
  if (kind == "VariantAutoscaling") {
    e.variant = VariantPack::pack(std::move(obj));
    return e;
  }
  // The status (rewritten at every HPA sync) is dropped: those changes neither cost memory nor wake the
  // model views.
  if (kind == "HorizontalPodAutoscaler") trim_hpa(obj);
  e.object = std::make_shared<const json>(std::move(obj));
  return e;
}

void ObjectStore::notify(const std::string& kind, const std::string& key) const {
  if (!listener_) return;
  if (held_changes_) {
    held_changes_->emplace_back(kind, key);
    return;
  }
  const auto slash = key.find('/');
  listener_(kind, key.substr(0, slash), slash == std::string::npos ? std::string() : key.substr(slash + 1));
}

void ObjectStore::notify_pods_of(const std::string& rs_key) const {
  auto it = pods_by_replica_set_.find(rs_key);
  if (it == pods_by_replica_set_.end()) return;
  for (const std::string* pod_key : it->second) notify("Pod", *pod_key);
}

void ObjectStore::index_pod_locked(const std::string& ns, const std::string& rs, const std::string* pod_key) {
  pods_by_replica_set_[ns + "/" + rs].push_back(pod_key);
}

void ObjectStore::unindex_pod_locked(const std::string& ns, const std::string& rs, const std::string* pod_key) {
  auto it = pods_by_replica_set_.find(ns + "/" + rs);
  if (it == pods_by_replica_set_.end()) return;
  std::erase(it->second, pod_key);
  if (it->second.empty()) pods_by_replica_set_.erase(it);
}

void ObjectStore::put_locked(const std::string& kind, Entry entry) {
  if (entry.pod) {
    auto [slot, inserted] = pods_.try_emplace(entry.key);
    const std::string& key = slot->first;
    const std::string ns(split_key(key).first);
    const bool changed = inserted || !slot->second.same_as(*entry.pod);
    const std::string old_rs = inserted ? std::string() : controller_owner(*slot->second.owners, "ReplicaSet");
    const std::string new_rs = controller_owner(*entry.pod->owners, "ReplicaSet");
    if (old_rs != new_rs) {
      if (!old_rs.empty()) unindex_pod_locked(ns, old_rs, &key);
      if (!new_rs.empty()) index_pod_locked(ns, new_rs, &key);
    }
    slot->second = std::move(*entry.pod);
    if (changed) notify(kind, key);
    return;
  }
  if (entry.replica_set) {
    auto [slot, inserted] = replica_sets_.try_emplace(entry.key);
    const bool changed = inserted || slot->second.uid != entry.replica_set->uid ||
                         !same_value(slot->second.owners, entry.replica_set->owners);
    const bool owner_changed = inserted || controller_owner(*slot->second.owners, "Deployment") !=
                                               controller_owner(*entry.replica_set->owners, "Deployment");
    slot->second = std::move(*entry.replica_set);
    if (changed) notify(kind, entry.key);
    if (owner_changed) notify_pods_of(entry.key);
    return;
  }
  if (entry.deployment) {
    auto [slot, inserted] = deployments_.try_emplace(entry.key);
    // Equal bytes: equal objects but for resourceVersion. Different bytes may still be the same shape
    // (1 and 1.0 pack differently but compare equal): compared as JSON then, as before.
    const bool changed = inserted || (*slot->second.bytes != *entry.deployment->bytes &&
                                      !same_shape(kind, *slot->second.object(), *entry.deployment->object()));
    slot->second = std::move(*entry.deployment);
    if (changed) notify(kind, entry.key);
    return;
  }
  if (entry.variant) {
    auto [slot, inserted] = variants_.try_emplace(entry.key);
    // Equal bodies: equal but for status and resourceVersion (what a status write changes). Different
    // bytes may still be the same shape (1 and 1.0): compared as JSON then.
    const bool changed = inserted || (slot->second.body != entry.variant->body &&
                                      !same_shape(kind, *slot->second.object(), *entry.variant->object()));
    slot->second = std::move(*entry.variant);
    if (changed) notify(kind, entry.key);
    return;
  }
  auto& objects = by_kind_[kind];
  auto it = objects.find(entry.key);
  if (it == objects.end()) {
    objects.emplace(entry.key, PackedObject(*entry.object));
    notify(kind, entry.key);
    return;
  }
  const bool changed = !same_shape(kind, *it->second.get(), *entry.object);
  it->second = PackedObject(*entry.object);
  if (changed) notify(kind, entry.key);
}

void ObjectStore::erase_locked(const std::string& kind, const std::string& key) {
  if (kind == "Pod") {
    auto it = pods_.find(key);
    if (it == pods_.end()) return;
    if (auto rs = controller_owner(*it->second.owners, "ReplicaSet"); !rs.empty())
      unindex_pod_locked(std::string(split_key(it->first).first), rs, &it->first);
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
  if (kind == "Deployment") {
    if (deployments_.erase(key)) notify(kind, key);
    return;
  }
  if (kind == "VariantAutoscaling") {
    if (variants_.erase(key)) notify(kind, key);
    return;
  }
  auto k = by_kind_.find(kind);
  if (k == by_kind_.end() || !k->second.erase(key)) return;
  notify(kind, key);
}

void ObjectStore::replace(const std::string& kind, const std::string& ns, std::vector<Entry> entries) {
  std::lock_guard lock(mutex_);
  // The listed keys, sorted (views into `entries`: no copies of 120,000 names).
  std::vector<std::string_view> fresh;
  fresh.reserve(entries.size());
  for (const auto& e : entries) fresh.emplace_back(e.key);
  std::sort(fresh.begin(), fresh.end());
  std::vector<std::string> gone;
  auto collect = [&](const auto& map) {
    const std::string prefix = ns + "/";
    for (auto it = ns.empty() ? map.begin() : map.lower_bound(prefix); it != map.end(); ++it) {
      if (!ns.empty() && !it->first.starts_with(prefix)) break;
      if (!std::binary_search(fresh.begin(), fresh.end(), std::string_view(it->first))) gone.push_back(it->first);
    }
  };
  if (kind == "Pod") collect(pods_);
  else if (kind == "ReplicaSet") collect(replica_sets_);
  else if (kind == "Deployment") collect(deployments_);
  else if (kind == "VariantAutoscaling") collect(variants_);
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

void ObjectStore::upsert(const std::string& kind, json obj) {
  Entry e = make_entry(kind, std::move(obj));
  std::lock_guard lock(mutex_);
  put_locked(kind, std::move(e));
}

void ObjectStore::upsert_if_version(const std::string& kind, json obj, const std::string& expected_rv) {
  Entry e = make_entry(kind, std::move(obj));
  std::lock_guard lock(mutex_);
  if (e.deployment) {
    auto it = deployments_.find(e.key);
    if (it != deployments_.end() && it->second.resource_version_text() != expected_rv) return;
  }
  if (e.variant) {
    auto it = variants_.find(e.key);
    if (it != variants_.end() && it->second.resource_version_text() != expected_rv) return;
  }
  if (e.object) {
    auto& objects = by_kind_[kind];
    auto it = objects.find(e.key);
    if (it != objects.end() && resource_version(*it->second.get()) != expected_rv) return;
  }
  put_locked(kind, std::move(e));
}

void ObjectStore::remove(const std::string& kind, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  erase_locked(kind, ns + "/" + name);
}

std::string ObjectStore::deployment_of_locked(std::string_view ns, const PodRecord& pod) const {
  const std::string rs = controller_owner(*pod.owners, "ReplicaSet");
  if (rs.empty()) return {};
  std::string rs_key(ns);
  rs_key += '/';
  rs_key += rs;
  auto it = replica_sets_.find(rs_key);
  return it == replica_sets_.end() ? std::string() : controller_owner(*it->second.owners, "Deployment");
}

sdk::ObjectSnapshot ObjectStore::pod_json_locked(const std::string& key, const PodRecord& p) const {
  const auto [ns, name] = split_key(key);
  json obj = json::object();
  obj["apiVersion"] = "v1";
  obj["kind"] = "Pod";
  json& meta = obj["metadata"];
  meta["name"] = name;
  meta["namespace"] = ns;
  const auto put = [](json& to, const char* key, std::string_view value) {
    if (!value.empty()) to[key] = value;
  };
  put(meta, "uid", p.field(PodRecord::kUid));
  put(meta, "resourceVersion", p.field(PodRecord::kResourceVersion));
  put(meta, "deletionTimestamp", p.field(PodRecord::kDeletionTimestamp));
  if (!p.labels->empty()) {
    json& labels = meta["labels"];
    for (const auto& [k, v] : *p.labels) labels[k] = v;
  }
  if (!p.owners->empty()) meta["ownerReferences"] = owners_json(*p.owners);
  if (auto d = deployment_of_locked(ns, p); !d.empty()) meta["annotations"][sdk::kPodDeploymentAnnotation] = d;
  json& status = obj["status"];
  status = json::object();
  put(status, "phase", p.field(PodRecord::kPhase));
  if (!p.conditions->empty()) {
    json& cs = status["conditions"];
    for (const auto& [type, value] : *p.conditions) {
      json c = json::object();
      c["type"] = type;
      c["status"] = value;
      cs.push_back(std::move(c));
    }
  }
  put(status, "podIP", p.field(PodRecord::kPodIp));
  put(status, "startTime", p.field(PodRecord::kStartTime));
  return std::make_shared<const json>(std::move(obj));
}

namespace {

sdk::ObjectSnapshot replica_set_json(const std::string& key, const ReplicaSetRecord& r) {
  const auto [ns, name] = split_key(key);
  json obj = json::object();
  obj["apiVersion"] = "apps/v1";
  obj["kind"] = "ReplicaSet";
  json& meta = obj["metadata"];
  meta["name"] = name;
  meta["namespace"] = ns;
  if (!r.uid.empty()) meta["uid"] = r.uid;
  if (!r.resource_version.empty()) meta["resourceVersion"] = r.resource_version;
  if (!r.owners->empty()) meta["ownerReferences"] = owners_json(*r.owners);
  return std::make_shared<const json>(std::move(obj));
}

template <typename Map, typename Fn>
void for_scope(const Map& map, const std::string& ns, Fn&& fn) {
  if (ns.empty()) {
    for (const auto& [key, value] : map) fn(key, value);
    return;
  }
  const std::string prefix = ns + "/";
  for (auto it = map.lower_bound(prefix); it != map.end() && it->first.starts_with(prefix); ++it)
    fn(it->first, it->second);
}

}  // namespace

std::vector<sdk::ObjectSnapshot> ObjectStore::list(const std::string& kind, const std::string& ns) const {
  std::lock_guard lock(mutex_);
  std::vector<sdk::ObjectSnapshot> out;
  if (kind == "Pod") {
    out.reserve(pods_.size());
    for_scope(pods_, ns, [&](const std::string& key, const PodRecord& p) { out.push_back(pod_json_locked(key, p)); });
  } else if (kind == "ReplicaSet") {
    for_scope(replica_sets_, ns,
              [&](const std::string& key, const ReplicaSetRecord& r) { out.push_back(replica_set_json(key, r)); });
  } else if (kind == "Deployment") {
    for_scope(deployments_, ns, [&](const std::string&, const DeploymentPack& d) { out.push_back(d.object()); });
  } else if (kind == "VariantAutoscaling") {
    for_scope(variants_, ns, [&](const std::string&, const VariantPack& v) { out.push_back(v.object()); });
  } else if (auto k = by_kind_.find(kind); k != by_kind_.end()) {
    for_scope(k->second, ns, [&](const std::string&, const PackedObject& o) { out.push_back(o.get()); });
  }
  return out;
}

sdk::ObjectSnapshot ObjectStore::get(const std::string& kind, const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mutex_);
  const std::string key = ns + "/" + name;
  if (kind == "Pod") {
    auto it = pods_.find(key);
    return it == pods_.end() ? nullptr : pod_json_locked(it->first, it->second);
  }
  if (kind == "ReplicaSet") {
    auto it = replica_sets_.find(key);
    return it == replica_sets_.end() ? nullptr : replica_set_json(it->first, it->second);
  }
  if (kind == "Deployment") {
    auto it = deployments_.find(key);
    return it == deployments_.end() ? nullptr : it->second.object();
  }
  if (kind == "VariantAutoscaling") {
    auto it = variants_.find(key);
    return it == variants_.end() ? nullptr : it->second.object();
  }
  auto k = by_kind_.find(kind);
  if (k == by_kind_.end()) return nullptr;
  auto it = k->second.find(key);
  return it == k->second.end() ? nullptr : it->second.get();
}

std::string ObjectStore::resource_version_of(const std::string& kind, const std::string& ns,
                                             const std::string& name) const {
  if (kind == "Deployment") {
    std::lock_guard lock(mutex_);
    auto it = deployments_.find(ns + "/" + name);
    return it == deployments_.end() ? std::string() : it->second.resource_version_text();
  }
  if (kind == "VariantAutoscaling") {
    std::lock_guard lock(mutex_);
    auto it = variants_.find(ns + "/" + name);
    return it == variants_.end() ? std::string() : it->second.resource_version_text();
  }
  auto obj = get(kind, ns, name);
  return obj ? resource_version(*obj) : std::string();
}

std::optional<std::string> ObjectStore::cached_version(const std::string& kind, const std::string& ns,
                                                       const std::string& name) const {
  const std::string key = ns + "/" + name;
  std::lock_guard lock(mutex_);
  if (kind == "Pod") {
    auto it = pods_.find(key);
    if (it == pods_.end()) return std::nullopt;
    return std::string(it->second.field(PodRecord::kResourceVersion));
  }
  if (kind == "ReplicaSet") {
    auto it = replica_sets_.find(key);
    if (it == replica_sets_.end()) return std::nullopt;
    return it->second.resource_version;
  }
  if (kind == "Deployment") {
    auto it = deployments_.find(key);
    if (it == deployments_.end()) return std::nullopt;
    return it->second.resource_version_text();
  }
  if (kind == "VariantAutoscaling") {
    auto it = variants_.find(key);
    if (it == variants_.end()) return std::nullopt;
    return it->second.resource_version_text();
  }
  auto k = by_kind_.find(kind);
  if (k == by_kind_.end()) return std::nullopt;
  auto it = k->second.find(key);
  if (it == k->second.end()) return std::nullopt;
  return resource_version(*it->second.get());
}

std::optional<ObjectStore::VersionedStatus> ObjectStore::cached_status(const std::string& kind, const std::string& ns,
                                                                       const std::string& name) const {
  if (kind == "VariantAutoscaling") {
    std::lock_guard lock(mutex_);
    auto it = variants_.find(ns + "/" + name);
    if (it == variants_.end()) return std::nullopt;
    return VersionedStatus{it->second.resource_version_text(), it->second.status_json()};
  }
  const auto obj = get(kind, ns, name);
  if (!obj) return std::nullopt;
  VersionedStatus out{resource_version(*obj), std::nullopt};
  if (obj->is_object())
    if (auto status = obj->find("status"); status != obj->end()) out.status = *status;
  return out;
}

std::size_t ObjectStore::size(const std::string& kind) const {
  std::lock_guard lock(mutex_);
  if (kind == "Pod") return pods_.size();
  if (kind == "ReplicaSet") return replica_sets_.size();
  if (kind == "Deployment") return deployments_.size();
  if (kind == "VariantAutoscaling") return variants_.size();
  auto k = by_kind_.find(kind);
  return k == by_kind_.end() ? 0 : k->second.size();
}

PodOwner ObjectStore::pod_owner_locked(const std::string& key, const PodRecord& pod) const {
  const auto [ns, name] = split_key(key);
  PodOwner out{std::string(ns), std::string(name), deployment_of_locked(ns, pod), {}};
  if (out.deployment.empty())
    for (const auto& [k, v] : *pod.labels) out.labels[k] = v;
  return out;
}

std::vector<PodOwner> ObjectStore::pod_owners() const {
  std::lock_guard lock(mutex_);
  std::vector<PodOwner> out;
  out.reserve(pods_.size());
  for (const auto& [key, pod] : pods_) out.push_back(pod_owner_locked(key, pod));
  return out;
}

std::optional<PodOwner> ObjectStore::pod_owner(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = pods_.find(ns + "/" + name);
  if (it == pods_.end()) return std::nullopt;
  return pod_owner_locked(it->first, it->second);
}

std::vector<DeploymentRecordPtr> ObjectStore::deployment_records() const {
  std::lock_guard lock(mutex_);
  std::vector<DeploymentRecordPtr> out;
  out.reserve(deployments_.size());
  for (const auto& [key, d] : deployments_) out.push_back(d.record);
  return out;
}

std::vector<HpaRecord> ObjectStore::hpa_records() const {
  std::lock_guard lock(mutex_);
  std::vector<HpaRecord> out;
  auto k = by_kind_.find("HorizontalPodAutoscaler");
  if (k == by_kind_.end()) return out;
  out.reserve(k->second.size());
  for (const auto& [key, o] : k->second) out.push_back(hpa_record_of(*o.get()));
  return out;
}

DeploymentRecordPtr ObjectStore::deployment_record(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = deployments_.find(ns + "/" + name);
  return it == deployments_.end() ? nullptr : it->second.record;
}

}  // namespace wva::framework::kube
