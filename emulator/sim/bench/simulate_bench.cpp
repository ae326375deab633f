// One hour of the Azure conversation trace at 20x (~390,000 requests) through a fleet of Llama-3.1-8B H100
// replicas sized for it (a fixed fleet, no autoscaler), on one core. Reports the wall time per simulated hour.
#include <benchmark/benchmark.h>

#include <memory>

#include "settings.h"
#include "world.h"

namespace {

wva::emulator::WorldConfig conv_x20(int replicas) {
  using namespace wva::emulator;
  auto trace = load_trace(WVA_DATA_DIR "/traces/azure-llm-2023-conv.csv");
  if (!trace.ok()) throw std::runtime_error(trace.error().to_string());
  auto shared = std::make_shared<const Trace>(std::move(trace.value()));
  WorldConfig cfg;
  VariantSpec v;
  v.name = "llama-h100";
  v.model = "meta/llama-3.1-8b";
  v.engine.profile = *find_profile(builtin_profiles(), "llama-3.1-8b/H100");
  v.initial_replicas = replicas;
  cfg.variants.push_back(v);
  cfg.hpa_enabled = false;
  WorkloadSpec w;
  w.model = v.model;
  TraceOptions o;
  o.speedup = 20;
  o.loop = true;
  w.make_stream = [shared, o] { return make_trace_stream(shared, o); };
  cfg.workloads.push_back(w);
  return cfg;
}

void BM_ConvX20OneHour(benchmark::State& state) {
  const auto cfg = conv_x20(static_cast<int>(state.range(0)));
  std::uint64_t requests = 0, steps = 0;
  for (auto _ : state) {
    wva::emulator::World world(cfg);
    world.advance_to(3600);
    const auto s = world.summary();
    requests = s.models[0].requests;
    steps = world.steps();
    benchmark::DoNotOptimize(s);
  }
  state.counters["requests"] = static_cast<double>(requests);
  state.counters["steps"] = static_cast<double>(steps);
}
BENCHMARK(BM_ConvX20OneHour)->Arg(6)->Arg(12)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
