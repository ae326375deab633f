// Sizing one variant (max batch 256): build the M/M/1/K model and find the max rate per replica under a
// TTFT and an ITL SLO by bisection. Budget: under 1 ms. Also: a whole model (two variants) analysed.
#include <benchmark/benchmark.h>

#include "analyzer.h"
#include "queue_model.h"

namespace {

using namespace wva::queueing;

// Llama-3.1-8B on H100 (data/profiles), 128 in / 512 out tokens: alpha = decode base,
// beta = per_seq + per_kv_token * (in + out / 2).
ServiceParams h100() { return ServiceParams{7.3950, 0.0117 + 4.22e-5 * 384, 6.67, 0.02955, 256, 128, 512, 10}; }

void BM_SizeOneVariantBatch256(benchmark::State& state) {
  const SloTargets slo{1000.0, 10.0, std::nullopt};
  for (auto _ : state) {
    auto model = QueueModel::make(h100());
    auto r = max_rate(*model, slo);
    benchmark::DoNotOptimize(r.rate);
  }
}
BENCHMARK(BM_SizeOneVariantBatch256)->Unit(benchmark::kMicrosecond);

void BM_QueueModelAtOneRate(benchmark::State& state) {
  auto model = QueueModel::make(h100());
  const double lambda = 0.9 * model->lambda_max();
  for (auto _ : state) benchmark::DoNotOptimize(model->at(lambda).ttft_ms);
}
BENCHMARK(BM_QueueModelAtOneRate)->Unit(benchmark::kMicrosecond);

void BM_AnalyzeModelTwoVariants(benchmark::State& state) {
  wva::sdk::ModelView m;
  m.key = {"default", "meta/llama-3.1-8b"};
  for (auto [name, acc, cost, alpha, beta, gamma, delta] :
       {std::tuple{"h100", "H100", 1.0, 7.395, 0.0117 + 4.22e-5 * 384, 6.67, 0.02955},
        std::tuple{"h200", "H200", 1.3, 5.857, 0.0143 + 3.05e-5 * 384, 7.08, 0.02881}}) {
    wva::sdk::Variant v;
    v.name = name;
    v.accelerator = acc;
    v.cost_per_replica = cost;
    v.current_replicas = 2;
    v.profile = wva::sdk::PerformanceProfile{alpha, beta, gamma, delta, 256, std::nullopt};
    m.variants.push_back(v);
  }
  wva::sdk::Slo slo;
  slo.ttft_ms = 1000;
  slo.itl_ms = 10;
  m.slo = slo;
  m.metrics.state = wva::sdk::MetricsState::kOk;
  m.metrics.load.arrival_rate = 110;
  m.metrics.load.avg_input_tokens = 128;
  m.metrics.load.avg_output_tokens = 512;
  const Snapshot snapshot;
  const Settings settings;
  for (auto _ : state) benchmark::DoNotOptimize(analyze_model(m, snapshot, settings).targets.size());
}
BENCHMARK(BM_AnalyzeModelTwoVariants)->Unit(benchmark::kMicrosecond);

}  // namespace
