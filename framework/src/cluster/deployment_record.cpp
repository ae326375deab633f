#include "cluster/deployment_record.h"

#include <algorithm>
#include <initializer_list>
#include <optional>

#include "wva/sdk/util/config_values.h"

namespace wva::framework {
namespace {

using nlohmann::json;

constexpr const char* kGpuResources[] = {"nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu"};

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

// The label's string value in labels object `labels`, or nullopt.
std::optional<std::string> label_in(const json* labels, const char* label) {
  if (!labels || !labels->is_object()) return std::nullopt;
  auto it = labels->find(label);
  if (it == labels->end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string label_of(const json& d, const char* label) {
  if (auto v = label_in(at(d, {"metadata", "labels"}), label)) return *v;
  if (auto v = label_in(at(d, {"spec", "template", "metadata", "labels"}), label)) return *v;
  return "";
}

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
          if (auto v = sdk::util::config_int(*it); v && *v > 0) n += *v;
      return n;
    };
    const int limits = sum("limits");
    total += limits > 0 ? limits : sum("requests");
  }
  return total;
}

std::string node_selector_product(const json& deployment) {
  const json* sel = at(deployment, {"spec", "template", "spec", "nodeSelector"});
  if (!sel || !sel->is_object()) return "";
  for (const char* key : {"nvidia.com/gpu.product", "cloud.google.com/gke-accelerator"})
    if (auto it = sel->find(key); it != sel->end() && it->is_string() && !it->get<std::string>().empty())
      return it->get<std::string>();
  return "";
}

void read_replicas(const json& d, DeploymentRecord& out) {
  int spec = 1;
  if (const json* s = at(d, {"spec", "replicas"}))
    if (auto v = sdk::util::config_int(*s); v && *v >= 0) spec = *v;
  const json* status = at(d, {"status"});
  const bool has_status = status && status->is_object() && !status->empty();
  std::optional<int> status_replicas, status_ready;
  if (has_status) {
    if (const json* v = at(*status, {"replicas"})) status_replicas = sdk::util::config_int(*v);
    if (const json* v = at(*status, {"readyReplicas"})) status_ready = sdk::util::config_int(*v);
  }
  out.current_replicas = status_replicas && *status_replicas > 0 ? *status_replicas : spec;
  out.ready_replicas = has_status ? std::max(0, status_ready.value_or(0)) : out.current_replicas;
  out.pending_replicas = std::max(0, out.current_replicas - out.ready_replicas);
}

}  // namespace

bool DeploymentRecord::selects(const sdk::Labels& pod_labels) const {
  if (selector_matches_nothing) return false;
  for (const auto& [key, value] : match_labels) {
    auto p = pod_labels.find(key);
    if (p == pod_labels.end() || p->second != value) return false;
  }
  return true;
}

DeploymentRecord deployment_record_of(const json& deployment) {
  DeploymentRecord out;
  out.name = str_at(deployment, {"metadata", "name"});
  out.ns = str_at(deployment, {"metadata", "namespace"});
  if (out.ns.empty()) out.ns = "default";
  out.model_label = label_of(deployment, kModelLabel);
  out.accelerator_label = label_of(deployment, kAcceleratorLabel);
  out.node_selector_product = node_selector_product(deployment);
  read_replicas(deployment, out);
  out.gpus = gpus_of(deployment);
  if (const json* ml = at(deployment, {"spec", "selector", "matchLabels"}); ml && ml->is_object())
    for (auto it = ml->begin(); it != ml->end(); ++it) {  // an object's keys come sorted
      if (it.value().is_string()) out.match_labels.emplace_back(it.key(), it.value().get<std::string>());
      else out.selector_matches_nothing = true;
    }
  return out;
}

}  // namespace wva::framework
