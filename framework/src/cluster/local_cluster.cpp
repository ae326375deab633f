#include "cluster/local_cluster.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "cluster/deployment_record.h"
#include "cluster/free_memory.h"
#include "cluster/hpa_record.h"
#include "cluster/status_patch.h"
#include "config/input_limits.h"
#include "wva/sdk/util/yaml.h"

namespace wva::framework {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kVaApiVersion = "llmd.ai/v1alpha1";

bool wanted_file(const fs::path& p) {
  const std::string name = p.filename().string();
  if (name.empty() || name[0] == '.') return false;  // hidden files, editor leftovers
  if (name == "kustomization.yaml" || name == "kustomization.yml") return false;
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

std::string object_key(const json& obj) {
  return obj["kind"].get<std::string>() + "/" + obj["metadata"]["namespace"].get<std::string>() + "/" +
         obj["metadata"]["name"].get<std::string>();
}

// A YAML document as JSON; ConfigMap data values keep the text written in the file.
json doc_to_json(const sdk::yaml::Node& doc, const std::string& where, std::vector<std::string>& errors) {
  json j = sdk::yaml::to_json(doc);
  if (j.is_object() && j.value("kind", json()) == "ConfigMap") {
    const sdk::yaml::Node data = doc["data"];
    if (data.defined() && data.is_mapping()) {
      json out = json::object();
      for (const auto& kv : data.entries()) {
        const std::string key = kv.first.is_scalar() ? kv.first.scalar() : sdk::yaml::to_json(kv.first).dump();
        if (kv.second.is_scalar()) out[key] = kv.second.scalar();
        else if (kv.second.is_null()) out[key] = "";
        else errors.push_back(where + ": data." + key + ": ConfigMap data values must be strings");
      }
      j["data"] = std::move(out);
    }
  }
  return j;
}

// Whether a document (as JSON) is a ConfigMap, whose data doc_to_json reads as the text written.
bool is_config_map(const json& doc) {
  if (!doc.is_object()) return false;
  const auto kind = doc.find("kind");
  return kind != doc.end() && *kind == "ConfigMap";
}

// Validates one object and adds it (with defaults) to `out`. `where` is "file[doc N]".
void accept_object(json obj, const std::string& where, std::vector<json>& out, std::vector<std::string>& errors,
                   std::map<std::string, std::string>& seen) {
  if (!obj.is_object()) {
    errors.push_back(where + ": not a Kubernetes object (expected a mapping)");
    return;
  }
  if (obj.value("kind", json()) == "List" && obj.contains("items")) {
    if (!obj["items"].is_array()) {
      errors.push_back(where + ": items must be a list");
      return;
    }
    for (size_t i = 0; i < obj["items"].size(); ++i)
      accept_object(obj["items"][i], where + ".items[" + std::to_string(i) + "]", out, errors, seen);
    return;
  }
  const size_t before = errors.size();
  auto nonempty_string = [&](const json& parent, const char* field) {
    return parent.is_object() && parent.contains(field) && parent[field].is_string() &&
           !parent[field].get<std::string>().empty();
  };
  if (!nonempty_string(obj, "apiVersion")) errors.push_back(where + ": missing apiVersion");
  if (!nonempty_string(obj, "kind")) errors.push_back(where + ": missing kind");
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) {
    errors.push_back(where + ": missing metadata.name");
  } else {
    if (!nonempty_string(obj["metadata"], "name")) errors.push_back(where + ": missing metadata.name");
    if (obj["metadata"].contains("namespace") && !obj["metadata"]["namespace"].is_string())
      errors.push_back(where + ": metadata.namespace must be a string");
  }
  if (errors.size() != before) return;
  if (obj["kind"] == "VariantAutoscaling" && obj["apiVersion"] != kVaApiVersion)
    errors.push_back(where + ": VariantAutoscaling " + obj["metadata"]["name"].get<std::string>() +
                     " must have apiVersion " + kVaApiVersion + ", got " + obj["apiVersion"].get<std::string>());
  if (obj["kind"] == "ConfigMap" && obj.contains("data") && !obj["data"].is_object() && !obj["data"].is_null())
    errors.push_back(where + ": data must be a mapping of strings");
  if (errors.size() != before) return;
  auto& ns = obj["metadata"]["namespace"];
  if (!ns.is_string() || ns.get<std::string>().empty()) ns = "default";
  const std::string key = object_key(obj);
  if (auto [it, fresh] = seen.emplace(key, where); !fresh) {
    errors.push_back(where + ": duplicate " + obj["kind"].get<std::string>() + " " +
                     obj["metadata"]["namespace"].get<std::string>() + "/" +
                     obj["metadata"]["name"].get<std::string>() + " (first defined in " + it->second + ")");
    return;
  }
  // Trimmed at once (install() packs them): a fleet has an HPA per variant, and their whole trees would
  // all be held until the folder is read.
  if (obj["kind"] == "HorizontalPodAutoscaler") trim_hpa(obj);
  out.push_back(std::move(obj));
}

json without_status(json obj) {
  if (obj.is_object()) obj.erase("status");
  return obj;
}

}  // namespace

LocalCluster::LocalCluster(std::filesystem::path dir, std::string system_namespace)
    : dir_(std::move(dir)), system_namespace_(std::move(system_namespace)), store_(system_namespace_) {
  store_.record_writes(false);  // nothing reads the record here, and it would grow with every status write
}

sdk::Result<LocalCluster::Stamps> LocalCluster::scan() const {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec))
    return sdk::make_error(sdk::ErrorCode::kNotFound, dir_.string() + ": not a directory");
  Stamps stamps;
  fs::directory_iterator it(dir_, ec), end;
  if (ec) return sdk::make_error(sdk::ErrorCode::kUnavailable, dir_.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return sdk::make_error(sdk::ErrorCode::kUnavailable, dir_.string() + ": " + ec.message());
    const fs::path& p = it->path();
    if (!wanted_file(p) || !it->is_regular_file(ec)) continue;
    FileStamp s;
    s.mtime = fs::last_write_time(p, ec);
    if (ec) return sdk::make_error(sdk::ErrorCode::kUnavailable, p.string() + ": " + ec.message());
    s.size = fs::file_size(p, ec);
    if (ec) return sdk::make_error(sdk::ErrorCode::kUnavailable, p.string() + ": " + ec.message());
    stamps.emplace(p, s);
  }
  return stamps;
}

sdk::Result<LocalCluster::Snapshot> LocalCluster::read_folder(const Stamps& stamps) const {
  Snapshot snap;
  snap.stamps = stamps;
  std::vector<std::string> errors;
  std::map<std::string, std::string> seen;    // object key -> where it was first defined
  std::size_t unpacked = 0;                   // snap.objects from here on: the last file's, not yet packed
  for (const auto& [path, stamp] : stamps) {  // std::map: sorted by path, so by file name
    pack_read(snap, unpacked);
    unpacked = snap.objects.size();
    const std::string file = path.string();
    auto read = read_bounded_file(path);
    if (!read) {
      errors.push_back(read.error().message);
      continue;
    }
    const std::string& text = *read;
    if (path.extension() == ".json") {
      // nlohmann parses iteratively, but copying or comparing the result recurses once per level.
      if (auto too_deep = check_json_depth(text)) {
        errors.push_back(file + "[doc 1]: " + *too_deep);
        continue;
      }
      json j;
      try {
        j = json::parse(text);
      } catch (const json::exception& e) {
        errors.push_back(file + ": invalid JSON: " + e.what());
        continue;
      }
      accept_object(std::move(j), file + "[doc 1]", snap.objects, errors, seen);
      continue;
    }
    // Read straight to JSON (no node trees: most of a fleet's load); a file with a ConfigMap is read
    // again as nodes, whose data values keep the text written ("1.50" stays "1.50"): doc_to_json.
    auto json_stream = sdk::yaml::load_all_json(text);
    if (!json_stream.ok()) {
      errors.push_back(json_stream.error->located(file));
      continue;
    }
    if (std::none_of(json_stream.documents.begin(), json_stream.documents.end(), is_config_map)) {
      for (size_t i = 0; i < json_stream.documents.size(); ++i) {
        json& doc = json_stream.documents[i];
        if (doc.is_null()) continue;  // empty document between `---`
        const std::string where = file + "[doc " + std::to_string(i + 1) + "]";
        if (!doc.is_object()) {
          errors.push_back(where + ": not a Kubernetes object (expected a mapping)");
          continue;
        }
        try {
          accept_object(std::move(doc), where, snap.objects, errors, seen);
        } catch (const std::exception& e) {
          errors.push_back(where + ": " + e.what());
        }
      }
      continue;
    }
    auto stream = sdk::yaml::load_all(text);
    if (!stream.ok()) {
      errors.push_back(stream.error->located(file));
      continue;
    }
    const std::vector<sdk::yaml::Node>& docs = stream.documents;
    for (size_t i = 0; i < docs.size(); ++i) {
      if (!docs[i].defined() || docs[i].is_null()) continue;  // empty document between `---`
      const std::string where = file + "[doc " + std::to_string(i + 1) + "]";
      if (!docs[i].is_mapping()) {
        errors.push_back(where + ": not a Kubernetes object (expected a mapping)");
        continue;
      }
      try {
        json j = doc_to_json(docs[i], where, errors);
        accept_object(std::move(j), where, snap.objects, errors, seen);
      } catch (const std::exception& e) {
        errors.push_back(where + ": " + e.what());
      }
    }
  }
  for (std::size_t i = 0; i < extra_objects_.size(); ++i)
    accept_object(extra_objects_[i], extra_origin_ + "[" + std::to_string(i) + "]", snap.objects, errors, seen);
  pack_read(snap, unpacked);
  if (!errors.empty()) {
    std::string message;
    // One problem per line: names from the files cannot add lines of their own.
    for (size_t i = 0; i < errors.size(); ++i) message += (i ? "\n" : "") + escape_control(errors[i]);
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, message);
  }
  return snap;
}

void LocalCluster::pack_read(Snapshot& snap, std::size_t first) {
  std::size_t kept = first;
  for (std::size_t i = first; i < snap.objects.size(); ++i) {
    json& obj = snap.objects[i];
    const auto& kind = obj["kind"];
    std::optional<ReadObject::Kind> packed_kind;
    if (kind == "Deployment") packed_kind = ReadObject::Kind::kDeployment;
    else if (kind == "VariantAutoscaling") packed_kind = ReadObject::Kind::kVariantAutoscaling;
    else if (kind == "HorizontalPodAutoscaler") packed_kind = ReadObject::Kind::kHpa;
    if (!packed_kind) {
      if (kept != i) snap.objects[kept] = std::move(obj);
      ++kept;
      continue;
    }
    const auto& m = obj["metadata"];
    ReadObject read{
        *packed_kind, m["namespace"].get<std::string>() + "/" + m["name"].get<std::string>(), PackedObject(obj), {}, 0};
    if (*packed_kind == ReadObject::Kind::kDeployment) {
      read.record = std::make_shared<const DeploymentRecord>(deployment_record_of(obj));
      read.pods = sdk::InMemoryCluster::synthesized_pod_count(obj);
    }
    snap.packed.push_back(std::move(read));
    obj = nullptr;  // its tree is freed now, not with the whole folder's
  }
  snap.objects.resize(kept);
}

LocalCluster::LocalDeployment LocalCluster::local_deployment(PackedObject from_file, PackedObject current,
                                                             const json& object) {
  LocalDeployment d{std::move(from_file), std::move(current),
                    std::make_shared<const DeploymentRecord>(deployment_record_of(object)),
                    sdk::InMemoryCluster::synthesized_pod_count(object), ++last_version_};
  return d;
}

void LocalCluster::install(Snapshot snapshot, bool keep_memory) {
  std::map<std::string, sdk::ObjectSnapshot> file_objects;
  std::map<std::string, LocalDeployment> deployments;
  std::map<std::string, LocalVa> vas;
  std::map<std::string, PackedObject> hpas;
  std::vector<sdk::ObjectSnapshot> objects;
  objects.reserve(snapshot.objects.size());
  // An object unchanged in its file (apart from status) keeps what was written in memory: spec may differ
  // only by scale(), status by patches, unless the file's own status changed.
  auto merged_with = [](const json& from_file, const json& old_file, const json& mem) {
    json merged = from_file;
    if (mem.contains("spec")) merged["spec"] = mem["spec"];
    const json old_status = old_file.value("status", json());
    const json new_status = from_file.value("status", json());
    if (old_status == new_status) {
      if (mem.contains("status")) merged["status"] = mem["status"];
      else merged.erase("status");
    }
    return merged;
  };
  for (auto& read : snapshot.packed) {
    switch (read.kind) {
      case ReadObject::Kind::kDeployment: {
        std::optional<json> merged;
        if (keep_memory)
          if (auto old = deployments_.find(read.key);
              old != deployments_.end() && !old->second.current.same_bytes(old->second.from_file)) {
            auto old_file = old->second.from_file.get();
            auto parsed = read.from_file.get();
            if (without_status(*old_file) == without_status(*parsed))
              merged = merged_with(*parsed, *old_file, *old->second.current.get());
          }
        if (merged) {
          deployments.emplace(read.key, local_deployment(std::move(read.from_file), PackedObject(*merged), *merged));
        } else {
          PackedObject current = read.from_file;
          deployments.emplace(read.key, LocalDeployment{std::move(read.from_file), std::move(current),
                                                        std::move(read.record), read.pods, ++last_version_});
        }
        break;
      }
      case ReadObject::Kind::kVariantAutoscaling: {
        PackedObject current = read.from_file;
        if (keep_memory)
          if (auto old = vas_.find(read.key);
              old != vas_.end() && !old->second.current.same_bytes(old->second.from_file)) {
            auto old_file = old->second.from_file.get();
            auto parsed = read.from_file.get();
            if (without_status(*old_file) == without_status(*parsed))
              current = PackedObject(merged_with(*parsed, *old_file, *old->second.current.get()));
          }
        vas.emplace(read.key, LocalVa{std::move(read.from_file), std::move(current), ++last_version_});
        break;
      }
      case ReadObject::Kind::kHpa:  // read only, trimmed (read_folder) as the kube backend does
        hpas.emplace(std::move(read.key), std::move(read.from_file));
        break;
    }
  }
  snapshot.packed.clear();
  for (auto& parsed : snapshot.objects) {
    const std::string key = object_key(parsed);
    auto from_file = std::make_shared<const json>(std::move(parsed));
    sdk::ObjectSnapshot obj = from_file;  // shared with file_objects_ unless memory is carried over
    if (keep_memory) {
      auto old = file_objects_.find(key);
      if (old != file_objects_.end() && without_status(*old->second) == without_status(*from_file)) {
        const auto& m = (*from_file)["metadata"];
        auto current = store_.get_shared((*from_file)["kind"].get<std::string>(), m["namespace"].get<std::string>(),
                                         m["name"].get<std::string>());
        if (current.ok() && *current && *current != old->second)
          obj = std::make_shared<const json>(merged_with(*from_file, *old->second, **current));
      }
    }
    file_objects.emplace(key, std::move(from_file));
    objects.push_back(std::move(obj));
  }
  snapshot.objects.clear();
  snapshot.objects.shrink_to_fit();
  // Objects were validated by read_folder, so replace_all cannot fail here.
  (void)store_.replace_all(objects);
  file_objects_ = std::move(file_objects);
  deployments_ = std::move(deployments);
  vas_ = std::move(vas);
  hpas_ = std::move(hpas);
  stamps_ = std::move(snapshot.stamps);
  loaded_ = true;
  changes_.forget(revision_);  // a re-read folder may change anything
  // The files' text and the objects parsed from it (several times what is kept) were freed just now.
  release_free_memory();
}

void LocalCluster::set_extra_objects(std::vector<json> objects, std::string origin) {
  std::lock_guard lock(mutex_);
  extra_objects_ = std::move(objects);
  extra_origin_ = std::move(origin);
}

sdk::Result<void> LocalCluster::load() {
  std::lock_guard lock(mutex_);
  auto stamps = scan();
  if (!stamps) return stamps.error();
  auto snap = read_folder(*stamps);
  if (!snap) return snap.error();
  install(std::move(*snap), /*keep_memory=*/loaded_);
  return sdk::ok();
}

sdk::Result<void> LocalCluster::refresh() {
  std::lock_guard lock(mutex_);
  auto stamps = scan();
  if (!stamps) return stamps.error();
  if (loaded_ && *stamps == stamps_) return sdk::ok();
  auto snap = read_folder(*stamps);
  if (!snap) return snap.error();  // previous state kept; the next refresh reads the files again
  install(std::move(*snap), /*keep_memory=*/loaded_);
  return sdk::ok();
}

std::string LocalCluster::describe() const { return "local:" + dir_.string(); }

std::string LocalCluster::system_namespace() const { return system_namespace_; }

void LocalCluster::fill_scratch(sdk::InMemoryCluster& scratch, const std::string& ns, const std::string* name) const {
  scratch.record_writes(false);
  auto add = [&](const LocalDeployment& d) { (void)scratch.put(*d.current.get()); };  // valid: it was stored
  if (name) {
    if (auto it = deployments_.find(ns + "/" + *name); it != deployments_.end()) add(it->second);
  } else {
    for (const auto& [key, d] : deployments_)
      if (ns.empty() || d.record->ns == ns) add(d);
  }
}

sdk::Result<std::vector<sdk::ObjectSnapshot>> LocalCluster::list_shared(const std::string& kind,
                                                                        const std::string& ns) {
  if (kind == "Deployment") {
    std::lock_guard lock(mutex_);
    std::vector<sdk::ObjectSnapshot> out;
    for (const auto& [key, d] : deployments_)
      if (ns.empty() || d.record->ns == ns) out.push_back(d.current.get());
    return out;
  }
  if (kind == "VariantAutoscaling") {
    std::lock_guard lock(mutex_);
    std::vector<sdk::ObjectSnapshot> out;
    const std::string prefix = ns + "/";
    for (auto it = ns.empty() ? vas_.begin() : vas_.lower_bound(prefix);
         it != vas_.end() && (ns.empty() || it->first.compare(0, prefix.size(), prefix) == 0); ++it)
      out.push_back(it->second.current.get());
    return out;
  }
  if (kind == "HorizontalPodAutoscaler") {
    std::lock_guard lock(mutex_);
    std::vector<sdk::ObjectSnapshot> out;
    const std::string prefix = ns + "/";
    for (auto it = ns.empty() ? hpas_.begin() : hpas_.lower_bound(prefix);
         it != hpas_.end() && (ns.empty() || it->first.compare(0, prefix.size(), prefix) == 0); ++it)
      out.push_back(it->second.get());
    return out;
  }
  auto stored = store_.list_shared(kind, ns);
  if (!stored.ok() || kind != "Pod") return stored;
  // The store holds no Deployments: their pods come after the stored ones, as the store lists them.
  std::lock_guard lock(mutex_);
  sdk::InMemoryCluster scratch(system_namespace_);
  fill_scratch(scratch, ns);
  auto synthesized = scratch.list_shared("Pod", ns);
  if (!synthesized.ok()) return synthesized;
  stored->insert(stored->end(), synthesized->begin(), synthesized->end());
  return stored;
}

sdk::Result<sdk::ObjectSnapshot> LocalCluster::get_shared(const std::string& kind, const std::string& ns,
                                                          const std::string& name) {
  if (kind == "Deployment") {
    std::lock_guard lock(mutex_);
    auto it = deployments_.find(ns + "/" + name);
    return it == deployments_.end() ? sdk::ObjectSnapshot() : it->second.current.get();
  }
  if (kind == "VariantAutoscaling") {
    std::lock_guard lock(mutex_);
    auto it = vas_.find(ns + "/" + name);
    return it == vas_.end() ? sdk::ObjectSnapshot() : it->second.current.get();
  }
  if (kind == "HorizontalPodAutoscaler") {
    std::lock_guard lock(mutex_);
    auto it = hpas_.find(ns + "/" + name);
    return it == hpas_.end() ? sdk::ObjectSnapshot() : it->second.get();
  }
  auto stored = store_.get_shared(kind, ns, name);
  if (!stored.ok() || *stored || kind != "Pod") return stored;
  const auto dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0) return stored;
  const std::string deployment = name.substr(0, dash);
  std::lock_guard lock(mutex_);
  sdk::InMemoryCluster scratch(system_namespace_);
  fill_scratch(scratch, ns, &deployment);
  return scratch.get_shared("Pod", ns, name);
}

sdk::Result<std::optional<std::string>> LocalCluster::object_version(const std::string& kind, const std::string& ns,
                                                                     const std::string& name) {
  const bool deployment = kind == "Deployment";
  if (!deployment && kind != "VariantAutoscaling") return ClusterView::object_version(kind, ns, name);
  std::lock_guard lock(mutex_);
  const std::string key = ns + "/" + name;
  std::uint64_t version = 0;
  if (deployment) {
    auto it = deployments_.find(key);
    if (it == deployments_.end()) return std::optional<std::string>();
    version = it->second.version;
  } else {
    auto it = vas_.find(key);
    if (it == vas_.end()) return std::optional<std::string>();
    version = it->second.version;
  }
  return std::optional<std::string>("local:" + std::to_string(version));
}

sdk::Result<std::vector<PodOwner>> LocalCluster::list_pod_owners() {
  std::vector<PodOwner> out = pod_owners_of(store_);  // the stored pods
  std::lock_guard lock(mutex_);
  for (const auto& [key, d] : deployments_)
    for (long long i = 0; i < d.pods; ++i)
      out.push_back(PodOwner{d.record->ns, d.record->name + "-" + std::to_string(i), d.record->name, {}});
  return out;
}

sdk::Result<std::optional<PodOwner>> LocalCluster::get_pod_owner(const std::string& ns, const std::string& name) {
  auto stored = store_.get_shared("Pod", ns, name);
  if (!stored.ok()) return stored.error();
  if (*stored) return std::optional<PodOwner>(pod_owner_of(**stored));
  // A synthesized pod: <deployment>-<i> with i below the Deployment's pod count, written as to_string does.
  const auto dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0) return std::optional<PodOwner>();
  const std::string deployment = name.substr(0, dash), index = name.substr(dash + 1);
  std::lock_guard lock(mutex_);
  auto it = deployments_.find(ns + "/" + deployment);
  if (it == deployments_.end() || index.empty() || index.size() > 18 ||
      !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (index.size() > 1 && index[0] == '0') || std::stoll(index) >= it->second.pods)
    return std::optional<PodOwner>();
  return std::optional<PodOwner>(PodOwner{ns, name, deployment, {}});
}

sdk::Result<std::vector<DeploymentRecordPtr>> LocalCluster::list_deployment_records() {
  std::lock_guard lock(mutex_);
  std::vector<DeploymentRecordPtr> out;
  out.reserve(deployments_.size());
  for (const auto& [key, d] : deployments_) out.push_back(d.record);
  return out;
}

sdk::Result<std::vector<HpaRecord>> LocalCluster::list_hpa_records() {
  std::lock_guard lock(mutex_);
  std::vector<HpaRecord> out;
  out.reserve(hpas_.size());
  for (const auto& [key, h] : hpas_) out.push_back(hpa_record_of(*h.get()));
  return out;
}

sdk::Result<DeploymentRecordPtr> LocalCluster::get_deployment_record(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = deployments_.find(ns + "/" + name);
  if (it == deployments_.end()) return DeploymentRecordPtr();
  return it->second.record;
}

sdk::Result<void> LocalCluster::patch_deployment_status_locked(const std::string& ns, const std::string& name,
                                                               const nlohmann::json& merge_patch) {
  sdk::InMemoryCluster scratch(system_namespace_);
  fill_scratch(scratch, ns, &name);
  if (auto r = scratch.patch_status("Deployment", ns, name, merge_patch); !r.ok()) return r;
  auto patched = scratch.get_shared("Deployment", ns, name);
  LocalDeployment& d = deployments_.at(ns + "/" + name);
  d = local_deployment(d.from_file, PackedObject(**patched), **patched);
  return sdk::ok();
}

sdk::Result<void> LocalCluster::patch_va_status_locked(const std::string& ns, const std::string& name,
                                                       const nlohmann::json& merge_patch) {
  auto it = vas_.find(ns + "/" + name);
  if (it == vas_.end())
    return sdk::make_error(sdk::ErrorCode::kNotFound, "VariantAutoscaling " + ns + "/" + name + " not found");
  // Through a store of its own, so a patch means what it means in the store.
  sdk::InMemoryCluster scratch(system_namespace_);
  scratch.record_writes(false);
  (void)scratch.put(*it->second.current.get());  // valid: it was stored
  if (auto r = scratch.patch_status("VariantAutoscaling", ns, name, merge_patch); !r.ok()) return r;
  auto patched = scratch.get_shared("VariantAutoscaling", ns, name);
  it->second.current = PackedObject(**patched);
  it->second.version = ++last_version_;
  return sdk::ok();
}

sdk::Result<void> LocalCluster::patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                             const nlohmann::json& merge_patch) {
  std::lock_guard lock(mutex_);
  // Compared in place first: a patch that changes nothing but lastRunTime stamps is not stored (as the
  // kube backend does not send it), so a steady fleet neither copies nor merges its VAs every cycle.
  sdk::Result<sdk::ObjectSnapshot> current = sdk::ObjectSnapshot();
  if (kind == "Deployment") {
    if (auto it = deployments_.find(ns + "/" + name); it != deployments_.end()) current = it->second.current.get();
  } else if (kind == "VariantAutoscaling") {
    if (auto it = vas_.find(ns + "/" + name); it != vas_.end()) current = it->second.current.get();
  } else {
    current = store_.get_shared(kind, ns, name);
  }
  if (current.ok() && *current && merge_patch.is_object()) {
    const nlohmann::json& object = **current;
    auto status = object.find("status");
    if (!status_patch_changes(status == object.end() ? nullptr : &*status, merge_patch)) return sdk::ok();
  }
  auto r = kind == "Deployment"           ? patch_deployment_status_locked(ns, name, merge_patch)
           : kind == "VariantAutoscaling" ? patch_va_status_locked(ns, name, merge_patch)
                                          : store_.patch_status(kind, ns, name, merge_patch);
  if (r.ok() && kind != "VariantAutoscaling") changes_.record(revision_, {ObjectRef{kind, ns, name}});
  return r;
}

sdk::Result<void> LocalCluster::scale(const std::string& ns, const std::string& deployment, int replicas) {
  std::lock_guard lock(mutex_);
  if (replicas < 0)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "replicas must be >= 0, got " + std::to_string(replicas));
  auto it = deployments_.find(ns + "/" + deployment);
  if (it == deployments_.end())
    return sdk::make_error(sdk::ErrorCode::kNotFound, "Deployment " + ns + "/" + deployment + " not found");
  LocalDeployment& d = it->second;
  const long long before = d.pods;
  json next = *d.current.get();
  next["spec"]["replicas"] = replicas;
  next["status"]["replicas"] = replicas;
  next["status"]["readyReplicas"] = replicas;
  d = local_deployment(d.from_file, PackedObject(next), next);
  const long long after = d.pods;
  // The Deployment, and the synthesized pods that appeared or went away.
  std::vector<ObjectRef> changed{ObjectRef{"Deployment", ns, deployment}};
  for (long long i = std::min(before, after); i < std::max(before, after); ++i)
    changed.push_back(ObjectRef{"Pod", ns, deployment + "-" + std::to_string(i)});
  changes_.record(revision_, std::move(changed));
  return sdk::ok();
}

}  // namespace wva::framework
