// How the cluster's objects become ModelViews. The rules (docs/architecture.md section 6; docs/upstream.md
// sections 1, 4.3, 6.1):
//
// Grouping: every VariantAutoscaling (all namespaces, being deleted ones skipped) joins the model
// (namespace, spec.modelID | spec.modelId). Several VAs of one model (e.g. one per Deployment with
// scaleTargetRef) make one ModelView; its va_name / labels / SLO come from the first VA by name.
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
// Bounds: a variant's [min, max] replicas are the VA's spec.minReplicas (default 1) and spec.maxReplicas
// (none) within those of the HorizontalPodAutoscaler that scales its Deployment (cluster/hpa_record.h:
// what an HPA enforces), the HPA's side holding where the two do not overlap. Several HPAs on one
// Deployment: the first by name, with a warning.
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
// SLO: ConfigMap service-classes-config (system namespace), parsed and matched by
// wva/sdk/util/service_classes.h (the rules are there), with the first VA's spec.sloClassRef.
// Profiles: spec.modelProfile.accelerators[] entries parsed by wva/sdk/util/model_profile.h.
//
// Bad ConfigMap or VA contents become warnings naming the object and key; the value is then absent,
// never read as 0.
#include "model/model_builder.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "wva/sdk/util/memory_cluster.h"  // kPodDeploymentAnnotation
#include "wva/sdk/util/model_profile.h"
#include "wva/sdk/util/service_classes.h"
#include "wva/sdk/util/yaml.h"

namespace wva::framework {
namespace {

using nlohmann::json;

constexpr const char* kUnitCostConfigMap = "accelerator-unitcost";
constexpr const char* kServiceClassConfigMap = "service-classes-config";

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

// Numbers as the original CRDs write them (numbers or numeric strings): one rule, wva/sdk/util/config_values.h.
std::optional<double> as_number(const json& v) { return sdk::util::config_number(v); }
std::optional<int> as_int(const json& v) { return sdk::util::config_int(v); }

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
  auto cm = cluster.get_shared("ConfigMap", ns, kUnitCostConfigMap);
  if (!cm.ok()) {
    warnings.push_back(where + ": cannot read: " + cm.error().message);
    return out;
  }
  if (!*cm) return out;
  out.config_map_found = true;
  auto data = sdk::config_map_data(**cm);
  auto it = data.find("costs");
  if (it == data.end()) {
    warnings.push_back(where + ": no data key \"costs\" (expected `costs: |` with lines like `H100: 50.0`)");
    return out;
  }
  const std::string key_where = where + " key costs";
  auto parsed = sdk::yaml::load_json(it->second);
  if (!parsed.ok()) {
    warnings.push_back(key_where + ": " + parsed.error().message);
    return out;
  }
  const json costs = std::move(parsed.value());
  if (costs.is_null()) return out;
  if (!costs.is_object()) {
    warnings.push_back(key_where + ": must be a mapping accelerator -> cost per GPU-hour");
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

// The service classes: one parse (wva/sdk/util/service_classes.h), its problems become warnings.
std::vector<sdk::util::ServiceClass> read_service_classes(sdk::ClusterView& cluster,
                                                          std::vector<std::string>& warnings) {
  const std::string ns = cluster.system_namespace();
  const std::string where = "ConfigMap " + ns + "/" + kServiceClassConfigMap;
  auto cm = cluster.get_shared("ConfigMap", ns, kServiceClassConfigMap);
  if (!cm.ok()) {
    warnings.push_back(where + ": cannot read: " + cm.error().message);
    return {};
  }
  if (!*cm) return {};
  auto parsed = sdk::util::parse_service_classes(sdk::config_map_data(**cm), where);
  for (const auto& problem : parsed.problems) warnings.push_back(problem.to_string());
  return std::move(parsed.classes);
}

std::optional<sdk::Slo> find_slo(const std::vector<sdk::util::ServiceClass>& classes, const sdk::ModelKey& key,
                                 const json& va, std::vector<std::string>& warnings) {
  std::optional<sdk::util::SloClassRef> ref;
  if (const json* r = at(va, {"spec", "sloClassRef"}); r && r->is_object())
    ref = sdk::util::SloClassRef{str_at(*r, {"name"}), str_at(*r, {"key"})};
  bool ref_unmatched = false;
  auto slo = sdk::util::find_slo(classes, key, ref, &ref_unmatched);
  if (ref_unmatched)
    warnings.push_back("VariantAutoscaling " + obj_ns(va) + "/" + obj_name(va) +
                       ": spec.sloClassRef: service class \"" + ref->name + "\" has no entry for \"" +
                       (ref->key.empty() ? key.model_id : ref->key) + "\" in ConfigMap " + kServiceClassConfigMap);
  return slo;
}

// ------------------------------------------------------------------------------------------ Deployments

// Deployments are read as DeploymentRecords (cluster/deployment_record.h): labels, accelerator, replicas,
// GPUs and selector taken once from the JSON.

// ------------------------------------------------------------------------------------------ VA fields

// The profile of `accelerator` from the VA's spec.modelProfile.accelerators[] (one parse:
// wva/sdk/util/model_profile.h). A bad entry is a warning and gives no profile.
std::optional<sdk::PerformanceProfile> profile_for(const json& va, const std::string& accelerator,
                                                   const std::vector<std::string>& keys, int& acc_count,
                                                   std::vector<std::string>& warnings) {
  const json* accs = at(va, {"spec", "modelProfile", "accelerators"});
  if (!accs || !accs->is_array() || accelerator.empty()) return std::nullopt;
  const std::string where = "VariantAutoscaling " + obj_ns(va) + "/" + obj_name(va) + " spec.modelProfile.accelerators";
  for (size_t i = 0; i < accs->size(); ++i) {
    const json& a = (*accs)[i];
    const std::string acc = str_at(a, {"acc"});
    if (acc.empty() || lower(normalize_accelerator(acc, keys)) != lower(accelerator)) continue;
    auto entry = sdk::util::parse_profile_entry(a, where + "[" + std::to_string(i) + "]");
    if (!entry.ok()) {
      warnings.push_back(entry.error().to_string() + "; no profile for " + accelerator);
      return std::nullopt;
    }
    acc_count = entry.value().gpus;
    return entry.value().profile;
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

// ------------------------------------------------------------------------------------------ ModelViews

struct ModelViews::ConfigMaps {
  std::string system_namespace;
  UnitCosts costs;
  std::vector<std::string> cost_keys;
  std::vector<sdk::util::ServiceClass> classes;
};

struct ModelViews::Built {
  std::optional<sdk::ModelView> view;  // absent: the model has no variant
  sdk::Labels va_labels;
  std::vector<sdk::ResourceCondition> conditions;
  std::vector<std::string> warnings;
  std::vector<std::string> refs;
};

namespace {

// The model a VA joins; nullopt for a VA being deleted or (with `warning` set) one without a modelID.
std::optional<sdk::ModelKey> model_of(const json& va, std::string* warning) {
  if (at(va, {"metadata", "deletionTimestamp"})) return std::nullopt;
  std::string model = str_at(va, {"spec", "modelID"});
  if (model.empty()) model = str_at(va, {"spec", "modelId"});
  if (model.empty()) {
    if (warning)
      *warning = "VariantAutoscaling " + obj_ns(va) + "/" + obj_name(va) + ": spec.modelID is missing; skipped";
    return std::nullopt;
  }
  return sdk::ModelKey{obj_ns(va), model};
}

// The llmd.ai/model label value of a model: '/' cannot appear in label values.
std::string label_value_of(const std::string& model_id) {
  std::string out = model_id;
  std::replace(out.begin(), out.end(), '/', '.');
  return out;
}

const std::map<std::string, DeploymentRecordPtr> kNoDeployments;

// Sorted vectors as small sets (a few entries each: a std::set costs a node per entry).
template <class T>
bool insert_sorted(std::vector<T>& set, const T& value) {
  auto pos = std::lower_bound(set.begin(), set.end(), value);
  if (pos != set.end() && *pos == value) return false;
  set.insert(pos, value);
  return true;
}
template <class T>
bool erase_sorted(std::vector<T>& set, const T& value) {
  auto pos = std::lower_bound(set.begin(), set.end(), value);
  if (pos == set.end() || !(*pos == value)) return false;
  set.erase(pos);
  return true;
}

// What the views read of a VA: metadata name, namespace, labels and deletionTimestamp, the spec, and the
// status' variants and desiredOptimizedAlloc. A VA that only the views hold (a backend that makes one per
// call) is kept as that alone, without apiVersion, kind, annotations, managedFields or conditions; one a
// backend's cache shares costs nothing more and is kept as it is.
sdk::ObjectSnapshot read_parts(sdk::ObjectSnapshot va) {
  if (!va || va.use_count() != 1 || !va->is_object()) return va;
  json kept = json::object();
  auto copy = [](const json& from, json& to, std::initializer_list<const char*> keys) {
    for (const char* k : keys)
      if (auto it = from.find(k); it != from.end()) to[k] = *it;
  };
  if (auto m = va->find("metadata"); m != va->end()) {
    if (m->is_object()) copy(*m, kept["metadata"], {"name", "namespace", "labels", "deletionTimestamp"});
    else kept["metadata"] = *m;
  }
  copy(*va, kept, {"spec"});
  if (auto st = va->find("status"); st != va->end()) {
    if (st->is_object()) copy(*st, kept["status"], {"variants", "desiredOptimizedAlloc"});
    else kept["status"] = *st;
  }
  return std::make_shared<const json>(std::move(kept));
}

std::vector<std::optional<int>> status_desired_of(const sdk::ModelView& view) {
  std::vector<std::optional<int>> out;
  out.reserve(view.variants.size());
  for (const auto& v : view.variants) out.push_back(v.previous_desired);
  return out;
}

}  // namespace

ModelViews::Built ModelViews::build_model(const sdk::ModelKey& key, const std::string& system_namespace) const {
  Built out;
  auto group = groups_.find(key);
  if (group == groups_.end() || group->second.empty()) return out;
  std::vector<const json*> vas;
  for (const auto& name : group->second) {
    const json* va = vas_.at({key.ns, name}).get();
    vas.push_back(va);
    if (const json* ref = at(*va, {"spec", "scaleTargetRef"}); ref && ref->is_object())
      if (std::string n = str_at(*ref, {"name"}); !n.empty()) out.refs.push_back(std::move(n));
  }
  const ConfigMaps& cfg = *config_;
  sdk::ModelView view;
  view.key = key;
  const json& first = *vas.front();
  view.va_name = obj_name(first);
  if (const json* stz = at(first, {"spec", "scaleToZero"}); stz && stz->is_boolean())
    view.scale_to_zero = stz->get<bool>();
  view.slo = find_slo(cfg.classes, key, first, out.warnings);

  auto ns_it = deployments_.find(key.ns);
  const auto& ns_deps = ns_it != deployments_.end() ? ns_it->second : kNoDeployments;
  std::set<std::string> claimed;
  std::string accepted_va;          // the first VA of the model that resolved its target
  bool accepted_discovery = false;  // ... and whether it finds its Deployments by label
  for (const json* va_ptr : vas) {
    const json& va = *va_ptr;
    const std::string va_name = obj_name(va);
    const std::string va_where = "VariantAutoscaling " + key.ns + "/" + va_name;
    std::vector<const DeploymentRecord*> targets;
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
      targets.push_back(it->second.get());
      out.conditions.push_back(condition(va, "True", "TargetFound", "Scale target Deployment " + name + " found"));
    } else {
      const std::string label_value = label_value_of(key.model_id);
      if (auto it = deployments_by_label_.find({key.ns, label_value}); it != deployments_by_label_.end())
        for (const auto& name : it->second) targets.push_back(ns_deps.at(name).get());
      // Without a labelled Deployment: those owning the pods that serve the model by their metrics, unless
      // labelled for another model.
      const bool by_metrics = targets.empty() && discovered_pods_.count(key);
      if (by_metrics) {
        std::set<std::string> owners;
        for (const auto& pod : discovered_pods_.at(key))
          if (auto owner = pod_owner(key.ns, pod); owner && !owner->empty()) owners.insert(std::move(*owner));
        for (const auto& name : owners) {
          auto d = ns_deps.find(name);
          if (d == ns_deps.end()) continue;  // an owner the backend named but does not hold
          if (const auto& l = d->second->model_label; !l.empty() && l != label_value) continue;
          targets.push_back(d->second.get());
        }
      }
      if (targets.empty()) {
        out.conditions.push_back(condition(
            va, "False", "TargetNotFound",
            std::string("No Deployment labelled ") + kModelLabel + "=" + label_value + " found in namespace " + key.ns +
                (discovery_on_ ? ", and no pod of the namespace reports model_name=" + key.model_id + " in its metrics"
                               : "")));
        continue;
      }
      std::string names;
      for (const DeploymentRecord* d : targets) names += (names.empty() ? "" : ", ") + d->name;
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
    std::vector<std::string> keys = cfg.cost_keys;
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

    for (const DeploymentRecord* d : targets) {
      const std::string& dep_name = d->name;
      if (!claimed.insert(dep_name).second) {
        out.warnings.push_back(va_where + ": Deployment " + dep_name +
                               " is already a variant through another VariantAutoscaling of model " + key.model_id +
                               "; counted once");
        continue;
      }
      sdk::Variant v;
      v.name = dep_name;
      v.va_name = va_name;

      std::string raw_acc = d->accelerator_label;
      if (raw_acc.empty() && has_ref) raw_acc = va_acc_label;
      if (raw_acc.empty()) raw_acc = d->node_selector_product;
      if (raw_acc.empty()) raw_acc = va_acc_label;
      v.accelerator = raw_acc.empty() ? "" : normalize_accelerator(raw_acc, keys);

      v.current_replicas = d->current_replicas;
      v.ready_replicas = d->ready_replicas;
      v.pending_replicas = d->pending_replicas;

      int acc_count = 0;
      v.profile = profile_for(va, v.accelerator, keys, acc_count, out.warnings);
      const int gpus = d->gpus;
      v.gpus_per_replica = gpus > 0 ? gpus : (acc_count > 0 ? acc_count : 1);

      // Cost.
      if (variant_cost) {
        v.cost_per_replica = *variant_cost;
        v.cost_source = "variantCost";
      } else {
        if (v.accelerator.empty()) {
          v.cost_source = std::string("accelerator unknown: set label ") + kAcceleratorLabel +
                          " or nodeSelector nvidia.com/gpu.product, or spec.variantCost";
        } else if (!cfg.costs.config_map_found) {
          v.cost_source = "no ConfigMap " + std::string(kUnitCostConfigMap) + " in namespace " + system_namespace +
                          " (accelerator " + v.accelerator + ")";
        } else if (auto c = cfg.costs.cost_per_gpu_hour.find(v.accelerator); c != cfg.costs.cost_per_gpu_hour.end()) {
          v.cost_per_replica = c->second * v.gpus_per_replica;
          v.cost_source = kUnitCostConfigMap;
        } else {
          v.cost_source = "no " + std::string(kUnitCostConfigMap) + " entry for " + v.accelerator;
        }
      }

      v.min_replicas = min_replicas;
      v.max_replicas = max_replicas;
      std::vector<const std::string*> hpa_names;  // of the HPAs scaling this Deployment, sorted
      if (auto ns_hpas = hpas_by_target_.find(key.ns); ns_hpas != hpas_by_target_.end())
        for (auto it = ns_hpas->second.lower_bound({dep_name, ""});
             it != ns_hpas->second.end() && it->first == dep_name; ++it)
          hpa_names.push_back(&it->second);
      if (!hpa_names.empty()) {
        const std::string& hpa_name = *hpa_names.front();
        const HpaBounds& hpa = *hpa_bounds(key.ns, hpa_name);
        out.warnings.insert(out.warnings.end(), hpa.problems.begin(), hpa.problems.end());
        if (hpa_names.size() > 1) {
          std::string names;
          for (const auto* n : hpa_names) names += (names.empty() ? "" : ", ") + *n;
          out.warnings.push_back("Deployment " + key.ns + "/" + dep_name +
                                 " is the target of several HorizontalPodAutoscalers (" + names +
                                 "): Kubernetes scales it with none of them (condition AmbiguousSelector); " +
                                 "the bounds of " + hpa_name + " are used");
        }
        const ReplicaBounds b = bounds_within(min_replicas, max_replicas, hpa, key.ns, hpa_name);
        if (!b.conflict.empty()) out.warnings.push_back(va_where + ", Deployment " + dep_name + ": " + b.conflict);
        if (b.min_replicas != min_replicas || b.max_replicas != max_replicas) v.hpa_bounded = true;
        v.min_replicas = b.min_replicas;
        v.max_replicas = b.max_replicas;
      }

      v.previous_desired = previous_desired(va, dep_name, v.accelerator, targets.size() == 1);

      if (auto it = pods_by_owner_.find({key.ns, dep_name}); it != pods_by_owner_.end())
        v.pods = it->second.to_vector();
      view.variants.push_back(std::move(v));
    }
  }
  if (view.variants.empty()) return out;
  std::sort(view.variants.begin(), view.variants.end(),
            [](const sdk::Variant& a, const sdk::Variant& b) { return a.name < b.name; });
  view.variants.shrink_to_fit();  // grown by doubling: three variants held room for four
  out.va_labels = labels_at(first, {"metadata", "labels"});
  out.view = std::move(view);
  return out;
}

void ModelViews::index_deployment(const std::string& ns, const std::string& name, DeploymentRecordPtr rec) {
  auto& by_name = deployments_[ns];
  if (auto old = by_name.find(name); old != by_name.end()) {
    if (const auto& l = old->second->model_label; !l.empty()) {
      auto it = deployments_by_label_.find({ns, l});
      if (it != deployments_by_label_.end() && erase_sorted(it->second, name) && it->second.empty())
        deployments_by_label_.erase(it);
    }
    by_name.erase(old);
  }
  if (rec) {
    if (!rec->model_label.empty()) insert_sorted(deployments_by_label_[{ns, rec->model_label}], name);
    by_name.emplace(name, std::move(rec));
  }
  if (by_name.empty()) deployments_.erase(ns);
}

const HpaBounds* ModelViews::hpa_bounds(const std::string& ns, const std::string& name) const {
  auto in_ns = hpas_.find(ns);
  if (in_ns == hpas_.end()) return nullptr;
  auto it = in_ns->second.find(name);
  return it == in_ns->second.end() ? nullptr : &it->second;
}

void ModelViews::index_hpa(const std::string& ns, const std::string& name, std::optional<HpaBounds> bounds) {
  if (auto in_ns = hpas_.find(ns); in_ns != hpas_.end()) {
    if (auto old = in_ns->second.find(name); old != in_ns->second.end()) {
      if (!old->second.target.empty())
        if (auto by_target = hpas_by_target_.find(ns); by_target != hpas_by_target_.end()) {
          by_target->second.erase({old->second.target, name});
          if (by_target->second.empty()) hpas_by_target_.erase(by_target);
        }
      in_ns->second.erase(old);
      if (in_ns->second.empty()) hpas_.erase(in_ns);
    }
  }
  if (!bounds) return;
  if (!bounds->target.empty()) hpas_by_target_[ns].emplace(bounds->target, name);
  hpas_[ns].emplace(name, std::move(*bounds));
}

// Pod owner: the backend's; else the longest Deployment name that prefixes the pod name followed by '-'
// and whose spec.selector.matchLabels the pod has ("llama-7d9f-x" vs "llama-h100-5c-y").
std::string ModelViews::resolve_owner(const std::string& ns, const std::string& pod, const PodEntry& entry) const {
  if (entry.from_backend) return entry.deployment;
  auto ns_it = deployments_.find(ns);
  if (ns_it == deployments_.end()) return {};
  for (size_t dash = pod.rfind('-'); dash != std::string::npos && dash > 0; dash = pod.rfind('-', dash - 1)) {
    auto d = ns_it->second.find(pod.substr(0, dash));
    if (d != ns_it->second.end() && d->second->selects(entry.labels)) return d->first;
  }
  return {};
}

std::optional<std::string> ModelViews::pod_owner(const std::string& ns, const std::string& pod) const {
  if (auto it = pods_apart_.find({ns, pod}); it != pods_apart_.end()) return it->second.deployment;
  NsName owner{ns, {}};
  for (size_t dash = pod.rfind('-'); dash != std::string::npos && dash > 0; dash = pod.rfind('-', dash - 1)) {
    owner.second.assign(pod, 0, dash);
    if (auto it = pods_by_owner_.find(owner); it != pods_by_owner_.end() && it->second.contains(pod))
      return owner.second;
  }
  return std::nullopt;
}

void ModelViews::keep_pod(const std::string& ns, const std::string& pod, std::optional<PodEntry> entry) {
  const bool apart = entry && (!entry->from_backend || entry->deployment.empty() ||
                               !(pod.size() > entry->deployment.size() && pod[entry->deployment.size()] == '-' &&
                                 pod.starts_with(entry->deployment)));
  if (apart) pods_apart_[{ns, pod}] = std::move(*entry);
  else pods_apart_.erase({ns, pod});
}

void ModelViews::set_pod_owner(const std::string& ns, const std::string& pod, const std::string& before,
                               const std::string& after) {
  if (!before.empty()) {
    auto it = pods_by_owner_.find({ns, before});
    if (it != pods_by_owner_.end() && it->second.erase(pod) && it->second.empty()) pods_by_owner_.erase(it);
  }
  if (!after.empty()) pods_by_owner_[{ns, after}].insert(pod);
}

void ModelViews::models_of_deployment(const std::string& ns, const std::string& name, const std::string& label,
                                      std::set<sdk::ModelKey>& out) const {
  if (auto it = models_by_ref_.find({ns, name}); it != models_by_ref_.end())
    for (const auto& [key, count] : it->second) out.insert(key);
  if (!label.empty())
    if (auto it = models_by_label_.find({ns, label}); it != models_by_label_.end())
      out.insert(it->second.begin(), it->second.end());
  // Models whose pods (by their metrics) this Deployment owns.
  if (!discovered_by_pod_.empty())
    if (auto owned = pods_by_owner_.find({ns, name}); owned != pods_by_owner_.end())
      owned->second.for_each([&](std::string_view pod) { discovered_models_of_pod(ns, std::string(pod), out); });
}

void ModelViews::discovered_models_of_pod(const std::string& ns, const std::string& pod,
                                          std::set<sdk::ModelKey>& out) const {
  if (auto it = discovered_by_pod_.find({ns, pod}); it != discovered_by_pod_.end())
    for (const auto& model : it->second) out.insert(sdk::ModelKey{ns, model});
}

void ModelViews::set_discovered(const std::vector<sdk::PodModel>* discovered) {
  discovery_on_ = discovered != nullptr;
  discovered_by_pod_.clear();
  discovered_pods_.clear();
  if (!discovered) return;
  for (const auto& pm : *discovered) {
    discovered_by_pod_[{pm.ns, pm.pod}].insert(pm.model_id);
    discovered_pods_[sdk::ModelKey{pm.ns, pm.model_id}].insert(pm.pod);
  }
}

void ModelViews::rebuild_prefix() {
  std::vector<std::string> prefix = config_warnings_;
  for (const auto& [k, w] : skipped_warnings_) prefix.push_back(w);
  auto& warnings = writable().warnings;
  warnings.erase(warnings.begin(), warnings.begin() + static_cast<std::ptrdiff_t>(prefix_warnings_));
  warnings.insert(warnings.begin(), prefix.begin(), prefix.end());
  prefix_warnings_ = prefix.size();
}

ClusterModels& ModelViews::writable() {
  if (out_.use_count() > 1) {
    // A cycle still runs on (or an outcome keeps) the views and may be writing their metrics: copy every
    // part but those, which nobody reads from the cache.
    auto copy = std::make_shared<ClusterModels>();
    copy->conditions = out_->conditions;
    copy->va_labels = out_->va_labels;
    copy->warnings = out_->warnings;
    copy->models.reserve(out_->models.size());
    for (const auto& m : out_->models) {
      sdk::ModelView& v = copy->models.emplace_back();
      v.key = m.key;
      v.va_name = m.va_name;
      v.variants = m.variants;
      v.slo = m.slo;
      v.scale_to_zero = m.scale_to_zero;
    }
    out_ = std::move(copy);
  }
  return *out_;
}

ClusterModels ModelViews::take() {
  built_ = false;
  ClusterModels taken = std::move(writable());
  out_ = std::make_shared<ClusterModels>();
  status_desired_.clear();
  return taken;
}

void ModelViews::assemble_all() {
  out_ = std::make_shared<ClusterModels>();  // a borrower keeps the former views
  status_desired_.clear();
  records_.clear();
  models_by_ref_.clear();
  prefix_warnings_ = 0;
  rebuild_prefix();
  last_built_ = 0;
  // At most one view per model: sized once (grown by doubling, 10,000 views would hold room for 16,384).
  ClusterModels& out = *out_;
  out.models.reserve(groups_.size());
  out.va_labels.reserve(groups_.size());
  status_desired_.reserve(groups_.size());
  for (const auto& [key, names] : groups_) {
    Built b = build_model(key, config_->system_namespace);
    ++last_built_;
    ModelRecord rec;
    rec.conditions = b.conditions.size();
    rec.warnings = b.warnings.size();
    for (const auto& r : b.refs) ++models_by_ref_[{key.ns, r}][key];
    rec.refs = std::move(b.refs);
    std::move(b.conditions.begin(), b.conditions.end(), std::back_inserter(out.conditions));
    std::move(b.warnings.begin(), b.warnings.end(), std::back_inserter(out.warnings));
    if (b.view) {
      status_desired_.push_back(status_desired_of(*b.view));
      out.models.push_back(std::move(*b.view));
      out.va_labels.push_back(std::move(b.va_labels));
    }
    records_.emplace(key, std::move(rec));
  }
  out.conditions.shrink_to_fit();  // grown by doubling
  new_warnings_ = out.warnings;
}

sdk::Result<void> ModelViews::rebuild(ClusterBackend& cluster) {
  auto vas = cluster.list_shared("VariantAutoscaling", "");
  if (!vas.ok()) return sdk::make_error(vas.error().code, "listing VariantAutoscalings: " + vas.error().message);
  auto deployments = cluster.list_deployment_records();
  if (!deployments.ok())
    return sdk::make_error(deployments.error().code, "listing Deployments: " + deployments.error().message);
  auto pods = cluster.list_pod_owners();
  if (!pods.ok()) return sdk::make_error(pods.error().code, "listing Pods: " + pods.error().message);
  auto hpas = cluster.list_hpa_records();
  if (!hpas.ok())
    return sdk::make_error(hpas.error().code, "listing HorizontalPodAutoscalers: " + hpas.error().message);

  auto config = std::make_shared<ConfigMaps>();
  config->system_namespace = cluster.system_namespace();
  config_warnings_.clear();
  config->costs = read_unit_costs(cluster, config_warnings_);
  config->cost_keys = config->costs.keys();
  config->classes = read_service_classes(cluster, config_warnings_);
  config_ = std::move(config);

  vas_.clear();
  groups_.clear();
  skipped_warnings_.clear();
  models_by_label_.clear();
  for (auto& va : *vas) {
    NsName k{obj_ns(*va), obj_name(*va)};
    std::string warning;
    if (auto key = model_of(*va, &warning)) {
      insert_sorted(groups_[*key], k.second);
      insert_sorted(models_by_label_[{key->ns, label_value_of(key->model_id)}], *key);
    } else if (!warning.empty()) {
      skipped_warnings_[k] = std::move(warning);
    }
    vas_[std::move(k)] = read_parts(std::move(va));
  }
  deployments_.clear();
  deployments_by_label_.clear();
  for (auto& d : *deployments) {
    const std::string ns = d->ns, name = d->name;
    index_deployment(ns, name, std::move(d));
  }
  hpas_.clear();
  hpas_by_target_.clear();
  for (auto& rec : *hpas) {
    const std::string ns = rec.ns, name = rec.name;
    index_hpa(ns, name, hpa_bounds_of(std::move(rec)));
  }
  pods_apart_.clear();
  pods_by_owner_.clear();
  unowned_pods_.clear();
  std::map<NsName, std::vector<std::string>> owned;  // sorted once, then packed
  for (auto& p : *pods) {
    PodEntry e;
    e.from_backend = !p.deployment.empty();
    e.deployment = std::move(p.deployment);
    e.labels = std::move(p.labels);
    e.deployment = resolve_owner(p.ns, p.name, e);
    if (!e.deployment.empty()) owned[{p.ns, e.deployment}].push_back(p.name);
    if (!e.from_backend) unowned_pods_[p.ns].insert(p.name);
    keep_pod(p.ns, p.name, std::move(e));
  }
  for (auto& [k, names] : owned) {
    std::sort(names.begin(), names.end());
    pods_by_owner_.emplace_hint(pods_by_owner_.end(), k, PodNames(names));
  }
  owned.clear();
  // The lists are indexed: freed before the views are assembled, not after (120,000 pods' owners alone
  // are about 20 MB).
  std::vector<PodOwner>().swap(*pods);
  std::vector<HpaRecord>().swap(*hpas);
  std::vector<DeploymentRecordPtr>().swap(*deployments);
  std::vector<sdk::ObjectSnapshot>().swap(*vas);
  assemble_all();
  built_ = true;
  return sdk::ok();
}

sdk::Result<void> ModelViews::update(ClusterBackend& cluster, const std::vector<ObjectRef>& changed) {
  if (!built_) return rebuild(cluster);
  const std::string& sys = config_->system_namespace;
  for (const auto& ref : changed)
    if (ref.kind == "ConfigMap" && ref.ns == sys &&
        (ref.name == kUnitCostConfigMap || ref.name == kServiceClassConfigMap))
      return rebuild(cluster);
  new_warnings_.clear();
  last_built_ = 0;
  // A read that fails leaves the indexes half updated: the next call rebuilds everything.
  auto failed = [this](const sdk::Error& e, const std::string& doing) {
    built_ = false;
    return sdk::make_error(e.code, doing + ": " + e.message);
  };
  std::set<sdk::ModelKey> dirty;
  bool prefix_changed = false;
  for (const auto& ref : changed) {
    if (ref.kind != "VariantAutoscaling") continue;
    auto got = cluster.get_shared(ref.kind, ref.ns, ref.name);
    if (!got.ok()) return failed(got.error(), "reading VariantAutoscaling " + ref.ns + "/" + ref.name);
    const NsName k{ref.ns, ref.name};
    if (auto old = vas_.find(k); old != vas_.end()) {
      if (auto key = model_of(*old->second, nullptr)) {
        dirty.insert(*key);
        auto g = groups_.find(*key);
        if (g != groups_.end() && erase_sorted(g->second, ref.name) && g->second.empty()) {
          groups_.erase(g);
          auto l = models_by_label_.find({key->ns, label_value_of(key->model_id)});
          if (l != models_by_label_.end() && erase_sorted(l->second, *key) && l->second.empty())
            models_by_label_.erase(l);
        }
      }
      prefix_changed |= skipped_warnings_.erase(k) > 0;
      vas_.erase(old);
    }
    if (*got) {
      std::string warning;
      if (auto key = model_of(**got, &warning)) {
        dirty.insert(*key);
        insert_sorted(groups_[*key], ref.name);
        insert_sorted(models_by_label_[{key->ns, label_value_of(key->model_id)}], *key);
      } else if (!warning.empty()) {
        new_warnings_.push_back(warning);
        skipped_warnings_[k] = std::move(warning);
        prefix_changed = true;
      }
      vas_[k] = read_parts(std::move(*got));
    }
  }
  auto label_now = [this](const std::string& ns, const std::string& name) {
    auto n = deployments_.find(ns);
    if (n == deployments_.end()) return std::string();
    auto d = n->second.find(name);
    return d == n->second.end() ? std::string() : d->second->model_label;
  };
  for (const auto& ref : changed) {
    if (ref.kind != "Deployment") continue;
    auto got = cluster.get_deployment_record(ref.ns, ref.name);
    if (!got.ok()) return failed(got.error(), "reading Deployment " + ref.ns + "/" + ref.name);
    models_of_deployment(ref.ns, ref.name, label_now(ref.ns, ref.name), dirty);
    index_deployment(ref.ns, ref.name, std::move(*got));
    models_of_deployment(ref.ns, ref.name, label_now(ref.ns, ref.name), dirty);
    // Pods the backend named no owner of, named after this Deployment: their owner may change.
    auto unowned = unowned_pods_.find(ref.ns);
    if (unowned == unowned_pods_.end()) continue;
    const std::string prefix = ref.name + "-";
    for (auto it = unowned->second.lower_bound(prefix); it != unowned->second.end() && it->starts_with(prefix); ++it) {
      PodEntry& entry = pods_apart_.at({ref.ns, *it});  // not named by the backend: kept apart
      std::string owner = resolve_owner(ref.ns, *it, entry);
      if (owner == entry.deployment) continue;
      models_of_deployment(ref.ns, entry.deployment, label_now(ref.ns, entry.deployment), dirty);
      models_of_deployment(ref.ns, owner, label_now(ref.ns, owner), dirty);
      set_pod_owner(ref.ns, *it, entry.deployment, owner);
      entry.deployment = std::move(owner);
    }
  }
  for (const auto& ref : changed) {
    if (ref.kind != "HorizontalPodAutoscaler") continue;
    auto got = cluster.get_shared(ref.kind, ref.ns, ref.name);
    if (!got.ok()) return failed(got.error(), "reading HorizontalPodAutoscaler " + ref.ns + "/" + ref.name);
    if (const HpaBounds* old = hpa_bounds(ref.ns, ref.name); old && !old->target.empty())
      models_of_deployment(ref.ns, old->target, label_now(ref.ns, old->target), dirty);
    std::optional<HpaBounds> bounds;
    if (*got) bounds = hpa_bounds_of(hpa_record_of(**got));
    if (bounds && !bounds->target.empty())
      models_of_deployment(ref.ns, bounds->target, label_now(ref.ns, bounds->target), dirty);
    index_hpa(ref.ns, ref.name, std::move(bounds));
  }
  for (const auto& ref : changed) {
    if (ref.kind != "Pod") continue;
    auto got = cluster.get_pod_owner(ref.ns, ref.name);
    if (!got.ok()) return failed(got.error(), "reading Pod " + ref.ns + "/" + ref.name);
    const std::string before = pod_owner(ref.ns, ref.name).value_or(std::string());
    std::string after;
    if (*got) {
      PodEntry e;
      e.from_backend = !(*got)->deployment.empty();
      e.deployment = std::move((*got)->deployment);
      e.labels = std::move((*got)->labels);
      e.deployment = resolve_owner(ref.ns, ref.name, e);
      after = e.deployment;
      if (e.from_backend) {
        if (auto u = unowned_pods_.find(ref.ns);
            u != unowned_pods_.end() && u->second.erase(ref.name) && u->second.empty())
          unowned_pods_.erase(u);
      } else {
        unowned_pods_[ref.ns].insert(ref.name);
      }
      keep_pod(ref.ns, ref.name, std::move(e));
    } else {
      if (auto u = unowned_pods_.find(ref.ns);
          u != unowned_pods_.end() && u->second.erase(ref.name) && u->second.empty())
        unowned_pods_.erase(u);
      keep_pod(ref.ns, ref.name, std::nullopt);
    }
    if (before == after) continue;  // the same Deployment's pod: its status does not shape a view
    discovered_models_of_pod(ref.ns, ref.name, dirty);
    set_pod_owner(ref.ns, ref.name, before, after);
    models_of_deployment(ref.ns, before, label_now(ref.ns, before), dirty);
    models_of_deployment(ref.ns, after, label_now(ref.ns, after), dirty);
  }
  if (prefix_changed) rebuild_prefix();
  if (dirty.empty()) return sdk::ok();
  // Many models: one pass over all of them costs less than splicing each.
  if (dirty.size() > records_.size() / 4 + 16) {
    assemble_all();
    return sdk::ok();
  }
  // Splice each dirty model's parts into the flat vectors, walking the records once in key order.
  ClusterModels& out = writable();
  std::size_t cond_at = 0, warn_at = prefix_warnings_;
  auto rec = records_.begin();
  for (const auto& key : dirty) {
    while (rec != records_.end() && rec->first < key) {
      cond_at += rec->second.conditions;
      warn_at += rec->second.warnings;
      ++rec;
    }
    ModelRecord old;
    if (rec != records_.end() && rec->first == key) {
      old = std::move(rec->second);
      rec = records_.erase(rec);
    }
    for (const auto& r : old.refs) {
      auto m = models_by_ref_.find({key.ns, r});
      if (m == models_by_ref_.end()) continue;
      if (--m->second[key] <= 0) m->second.erase(key);
      if (m->second.empty()) models_by_ref_.erase(m);
    }
    Built b = build_model(key, sys);
    ++last_built_;
    const auto cond_pos = out.conditions.begin() + static_cast<std::ptrdiff_t>(cond_at);
    out.conditions.erase(cond_pos, cond_pos + static_cast<std::ptrdiff_t>(old.conditions));
    out.conditions.insert(out.conditions.begin() + static_cast<std::ptrdiff_t>(cond_at),
                          std::make_move_iterator(b.conditions.begin()), std::make_move_iterator(b.conditions.end()));
    const auto warn_pos = out.warnings.begin() + static_cast<std::ptrdiff_t>(warn_at);
    out.warnings.erase(warn_pos, warn_pos + static_cast<std::ptrdiff_t>(old.warnings));
    new_warnings_.insert(new_warnings_.end(), b.warnings.begin(), b.warnings.end());
    out.warnings.insert(out.warnings.begin() + static_cast<std::ptrdiff_t>(warn_at),
                        std::make_move_iterator(b.warnings.begin()), std::make_move_iterator(b.warnings.end()));
    auto pos = std::lower_bound(out.models.begin(), out.models.end(), key,
                                [](const sdk::ModelView& m, const sdk::ModelKey& k) { return m.key < k; });
    const auto index = pos - out.models.begin();
    const bool present = pos != out.models.end() && pos->key == key;
    if (present && b.view) {  // rebuilt in place: nothing after it moves
      status_desired_[static_cast<std::size_t>(index)] = status_desired_of(*b.view);
      *pos = std::move(*b.view);
      out.va_labels[static_cast<std::size_t>(index)] = std::move(b.va_labels);
    } else if (present) {
      out.models.erase(pos);
      out.va_labels.erase(out.va_labels.begin() + index);
      status_desired_.erase(status_desired_.begin() + index);
    } else if (b.view) {
      status_desired_.insert(status_desired_.begin() + index, status_desired_of(*b.view));
      out.models.insert(out.models.begin() + index, std::move(*b.view));
      out.va_labels.insert(out.va_labels.begin() + index, std::move(b.va_labels));
    }
    if (!groups_.count(key)) continue;  // the model is gone: no record
    ModelRecord fresh;
    fresh.conditions = b.conditions.size();
    fresh.warnings = b.warnings.size();
    for (const auto& r : b.refs) ++models_by_ref_[{key.ns, r}][key];
    fresh.refs = std::move(b.refs);
    cond_at += fresh.conditions;
    warn_at += fresh.warnings;
    rec = std::next(records_.emplace_hint(rec, key, std::move(fresh)));
  }
  return sdk::ok();
}

sdk::Result<ClusterModels> build_models(sdk::ClusterView& cluster, const std::vector<sdk::PodModel>* discovered) {
  ModelViews views;
  views.set_discovered(discovered);
  // A backend answers list_pod_owners() itself (the local one from the Deployments' replica counts,
  // without making the JSON of every pod); a plain view through list_shared("Pod").
  if (auto* backend = dynamic_cast<ClusterBackend*>(&cluster)) {
    if (auto r = views.rebuild(*backend); !r.ok()) return r.error();
    return views.take();
  }
  ViewBackend backend(cluster);
  if (auto r = views.rebuild(backend); !r.ok()) return r.error();
  return views.take();
}

}  // namespace wva::framework
