// One analysis of a model with 3 variants x 16 replicas (the figure in README.md).
#include <benchmark/benchmark.h>

#include <string>

#include "analysis.h"

namespace {

wva::sdk::ModelView model_3x16() {
  wva::sdk::ModelView m;
  m.key = {"llm", "meta/llama-3.1-70b"};
  m.metrics.state = wva::sdk::MetricsState::kOk;
  const char* names[] = {"llama-a100", "llama-h100", "llama-l40s"};
  const double costs[] = {40.0, 65.0, 23.0};
  for (int v = 0; v < 3; ++v) {
    wva::sdk::Variant var;
    var.name = names[v];
    var.cost_per_replica = costs[v];
    var.current_replicas = var.ready_replicas = 16;
    var.max_replicas = 64;
    for (int i = 0; i < 16; ++i) {
      wva::sdk::ReplicaMetrics r;
      r.pod = var.name + "-" + std::to_string(i);
      r.variant = var.name;
      r.kv_cache_usage = 0.55 + 0.02 * (i % 12);  // a few saturated at >= 0.80
      r.waiting = static_cast<double>(i % 4);
      r.running = 8;
      m.metrics.replicas.push_back(r);
      var.pods.push_back(r.pod);
    }
    m.variants.push_back(var);
  }
  return m;
}

void BM_AnalyzeCompatible_3x16(benchmark::State& state) {
  const auto m = model_3x16();
  const auto opt = wva::saturation::Options::compatible();
  for (auto _ : state) benchmark::DoNotOptimize(wva::saturation::analyze_model(m, {}, opt));
}
BENCHMARK(BM_AnalyzeCompatible_3x16);

void BM_AnalyzeImproved_3x16(benchmark::State& state) {
  const auto m = model_3x16();
  const auto opt = wva::saturation::Options::improved();
  for (auto _ : state) benchmark::DoNotOptimize(wva::saturation::analyze_model(m, {}, opt));
}
BENCHMARK(BM_AnalyzeImproved_3x16);

}  // namespace
