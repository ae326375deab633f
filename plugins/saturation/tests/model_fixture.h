// Builds ModelViews for the rule tests: variants with pods and their KV-cache / queue values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "wva/sdk/types.h"

namespace wva::saturation::testing {

struct PodSpec {
  std::optional<double> kv;
  std::optional<double> q;
};

struct VariantSpec {
  std::string name;
  std::optional<double> cost;
  int current = 1;
  std::vector<PodSpec> pods;   // named <name>-0, <name>-1, ... ; values as given
  std::optional<int> ready;    // default: current
  std::optional<int> desired;  // previous desired (VA status); default unset
  int min = 1;
  std::optional<int> max;
};

inline sdk::ModelView make_model(const std::vector<VariantSpec>& specs, std::string ns = "llm",
                                 std::string model_id = "meta/llama-3.1-8b") {
  sdk::ModelView m;
  m.key = {std::move(ns), std::move(model_id)};
  m.va_name = "llama";
  m.metrics.state = sdk::MetricsState::kOk;
  for (const auto& s : specs) {
    sdk::Variant v;
    v.name = s.name;
    v.va_name = s.name;
    v.accelerator = s.name.substr(s.name.rfind('-') + 1);
    v.cost_per_replica = s.cost;
    v.cost_source = s.cost ? "variantCost" : "accelerator " + v.accelerator + " not in accelerator-unitcost";
    v.current_replicas = s.current;
    v.ready_replicas = s.ready.value_or(s.current);
    v.pending_replicas = std::max(0, v.current_replicas - v.ready_replicas);
    v.previous_desired = s.desired;
    v.min_replicas = s.min;
    v.max_replicas = s.max;
    for (int i = 0; i < v.current_replicas; ++i) v.pods.push_back(s.name + "-" + std::to_string(i));
    for (std::size_t i = 0; i < s.pods.size(); ++i) {
      sdk::ReplicaMetrics r;
      r.pod = s.name + "-" + std::to_string(i);
      r.variant = s.name;
      r.kv_cache_usage = s.pods[i].kv;
      r.waiting = s.pods[i].q;
      r.running = 1;
      m.metrics.replicas.push_back(r);
    }
    m.variants.push_back(std::move(v));
  }
  return m;
}

inline int target_of(const sdk::Recommendation& rec, const std::string& variant) {
  const auto* t = rec.target_for(variant);
  return t ? t->replicas : -1;
}

}  // namespace wva::saturation::testing
