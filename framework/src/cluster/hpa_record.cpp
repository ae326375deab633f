#include "cluster/hpa_record.h"

#include <algorithm>

#include "wva/sdk/util/config_values.h"

namespace wva::framework {
namespace {

using nlohmann::json;

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string string_member(const json* obj, const char* key) {
  const json* v = obj ? member(*obj, key) : nullptr;
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// The ScaledObject that made this HPA (its owner), or "".
std::string scaled_object_of(const json* meta) {
  if (!meta) return {};
  if (const json* refs = member(*meta, "ownerReferences"); refs && refs->is_array())
    for (const auto& r : *refs)
      if (string_member(&r, "kind") == "ScaledObject") return string_member(&r, "name");
  return {};
}

}  // namespace

HpaRecord hpa_record_of(const json& hpa) {
  HpaRecord r;
  const json* meta = member(hpa, "metadata");
  r.name = string_member(meta, "name");
  r.ns = string_member(meta, "namespace");
  if (r.ns.empty()) r.ns = "default";
  const std::string where = "HorizontalPodAutoscaler " + r.ns + "/" + r.name;
  const json* spec = member(hpa, "spec");
  const json* ref = spec ? member(*spec, "scaleTargetRef") : nullptr;
  const std::string api = string_member(ref, "apiVersion");
  if (string_member(ref, "kind") == "Deployment" && (api.empty() || api.starts_with("apps/")))
    r.target = string_member(ref, "name");
  r.scaled_object = scaled_object_of(meta);
  if (const json* max = spec ? member(*spec, "maxReplicas") : nullptr) {
    if (auto n = sdk::util::config_int(*max); n && *n >= 1) r.max_replicas = *n;
    else
      r.problems.push_back(where + ": spec.maxReplicas: " + sdk::util::describe_value(*max) +
                           " is not a positive integer; ignored");
  }
  std::optional<int> min = 1;  // the API server's default
  if (const json* m = spec ? member(*spec, "minReplicas") : nullptr) {
    if (auto n = sdk::util::config_int(*m); n && *n >= 0) min = *n;
    else {
      r.problems.push_back(where + ": spec.minReplicas: " + sdk::util::describe_value(*m) +
                           " is not a non-negative integer; ignored");
      min.reset();
    }
  }
  if (min && r.max_replicas && *min > *r.max_replicas) {
    r.problems.push_back(where + ": spec.minReplicas " + std::to_string(*min) + " > maxReplicas " +
                         std::to_string(*r.max_replicas) + "; minReplicas ignored");
    min.reset();
  }
  if (r.scaled_object.empty()) r.min_replicas = min;
  return r;
}

void trim_hpa(json& hpa) {
  if (!hpa.is_object()) return;
  hpa.erase("status");
  if (auto spec = hpa.find("spec"); spec != hpa.end() && spec->is_object()) {
    json kept = json::object();
    for (const char* k : {"scaleTargetRef", "minReplicas", "maxReplicas"})
      if (auto it = spec->find(k); it != spec->end()) kept[k] = std::move(*it);
    *spec = std::move(kept);
  }
}

HpaBounds hpa_bounds_of(HpaRecord record) {
  return HpaBounds{std::move(record.target), record.min_replicas, record.max_replicas, std::move(record.problems)};
}

ReplicaBounds bounds_within(int va_min, std::optional<int> va_max, const HpaBounds& hpa, const std::string& hpa_ns,
                            const std::string& hpa_name) {
  ReplicaBounds b;
  const int hpa_min = hpa.min_replicas.value_or(0);
  b.min_replicas = std::max(va_min, hpa_min);
  b.max_replicas = va_max;
  if (hpa.max_replicas) b.max_replicas = va_max ? std::min(*va_max, *hpa.max_replicas) : *hpa.max_replicas;
  if (!b.max_replicas || b.min_replicas <= *b.max_replicas) return b;
  // No overlap: the HPA's bound nearest the VA's range.
  // Either the VA's minimum is above the HPA's maximum, or the VA's maximum below the HPA's minimum.
  const bool floor_above = hpa.max_replicas && va_min > *hpa.max_replicas;
  const int held = floor_above ? *hpa.max_replicas : hpa_min;
  auto range = [](int lo, std::optional<int> hi) {
    return "[" + std::to_string(lo) + ", " + (hi ? std::to_string(*hi) : std::string("unbounded")) + "]";
  };
  b.conflict = "replicas " + range(va_min, va_max) + " of the VariantAutoscaling and " +
               range(hpa_min, hpa.max_replicas) + " of HorizontalPodAutoscaler " + hpa_ns + "/" + hpa_name +
               " do not overlap; the HPA scales within its own bounds, so " + std::to_string(held) + " is used";
  b.min_replicas = held;
  b.max_replicas = held;
  return b;
}

}  // namespace wva::framework
