// How the cluster's objects become ModelViews. The rules (docs/architecture.md section 6; docs/upstream.md
// sections 1, 4.3, 6.1):
//
// Grouping: every VariantAutoscaling (all namespaces, being deleted ones skipped) joins the model
// (namespace, spec.modelID | spec.modelId). Several VAs of one model (e.g. one per Deployment with
// scaleTargetRef) make one ModelView; its va_name / va_spec / labels / SLO come from the first VA by name.
//
// Variants: spec.scaleTargetRef {kind: Deployment, name} names one Deployment; without it every Deployment
// of the namespace labelled `llmd.ai/model: <modelID with '/' -> '.'>` (metadata or pod-template labels)
// is a variant; when none is labelled, every Deployment owning a pod whose metrics report
// `model_name == modelID` (sources implementing sdk::ModelDiscovery; the pod's owner as below) and not
// labelled for another model. A Deployment claimed by two VAs of the model counts once (first VA by name).
// Condition TargetResolved per VA: True/TargetFound, or False/TargetNotFound ("Scale target Deployment X
// not found"; for discovery "No Deployment labelled ..."), or False/UnsupportedTargetKind, or
// False/DuplicateModel for a second VA of a model where one of them finds its Deployments by label. A model with no
// variant is left out of `models` (its conditions still say why).
//
// Replicas: current = status.replicas, or spec.replicas (default 1) when status.replicas is 0/absent.
// ready = status.readyReplicas; Kubernetes omits zero fields, so a status WITH fields but without
// readyReplicas means 0 ready, while a Deployment with NO status at all (local YAML files, never deployed)
// counts all current replicas as ready. pending = max(0, current - ready).
//
// previous_desired: the VA status shape written by the status sink (crds/variantautoscalings.llmd.ai.yaml):
//   status.variants: [{name: <Deployment>, desiredReplicas: N, accelerator, currentReplicas, ...}]
//   status.desiredOptimizedAlloc: {accelerator, numReplicas}   (upstream's single-variant field)
// The variants[] entry named like the Deployment wins; else desiredOptimizedAlloc.numReplicas when its
// accelerator equals the variant's (case-insensitive) or the VA covers a single variant. Absent: nullopt.
//
// GPUs per replica: sum over pod-template containers of nvidia.com/gpu + amd.com/gpu + intel.com/gpu from
// resources.limits (requests when a container has no GPU limits); 0 -> the profile's accCount, else 1.
//
// Accelerator: label inference.optimization/acceleratorName on the Deployment (metadata or pod template);
// else on the VA when the VA names a single scaleTargetRef; else the pod template's nodeSelector
// nvidia.com/gpu.product or cloud.google.com/gke-accelerator; else the VA label. Names are normalized with
// normalize_accelerator against the accelerator-unitcost keys and the VA's profile accelerators.
//
// Cost per replica: VA spec.variantCost (number or numeric string) when set and valid; else the
// accelerator's cost per GPU-hour from ConfigMap accelerator-unitcost (system namespace, data key `costs`:
// YAML map accelerator -> cost) times GPUs per replica; else nullopt, and cost_source says why.
//
// SLO: ConfigMap service-classes-config (system namespace), each data value a YAML class
// {name, priority (1 = highest, default 100), data: [{model, slo-tpot, slo-ttft[, slo-tps]}]}. With VA
// spec.sloClassRef {name[, key]} the named class's entry for `key` (default: the model) is used; otherwise
// the classes listing the model (exact name, else a glob like "meta/*") are tried by priority, then name.
//
// Bad ConfigMap or VA contents become warnings naming the object and key; the value is then absent,
// never read as 0.
#include "model/model_builder.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include <yaml-cpp/yaml.h>

#include "config/pipeline_config.h"  // glob_match, yaml_to_json
#include "wva/sdk/memory_cluster.h"  // kPodDeploymentAnnotation

namespace wva::framework {
namespace {

using nlohmann::json;

constexpr const char* kUnitCostConfigMap = "accelerator-unitcost";
constexpr const char* kServiceClassConfigMap = "service-classes-config";
constexpr const char* kGpuResources[] = {"nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Safe nested lookup: nullptr when any step is missing or not an object.
const json* at(const json& obj, std::initializer_list<const char*> path) {
  const json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string str_at(const json& obj, std::initializer_list<const char*> path) {
  const json* v = at(obj, path);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// A number, or a string that is entirely a finite number ("12", "0.5", "1e3"). Else nullopt.
std::optional<double> as_number(const json& v) {
  if (v.is_number()) {
    double d = v.get<double>();
    return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
  }
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back())))
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  // strtod accepts hex and "inf"/"nan": only plain decimal notation counts here.
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
      return std::nullopt;
  return d;
}

// An integral number (or numeric string with an integral value) within int range. Else nullopt.
std::optional<int> as_int(const json& v) {
  auto d = as_number(v);
  if (!d || std::floor(*d) != *d || *d < -2147483648.0 || *d > 2147483647.0) return std::nullopt;
  return static_cast<int>(*d);
}

std::string describe(const json& v) { return v.dump(); }

std::string obj_name(const json& obj) { return str_at(obj, {"metadata", "name"}); }
std::string obj_ns(const json& obj) {
  std::string ns = str_at(obj, {"metadata", "namespace"});
  return ns.empty() ? "default" : ns;
}

sdk::Labels labels_at(const json& obj, std::initializer_list<const char*> path) {
  sdk::Labels out;
  if (const json* l = at(obj, path); l && l->is_object())
    for (auto it = l->begin(); it != l->end(); ++it)
      if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  return out;
}

// ------------------------------------------------------------------------------------------ ConfigMaps

struct UnitCosts {
  bool config_map_found = false;
  std::map<std::string, double> cost_per_gpu_hour;  // accelerator -> cost
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : cost_per_gpu_hour) out.push_back(k);
    return out;
  }
};

UnitCosts read_unit_costs(sdk::ClusterView& cluster, std::vector<std::string>& warnings) {
  UnitCosts out;
  const std::string ns = cluster.system_namespace();
  const std::string where = "ConfigMap " + ns + "/" + kUnitCostConfigMap;
  auto cm = cluster.get("ConfigMap", ns, kUnitCostConfigMap);
  if (!cm.ok()) {
    warnings.push_back(where + ": cannot read: " + cm.error().message);
    return out;
  }
  if (!cm->has_value()) return out;
  out.config_map_found = true;
  auto data = sdk::config_map_data(**cm);
  auto it = data.find("costs");
  if (it == data.end()) {
    warnings.push_back(where + ": no data key \"costs\" (expected `costs: |` with lines like `H100: 50.0`)");
    return out;
  }
  const std::string key_where = where + " key costs";
  YAML::Node node;
  try {
    node = YAML::Load(it->second);
  } catch (const YAML::Exception& e) {
    warnings.push_back(key_where + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    return out;
  }
  if (node.IsNull()) return out;
  if (!node.IsMap()) {
    warnings.push_back(key_where + ": must be a mapping accelerator -> cost per GPU-hour");
    return out;
  }
  json costs;
  try {
    costs = yaml_to_json(node);
  } catch (const InputLimitExceeded& e) {
    warnings.push_back(key_where + ": " + e.what());
    return out;
  }
  for (auto c = costs.begin(); c != costs.end(); ++c) {
    auto v = as_number(c.value());
    if (!v || *v < 0) {
      warnings.push_back(key_where + ": " + c.key() + ": " + describe(c.value()) +
                         " is not a non-negative number; this accelerator has no cost");
      continue;
    }
    out.cost_per_gpu_hour[c.key()] = *v;
  }
  return out;
}

struct SloEntry {
  std::string model;  // exact name or glob
  std::optional<double> ttft_ms, itl_ms, tps;
};

struct ServiceClass {
  std::string name;
  int priority = 100;
  std::vector<SloEntry> entries;
};

std::vector<ServiceClass> read_service_classes(sdk::ClusterView& cluster, std::vector<std::string>& warnings) {
  std::vector<ServiceClass> out;
  const std::string ns = cluster.system_namespace();
  const std::string where = "ConfigMap " + ns + "/" + kServiceClassConfigMap;
  auto cm = cluster.get("ConfigMap", ns, kServiceClassConfigMap);
  if (!cm.ok()) {
    warnings.push_back(where + ": cannot read: " + cm.error().message);
    return out;
  }
  if (!cm->has_value()) return out;
  for (const auto& [key, text] : sdk::config_map_data(**cm)) {
    const std::string kw = where + " key " + key;
    YAML::Node node;
    try {
      node = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      warnings.push_back(kw + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
      continue;
    }
    if (!node.IsMap()) {
      warnings.push_back(kw + ": must be a mapping {name, priority, data: [{model, slo-tpot, slo-ttft}]}");
      continue;
    }
    json j;
    try {
      j = yaml_to_json(node);
    } catch (const InputLimitExceeded& e) {
      warnings.push_back(kw + ": " + e.what());
      continue;
    }
    ServiceClass sc;
    sc.name = j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>() : key;
    if (j.contains("priority")) {
      auto p = as_int(j["priority"]);
      if (!p || *p < 0)
        warnings.push_back(kw + ": priority " + describe(j["priority"]) + " is not a non-negative integer; using 100");
      else sc.priority = *p;
    }
    if (!j.contains("data") || !j["data"].is_array()) {
      warnings.push_back(kw + ": data must be a list of {model, slo-tpot, slo-ttft}");
      continue;
    }
    for (size_t i = 0; i < j["data"].size(); ++i) {
      const json& e = j["data"][i];
      const std::string ew = kw + ": data[" + std::to_string(i) + "]";
      if (!e.is_object() || !e.contains("model") || !e["model"].is_string()) {
        warnings.push_back(ew + ": needs a model name");
        continue;
      }
      SloEntry entry;
      entry.model = e["model"].get<std::string>();
      bool ok = true;
      auto read = [&](const char* field, std::optional<double>& target) {
        if (!e.contains(field)) return;
        auto v = as_number(e[field]);
        if (!v || *v <= 0) {
          warnings.push_back(ew + ": " + field + " " + describe(e[field]) + " is not a positive number");
          ok = false;
          return;
        }
        target = *v;
      };
      read("slo-ttft", entry.ttft_ms);
      read("slo-tpot", entry.itl_ms);
      read("slo-tps", entry.tps);
      if (ok) sc.entries.push_back(std::move(entry));
    }
    out.push_back(std::move(sc));
  }
  std::stable_sort(out.begin(), out.end(), [](const ServiceClass& a, const ServiceClass& b) {
    return std::tie(a.priority, a.name) < std::tie(b.priority, b.name);
  });
  return out;
}

sdk::Slo make_slo(const ServiceClass& sc, const SloEntry& e) {
  sdk::Slo slo;
  slo.service_class = sc.name;
  slo.priority = sc.priority;
  slo.ttft_ms = e.ttft_ms;
  slo.itl_ms = e.itl_ms;
  slo.tps = e.tps;
  return slo;
}

std::optional<sdk::Slo> find_slo(const std::vector<ServiceClass>& classes, const std::string& model_id, const json& va,
                                 std::vector<std::string>& warnings) {
  if (const json* ref = at(va, {"spec", "sloClassRef"}); ref && ref->is_object()) {
    const std::string cls = str_at(*ref, {"name"});
    std::string key = str_at(*ref, {"key"});
    if (key.empty()) key = model_id;
    for (const auto& sc : classes) {
      if (sc.name != cls) continue;
      for (const auto& e : sc.entries)
        if (e.model == key) return make_slo(sc, e);
    }
    warnings.push_back("VariantAutoscaling " + obj_ns(va) + "/" + obj_name(va) +
                       ": spec.sloClassRef: service class \"" + cls + "\" has no entry for \"" + key +
                       "\" in ConfigMap " + kServiceClassConfigMap);
  }
  for (const auto& sc : classes)
    for (const auto& e : sc.entries)
      if (e.model == model_id) return make_slo(sc, e);
  for (const auto& sc : classes)
    for (const auto& e : sc.entries)
      if (e.model.find_first_of("*?") != std::string::npos && glob_match(e.model, model_id)) return make_slo(sc, e);
  return std::nullopt;
}

// ------------------------------------------------------------------------------------------ Deployments

int gpus_of(const json& deployment) {
  int total = 0;
  const json* containers = at(deployment, {"spec", "template", "spec", "containers"});
  if (!containers || !containers->is_array()) return 0;
  for (const auto& c : *containers) {
    auto sum = [&](const char* section) {
      int n = 0;
      const json* res = at(c, {"resources", section});
      if (!res || !res->is_object()) return n;
      for (const char* name : kGpuResources)
        if (auto it = res->find(name); it != res->end())
          if (auto v = as_int(*it); v && *v > 0) n += *v;
      return n;
    };
    const int limits = sum("limits");
    total += limits > 0 ? limits : sum("requests");
  }
  return total;
}

std::string label_of(const json& obj, const char* label) {
  auto l = labels_at(obj, {"metadata", "labels"});
  if (auto it = l.find(label); it != l.end()) return it->second;
  auto t = labels_at(obj, {"spec", "template", "metadata", "labels"});
  if (auto it = t.find(label); it != t.end()) return it->second;
  return "";
}

std::string node_selector_product(const json& deployment) {
  const json* sel = at(deployment, {"spec", "template", "spec", "nodeSelector"});
  if (!sel || !sel->is_object()) return "";
  for (const char* key : {"nvidia.com/gpu.product", "cloud.google.com/gke-accelerator"})
    if (auto it = sel->find(key); it != sel->end() && it->is_string() && !it->get<std::string>().empty())
      return it->get<std::string>();
  return "";
}

struct Replicas {
  int current = 0, ready = 0, pending = 0;
};

Replicas replicas_of(const json& d) {
  Replicas r;
  int spec = 1;
  if (const json* s = at(d, {"spec", "replicas"}))
    if (auto v = as_int(*s); v && *v >= 0) spec = *v;
  const json* status = at(d, {"status"});
  const bool has_status = status && status->is_object() && !status->empty();
  std::optional<int> status_replicas, status_ready;
  if (has_status) {
    if (const json* v = at(*status, {"replicas"})) status_replicas = as_int(*v);
    if (const json* v = at(*status, {"readyReplicas"})) status_ready = as_int(*v);
  }
  r.current = status_replicas && *status_replicas > 0 ? *status_replicas : spec;
  r.ready = has_status ? std::max(0, status_ready.value_or(0)) : r.current;
  r.pending = std::max(0, r.current - r.ready);
  return r;
}

bool selector_matches(const json& deployment, const json& pod) {
  const json* ml = at(deployment, {"spec", "selector", "matchLabels"});
  if (!ml || !ml->is_object() || ml->empty()) return true;
  const auto pod_labels = labels_at(pod, {"metadata", "labels"});
  for (auto it = ml->begin(); it != ml->end(); ++it) {
    auto p = pod_labels.find(it.key());
    if (p == pod_labels.end() || !it.value().is_string() || p->second != it.value().get<std::string>()) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------------------ VA fields

std::optional<sdk::PerformanceProfile> profile_for(const json& va, const std::string& accelerator,
                                                   const std::vector<std::string>& keys, int& acc_count,
                                                   std::vector<std::string>& warnings) {
  const json* accs = at(va, {"spec", "modelProfile", "accelerators"});
  if (!accs || !accs->is_array() || accelerator.empty()) return std::nullopt;
  const std::string where = "VariantAutoscaling " + obj_ns(va) + "/" + obj_name(va) + " spec.modelProfile.accelerators";
  for (size_t i = 0; i < accs->size(); ++i) {
    const json& a = (*accs)[i];
    const std::string aw = where + "[" + std::to_string(i) + "]";
    const std::string acc = str_at(a, {"acc"});
    if (acc.empty() || lower(normalize_accelerator(acc, keys)) != lower(accelerator)) continue;
    sdk::PerformanceProfile p;
    bool ok = true;
    auto num = [&](std::initializer_list<const char*> path, const std::string& name, bool required) -> double {
      const json* v = at(a, path);
      if (!v) {
        if (required) {
          warnings.push_back(aw + "." + name + " is missing; no profile for " + accelerator);
          ok = false;
        }
        return 0;
      }
      auto d = as_number(*v);
      if (!d) {
        warnings.push_back(aw + "." + name + ": " + describe(*v) + " is not a number; no profile for " + accelerator);
        ok = false;
        return 0;
      }
      return *d;
    };
    p.alpha = num({"perfParms", "decodeParms", "alpha"}, "perfParms.decodeParms.alpha", true);
    p.beta = num({"perfParms", "decodeParms", "beta"}, "perfParms.decodeParms.beta", true);
    p.gamma = num({"perfParms", "prefillParms", "gamma"}, "perfParms.prefillParms.gamma", false);
    p.delta = num({"perfParms", "prefillParms", "delta"}, "perfParms.prefillParms.delta", false);
    if (const json* mb = at(a, {"maxBatchSize"})) {
      auto v = as_int(*mb);
      if (!v || *v < 1) {
        warnings.push_back(aw + ".maxBatchSize: " + describe(*mb) + " is not a positive integer");
        ok = false;
      } else {
        p.max_batch = *v;
      }
    }
    if (const json* kv = at(a, {"kvCacheTokens"})) {
      if (auto v = as_number(*kv); v && *v > 0) p.kv_capacity_tokens = *v;
      else warnings.push_back(aw + ".kvCacheTokens: " + describe(*kv) + " is not a positive number");
    }
    if (const json* ac = at(a, {"accCount"})) {
      if (auto v = as_int(*ac); v && *v >= 1) acc_count = *v;
      else warnings.push_back(aw + ".accCount: " + describe(*ac) + " is not a positive integer");
    }
    if (!ok) return std::nullopt;
    return p;
  }
  return std::nullopt;
}

std::optional<int> previous_desired(const json& va, const std::string& deployment, const std::string& accelerator,
                                    bool single_variant) {
  if (const json* vs = at(va, {"status", "variants"}); vs && vs->is_array())
    for (const auto& v : *vs)
      if (str_at(v, {"name"}) == deployment)
        if (const json* d = at(v, {"desiredReplicas"}))
          if (auto n = as_int(*d); n && *n >= 0) return n;
  if (const json* alloc = at(va, {"status", "desiredOptimizedAlloc"}); alloc && alloc->is_object()) {
    const std::string acc = str_at(*alloc, {"accelerator"});
    const bool same_acc = !acc.empty() && !accelerator.empty() && lower(acc) == lower(accelerator);
    if (same_acc || single_variant)
      if (const json* n = at(*alloc, {"numReplicas"}))
        if (auto v = as_int(*n); v && *v >= 0) return v;
  }
  return std::nullopt;
}

struct VaGroup {
  sdk::ModelKey key;
  std::vector<const json*> vas;  // sorted by name
};

sdk::ResourceCondition condition(const json& va, std::string status, std::string reason, std::string message) {
  return sdk::ResourceCondition{
      obj_ns(va), obj_name(va),
      sdk::Condition{"TargetResolved", std::move(status), std::move(reason), std::move(message)}};
}

}  // namespace

std::string normalize_accelerator(const std::string& product, const std::vector<std::string>& cost_keys) {
  // Matching ignores case and a vendor prefix ("NVIDIA-A100-SXM4-80GB", "nvidia-tesla-a100", "nvidia-l4"),
  // and a key must end at a word boundary: "A100-SXM4-80GB" -> A100, but "A10G" is not A10 and "L40S" is
  // not L40. The longest matching key wins; without one the product name is returned unchanged.
  const std::string p = lower(product);
  std::vector<std::string> forms = {p};
  for (const char* prefix : {"nvidia-tesla-", "nvidia-", "amd-", "intel-", "tesla-"})
    if (p.rfind(prefix, 0) == 0) forms.push_back(p.substr(std::char_traits<char>::length(prefix)));
  const std::string* best = nullptr;
  for (const auto& key : cost_keys) {
    const std::string k = lower(key);
    if (k.empty()) continue;
    for (const auto& f : forms) {
      if (f.rfind(k, 0) != 0) continue;
      if (f.size() > k.size() && std::isalnum(static_cast<unsigned char>(f[k.size()]))) continue;
      if (!best || key.size() > best->size()) best = &key;
    }
  }
  return best ? *best : product;
}

sdk::Result<ClusterModels> build_models(sdk::ClusterView& cluster, const std::vector<sdk::PodModel>* discovered) {
  ClusterModels out;
  auto vas = cluster.list("VariantAutoscaling", "");
  if (!vas.ok()) return sdk::make_error(vas.error().code, "listing VariantAutoscalings: " + vas.error().message);
  auto deployments = cluster.list("Deployment", "");
  if (!deployments.ok())
    return sdk::make_error(deployments.error().code, "listing Deployments: " + deployments.error().message);
  auto pods = cluster.list("Pod", "");
  if (!pods.ok()) return sdk::make_error(pods.error().code, "listing Pods: " + pods.error().message);

  const UnitCosts costs = read_unit_costs(cluster, out.warnings);
  const std::vector<std::string> cost_keys = costs.keys();
  const std::vector<ServiceClass> classes = read_service_classes(cluster, out.warnings);

  // Indexes.
  std::map<std::string, std::map<std::string, const json*>> deps_by_ns;  // ns -> name -> Deployment
  for (const auto& d : *deployments) deps_by_ns[obj_ns(d)][obj_name(d)] = &d;
  std::map<std::pair<std::string, std::string>, std::vector<const json*>> deps_by_model_label;  // (ns, label)
  for (const auto& [ns, by_name] : deps_by_ns)  // by name, so each list is sorted
    for (const auto& [name, d] : by_name)
      if (auto l = label_of(*d, kModelLabel); !l.empty()) deps_by_model_label[{ns, l}].push_back(d);
  // Pod owner: the backend's annotation; else the longest Deployment name that prefixes the pod name
  // followed by '-' and whose spec.selector.matchLabels the pod has ("llama-7d9f-x" vs "llama-h100-5c-y").
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> pods_by_owner;  // (ns, deploy)
  std::map<std::pair<std::string, std::string>, std::string> pod_owner;                   // (ns, pod) -> deploy
  for (const auto& p : *pods) {
    const std::string ns = obj_ns(p), pod_name = obj_name(p);
    std::string owner = str_at(p, {"metadata", "annotations", sdk::kPodDeploymentAnnotation});
    if (owner.empty()) {
      const auto& ns_deps = deps_by_ns[ns];
      for (size_t dash = pod_name.rfind('-'); dash != std::string::npos && dash > 0;
           dash = pod_name.rfind('-', dash - 1)) {
        auto d = ns_deps.find(pod_name.substr(0, dash));
        if (d != ns_deps.end() && selector_matches(*d->second, p)) {
          owner = d->first;
          break;
        }
      }
    }
    if (!owner.empty()) {
      pods_by_owner[{ns, owner}].push_back(pod_name);
      pod_owner[{ns, pod_name}] = owner;
    }
  }
  // Deployments whose pods report serving a model in their metrics, by (ns, model ID); a Deployment
  // labelled for another model is never claimed this way.
  std::map<std::pair<std::string, std::string>, std::vector<const json*>> deps_by_served_model;
  if (discovered) {
    std::set<std::tuple<std::string, std::string, std::string>> seen;  // (ns, model, deployment)
    for (const auto& pm : *discovered) {
      auto owner = pod_owner.find({pm.ns, pm.pod});
      if (owner == pod_owner.end() || !seen.insert({pm.ns, pm.model_id, owner->second}).second) continue;
      auto ns_it = deps_by_ns.find(pm.ns);
      if (ns_it == deps_by_ns.end()) continue;
      auto dep_it = ns_it->second.find(owner->second);
      if (dep_it == ns_it->second.end()) continue;  // the owner named by an annotation is not in the cache
      const json* d = dep_it->second;
      std::string label_value = pm.model_id;
      std::replace(label_value.begin(), label_value.end(), '/', '.');
      if (auto l = label_of(*d, kModelLabel); !l.empty() && l != label_value) continue;
      deps_by_served_model[{pm.ns, pm.model_id}].push_back(d);
    }
    for (auto& [k, ds] : deps_by_served_model)
      std::sort(ds.begin(), ds.end(), [](const json* a, const json* b) { return obj_name(*a) < obj_name(*b); });
  }
  for (auto& [k, names] : pods_by_owner) std::sort(names.begin(), names.end());

  // Group VAs by model.
  std::map<sdk::ModelKey, VaGroup> groups;
  std::vector<const json*> sorted_vas;
  for (const auto& va : *vas) sorted_vas.push_back(&va);
  std::sort(sorted_vas.begin(), sorted_vas.end(), [](const json* a, const json* b) {
    return std::make_pair(obj_ns(*a), obj_name(*a)) < std::make_pair(obj_ns(*b), obj_name(*b));
  });
  for (const json* va : sorted_vas) {
    if (at(*va, {"metadata", "deletionTimestamp"})) continue;
    std::string model = str_at(*va, {"spec", "modelID"});
    if (model.empty()) model = str_at(*va, {"spec", "modelId"});
    if (model.empty()) {
      out.warnings.push_back("VariantAutoscaling " + obj_ns(*va) + "/" + obj_name(*va) +
                             ": spec.modelID is missing; skipped");
      continue;
    }
    sdk::ModelKey key{obj_ns(*va), model};
    auto& g = groups[key];
    g.key = key;
    g.vas.push_back(va);
  }

  for (auto& [key, group] : groups) {
    sdk::ModelView view;
    view.key = key;
    const json& first = *group.vas.front();
    view.va_name = obj_name(first);
    if (const json* spec = at(first, {"spec"}); spec && spec->is_object()) view.va_spec = *spec;
    if (const json* stz = at(first, {"spec", "scaleToZero"}); stz && stz->is_boolean())
      view.scale_to_zero = stz->get<bool>();
    view.slo = find_slo(classes, key.model_id, first, out.warnings);

    const auto& ns_deps = deps_by_ns[key.ns];
    std::set<std::string> claimed;
    std::string accepted_va;          // the first VA of the model that resolved its target
    bool accepted_discovery = false;  // ... and whether it finds its Deployments by label
    for (const json* va_ptr : group.vas) {
      const json& va = *va_ptr;
      const std::string va_name = obj_name(va);
      const std::string va_where = "VariantAutoscaling " + key.ns + "/" + va_name;
      std::vector<const json*> targets;
      const json* ref = at(va, {"spec", "scaleTargetRef"});
      const bool has_ref = ref && ref->is_object() && !str_at(*ref, {"name"}).empty();
      // Several VAs of a model are fine when each names its Deployment; one finding them by label next to
      // any other would claim the same Deployments twice: the later one (by name) is refused.
      if (!accepted_va.empty() && (accepted_discovery || !has_ref)) {
        out.conditions.push_back(
            condition(va, "False", "DuplicateModel",
                      "Model " + key.model_id + " in namespace " + key.ns + " already has VariantAutoscaling " +
                          accepted_va + (has_ref ? " (which finds its Deployments by label)" : "") +
                          "; this one is ignored (give each VA a scaleTargetRef, or keep one per model)"));
        continue;
      }
      if (has_ref) {
        const std::string kind = str_at(*ref, {"kind"});
        const std::string name = str_at(*ref, {"name"});
        if (!kind.empty() && kind != "Deployment") {
          out.conditions.push_back(condition(va, "False", "UnsupportedTargetKind",
                                             "Scale target kind " + kind + " is not supported (only Deployment)"));
          continue;
        }
        auto it = ns_deps.find(name);
        if (it == ns_deps.end()) {
          out.conditions.push_back(
              condition(va, "False", "TargetNotFound", "Scale target Deployment " + name + " not found"));
          continue;
        }
        targets.push_back(it->second);
        out.conditions.push_back(condition(va, "True", "TargetFound", "Scale target Deployment " + name + " found"));
      } else {
        std::string label_value = key.model_id;
        std::replace(label_value.begin(), label_value.end(), '/', '.');
        if (auto it = deps_by_model_label.find({key.ns, label_value}); it != deps_by_model_label.end())
          targets = it->second;
        // Without a labelled Deployment: those whose pods serve the model by their metrics.
        bool by_metrics = false;
        if (targets.empty())
          if (auto it = deps_by_served_model.find({key.ns, key.model_id}); it != deps_by_served_model.end()) {
            targets = it->second;
            by_metrics = true;
          }
        if (targets.empty()) {
          out.conditions.push_back(condition(
              va, "False", "TargetNotFound",
              std::string("No Deployment labelled ") + kModelLabel + "=" + label_value + " found in namespace " +
                  key.ns +
                  (discovered ? ", and no pod of the namespace reports model_name=" + key.model_id + " in its metrics"
                              : "")));
          continue;
        }
        std::string names;
        for (const json* d : targets) names += (names.empty() ? "" : ", ") + obj_name(*d);
        out.conditions.push_back(
            condition(va, "True", "TargetFound",
                      "Found Deployment(s) " + names +
                          (by_metrics ? " (their pods report model_name=" + key.model_id + " in their metrics)" : "")));
      }
      if (accepted_va.empty()) {
        accepted_va = va_name;
        accepted_discovery = !has_ref;
      }

      // Accelerator names known to this VA: cost keys plus its profile's accelerators.
      std::vector<std::string> keys = cost_keys;
      if (const json* accs = at(va, {"spec", "modelProfile", "accelerators"}); accs && accs->is_array())
        for (const auto& a : *accs)
          if (auto acc = str_at(a, {"acc"}); !acc.empty() && std::find(keys.begin(), keys.end(), acc) == keys.end())
            keys.push_back(acc);
      const std::string va_acc_label = labels_at(va, {"metadata", "labels"})[kAcceleratorLabel];

      // Per-VA fields, read (and warned about) once.
      std::optional<double> variant_cost;
      if (const json* vc = at(va, {"spec", "variantCost"})) {
        if (auto c = as_number(*vc); c && *c >= 0) variant_cost = *c;
        else
          out.warnings.push_back(va_where + ": spec.variantCost: " + describe(*vc) +
                                 " is not a non-negative number; using accelerator-unitcost");
      }
      int min_replicas = 1;
      std::optional<int> max_replicas;
      if (const json* m = at(va, {"spec", "minReplicas"})) {
        if (auto n = as_int(*m); n && *n >= 0) min_replicas = *n;
        else
          out.warnings.push_back(va_where + ": spec.minReplicas: " + describe(*m) +
                                 " is not a non-negative integer; using 1");
      }
      if (const json* m = at(va, {"spec", "maxReplicas"})) {
        if (auto n = as_int(*m); n && *n >= 1) max_replicas = *n;
        else
          out.warnings.push_back(va_where + ": spec.maxReplicas: " + describe(*m) +
                                 " is not a positive integer; ignored");
      }
      if (max_replicas && *max_replicas < min_replicas) {
        out.warnings.push_back(va_where + ": spec.maxReplicas " + std::to_string(*max_replicas) + " < minReplicas " +
                               std::to_string(min_replicas) + "; maxReplicas ignored");
        max_replicas.reset();
      }

      for (const json* d : targets) {
        const std::string dep_name = obj_name(*d);
        if (!claimed.insert(dep_name).second) {
          out.warnings.push_back(va_where + ": Deployment " + dep_name +
                                 " is already a variant through another VariantAutoscaling of model " + key.model_id +
                                 "; counted once");
          continue;
        }
        sdk::Variant v;
        v.name = dep_name;
        v.va_name = va_name;

        std::string raw_acc = label_of(*d, kAcceleratorLabel);
        if (raw_acc.empty() && has_ref) raw_acc = va_acc_label;
        if (raw_acc.empty()) raw_acc = node_selector_product(*d);
        if (raw_acc.empty()) raw_acc = va_acc_label;
        v.accelerator = raw_acc.empty() ? "" : normalize_accelerator(raw_acc, keys);

        const Replicas r = replicas_of(*d);
        v.current_replicas = r.current;
        v.ready_replicas = r.ready;
        v.pending_replicas = r.pending;

        int acc_count = 0;
        v.profile = profile_for(va, v.accelerator, keys, acc_count, out.warnings);
        const int gpus = gpus_of(*d);
        v.gpus_per_replica = gpus > 0 ? gpus : (acc_count > 0 ? acc_count : 1);

        // Cost.
        if (variant_cost) {
          v.cost_per_replica = *variant_cost;
          v.cost_source = "variantCost";
        } else {
          if (v.accelerator.empty()) {
            v.cost_source = std::string("accelerator unknown: set label ") + kAcceleratorLabel +
                            " or nodeSelector nvidia.com/gpu.product, or spec.variantCost";
          } else if (!costs.config_map_found) {
            v.cost_source = "no ConfigMap " + std::string(kUnitCostConfigMap) + " in namespace " +
                            cluster.system_namespace() + " (accelerator " + v.accelerator + ")";
          } else if (auto c = costs.cost_per_gpu_hour.find(v.accelerator); c != costs.cost_per_gpu_hour.end()) {
            v.cost_per_replica = c->second * v.gpus_per_replica;
            v.cost_source = kUnitCostConfigMap;
          } else {
            v.cost_source = "no " + std::string(kUnitCostConfigMap) + " entry for " + v.accelerator;
          }
        }

        v.min_replicas = min_replicas;
        v.max_replicas = max_replicas;

        v.previous_desired = previous_desired(va, dep_name, v.accelerator, targets.size() == 1);

        if (auto it = pods_by_owner.find({key.ns, dep_name}); it != pods_by_owner.end()) v.pods = it->second;
        view.variants.push_back(std::move(v));
      }
    }
    if (view.variants.empty()) continue;
    std::sort(view.variants.begin(), view.variants.end(),
              [](const sdk::Variant& a, const sdk::Variant& b) { return a.name < b.name; });
    out.models.push_back(std::move(view));
    out.va_labels.push_back(labels_at(first, {"metadata", "labels"}));
  }
  return out;
}

}  // namespace wva::framework
