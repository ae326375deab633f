// The former local backend (reference_local_cluster.h).
#include "reference_local_cluster.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "cluster/status_patch.h"
#include "config/input_limits.h"
#include "wva/sdk/util/yaml.h"

namespace wva::framework::reference {
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
  for (const auto& [path, stamp] : stamps) {  // std::map: sorted by path, so by file name
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
  if (!errors.empty()) {
    std::string message;
    // One problem per line: names from the files cannot add lines of their own.
    for (size_t i = 0; i < errors.size(); ++i) message += (i ? "\n" : "") + escape_control(errors[i]);
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, message);
  }
  return snap;
}

void LocalCluster::install(Snapshot snapshot, bool keep_memory) {
  std::map<std::string, sdk::ObjectSnapshot> file_objects;
  std::vector<sdk::ObjectSnapshot> objects;
  objects.reserve(snapshot.objects.size());
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
        if (current.ok() && *current && *current != old->second) {
          const json& mem = **current;
          // spec may differ only by scale(); status by patches. Unless the file's own status changed.
          auto merged = std::make_shared<json>(*from_file);
          if (mem.contains("spec")) (*merged)["spec"] = mem["spec"];
          const json old_status = old->second->value("status", json());
          const json new_status = from_file->value("status", json());
          if (old_status == new_status) {
            if (mem.contains("status")) (*merged)["status"] = mem["status"];
            else merged->erase("status");
          }
          obj = std::move(merged);
        }
      }
    }
    file_objects.emplace(key, std::move(from_file));
    objects.push_back(std::move(obj));
  }
  // Objects were validated by read_folder, so replace_all cannot fail here.
  (void)store_.replace_all(objects);
  file_objects_ = std::move(file_objects);
  stamps_ = std::move(snapshot.stamps);
  loaded_ = true;
  changes_.forget(revision_);  // a re-read folder may change anything
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

sdk::Result<std::vector<sdk::ObjectSnapshot>> LocalCluster::list_shared(const std::string& kind,
                                                                        const std::string& ns) {
  return store_.list_shared(kind, ns);
}

sdk::Result<sdk::ObjectSnapshot> LocalCluster::get_shared(const std::string& kind, const std::string& ns,
                                                          const std::string& name) {
  return store_.get_shared(kind, ns, name);
}

sdk::Result<std::vector<PodOwner>> LocalCluster::list_pod_owners() { return pod_owners_of(store_); }

sdk::Result<void> LocalCluster::patch_status(const std::string& kind, const std::string& ns, const std::string& name,
                                             const nlohmann::json& merge_patch) {
  std::lock_guard lock(mutex_);
  // Compared in place first: a patch that changes nothing but lastRunTime stamps is not stored (as the
  // kube backend does not send it), so a steady fleet neither copies nor merges its VAs every cycle.
  if (auto current = store_.get_shared(kind, ns, name); current.ok() && *current && merge_patch.is_object()) {
    const nlohmann::json& object = **current;
    auto status = object.find("status");
    if (!status_patch_changes(status == object.end() ? nullptr : &*status, merge_patch)) return sdk::ok();
  }
  auto r = store_.patch_status(kind, ns, name, merge_patch);
  if (r.ok() && kind != "VariantAutoscaling") changes_.record(revision_, {ObjectRef{kind, ns, name}});
  return r;
}

sdk::Result<void> LocalCluster::scale(const std::string& ns, const std::string& deployment, int replicas) {
  std::lock_guard lock(mutex_);
  auto pods_of = [&] {
    auto d = store_.get_shared("Deployment", ns, deployment);
    return d.ok() && *d ? sdk::InMemoryCluster::synthesized_pod_count(**d) : 0;
  };
  const long long before = pods_of();
  auto r = store_.scale(ns, deployment, replicas);
  if (!r.ok()) return r;
  const long long after = pods_of();
  // The Deployment, and the synthesized pods that appeared or went away.
  std::vector<ObjectRef> changed{ObjectRef{"Deployment", ns, deployment}};
  for (long long i = std::min(before, after); i < std::max(before, after); ++i)
    changed.push_back(ObjectRef{"Pod", ns, deployment + "-" + std::to_string(i)});
  changes_.record(revision_, std::move(changed));
  return r;
}

}  // namespace wva::framework::reference
