// Builders shared by the queueing tests.
#pragma once

#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "wva/sdk/types.h"

namespace wva::queueing::test {

inline sdk::PerformanceProfile sample_profile() {  // docs/upstream.md section 6.4
  sdk::PerformanceProfile p;
  p.alpha = 20.58;
  p.beta = 0.41;
  p.gamma = 5.2;
  p.delta = 0.1;
  p.max_batch = 4;
  return p;
}

inline sdk::Variant variant(std::string name, std::string acc, std::optional<double> cost, int current,
                            std::optional<sdk::PerformanceProfile> profile) {
  sdk::Variant v;
  v.name = std::move(name);
  v.va_name = v.name;
  v.accelerator = std::move(acc);
  v.cost_per_replica = cost;
  v.cost_source = cost ? "accelerator-unitcost" : "no cost for this accelerator";
  v.current_replicas = current;
  v.ready_replicas = current;
  v.min_replicas = 1;
  v.profile = std::move(profile);
  return v;
}

inline sdk::Slo slo(std::optional<double> ttft, std::optional<double> itl, int priority = 1) {
  sdk::Slo s;
  s.service_class = "Premium";
  s.priority = priority;
  s.ttft_ms = ttft;
  s.itl_ms = itl;
  return s;
}

inline sdk::Load load(double rate, double in, double out) {
  sdk::Load l;
  l.arrival_rate = rate;
  l.avg_input_tokens = in;
  l.avg_output_tokens = out;
  return l;
}

inline sdk::ModelView model(std::string id, std::vector<sdk::Variant> variants, std::optional<sdk::Slo> s) {
  sdk::ModelView m;
  m.key = sdk::ModelKey{"default", std::move(id)};
  m.va_name = variants.empty() ? "" : variants.front().va_name;
  m.variants = std::move(variants);
  m.slo = std::move(s);
  m.metrics.state = sdk::MetricsState::kOk;
  return m;
}

// The measured Llama-3.1-8B profile of `acc` from data/profiles/profiles.json, converted to the
// queueing model's parameters for a request mix (README "Measured profiles"):
//   alpha = decode base, beta = per_seq + per_kv_token * (in + out / 2), gamma/delta = the prefill fit.
inline std::optional<sdk::PerformanceProfile> measured_profile(const std::string& model_name, const std::string& acc,
                                                               double in, double out, int max_batch) {
  std::ifstream f(WVA_DATA_DIR "/profiles/profiles.json");
  if (!f) return std::nullopt;
  const auto doc = nlohmann::json::parse(f);
  for (const auto& p : doc["profiles"]) {
    if (p["model"] != model_name || p["accelerator"] != acc) continue;
    sdk::PerformanceProfile out_p;
    const auto& d = p["decode_step_ms"];
    out_p.alpha = d["base"].get<double>();
    out_p.beta = d["per_seq"].get<double>() + d["per_kv_token"].get<double>() * (in + out / 2.0);
    out_p.gamma = p["prefill_ms"]["gamma"].get<double>();
    out_p.delta = p["prefill_ms"]["delta_per_token"].get<double>();
    out_p.max_batch = max_batch;
    out_p.kv_capacity_tokens = p["kv_capacity_tokens_at_util_0_9"].get<double>();
    return out_p;
  }
  return std::nullopt;
}

}  // namespace wva::queueing::test
