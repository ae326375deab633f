// Small ModelView builders for the scale-to-zero tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "wva/sdk/types.h"

namespace wva::scale_to_zero::testing {

struct VariantSpec {
  std::string name;
  std::optional<double> cost;
  int current = 1;
  int min_replicas = 0;
};

// pods: per variant `current` pods, each with `running` and `waiting` (nullopt: the series is absent).
inline sdk::ModelView make_model(const std::vector<VariantSpec>& specs, std::optional<double> running = 0.0,
                                 std::optional<double> waiting = 0.0,
                                 sdk::MetricsState state = sdk::MetricsState::kOk) {
  sdk::ModelView m;
  m.key = {"llm", "meta/llama"};
  m.va_name = "llama";
  m.metrics.state = state;
  for (const auto& s : specs) {
    sdk::Variant v;
    v.name = s.name;
    v.cost_per_replica = s.cost;
    v.current_replicas = s.current;
    v.ready_replicas = s.current;
    v.min_replicas = s.min_replicas;
    for (int i = 0; i < s.current; ++i) {
      v.pods.push_back(s.name + "-" + std::to_string(i));
      if (state == sdk::MetricsState::kOk || state == sdk::MetricsState::kStale)
        m.metrics.replicas.push_back({v.pods.back(), s.name, 0.1, waiting, running, std::nullopt, {}});
    }
    m.variants.push_back(std::move(v));
  }
  if (m.metrics.replicas.empty() && state == sdk::MetricsState::kOk) m.metrics.state = sdk::MetricsState::kNoData;
  return m;
}

inline std::optional<int> target_of(const sdk::Recommendation& r, const std::string& variant) {
  if (!r.has_opinion) return std::nullopt;
  const auto* t = r.target_for(variant);
  return t ? std::optional<int>(t->replicas) : std::nullopt;
}

inline sdk::Recommendation upstream(const std::vector<std::pair<std::string, int>>& targets) {
  sdk::Recommendation r;
  r.analyzer = "saturation";
  for (const auto& [v, n] : targets) r.targets.push_back({v, n, "upstream"});
  r.reason = "upstream reason";
  return r;
}

}  // namespace wva::scale_to_zero::testing
