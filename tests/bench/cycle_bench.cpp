// The host side of one cycle at fleet scale (docs/architecture.md section 8): N models x 3 variants x 4 replicas.
//   BM_BuildModels : cluster cache -> ModelViews (VAs, Deployments, pods, costs), a full build
//   BM_SinglePodChange: one pod more or less (its Deployment scaled by one) -> the model views updated for the
//                    objects that changed (ModelViews::update), as the host does on a revision change
//   BM_Cycle       : one batched collect (pre-parsed metrics, the source's own parse is benchmarked in
//                    plugins/sources/prometheus/bench) + saturation on the worker pool + combine +
//                    the metrics sink's publish into the registry.
// Process CPU time is reported (the worker pool's threads included).
#include <benchmark/benchmark.h>

#include <spdlog/sinks/null_sink.h>

#include "first_plugin.h"
#include "host/clock.h"
#include "host/cycle.h"
#include "host/metrics_registry.h"
#include "host/plugin_set.h"
#include "metrics_plugin.h"
#include "model/model_builder.h"
#include "saturation_plugin.h"
#include "wva/sdk/util/memory_cluster.h"

namespace {

using namespace wva;

constexpr int kVariants = 3;
constexpr int kReplicas = 4;
const char* kAccelerators[kVariants] = {"H100", "A100", "L40S"};

void fill_cluster(sdk::InMemoryCluster& cluster, int models) {
  const std::string sys = cluster.system_namespace();
  (void)cluster.put({{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", {{"name", "accelerator-unitcost"}, {"namespace", sys}}},
                     {"data", {{"costs", "H100: 50\nA100: 30\nL40S: 15\n"}}}});
  for (int m = 0; m < models; ++m) {
    const std::string ns = "ns-" + std::to_string(m % 50);
    const std::string model = "org/model-" + std::to_string(m);
    const std::string label = "org.model-" + std::to_string(m);
    for (int v = 0; v < kVariants; ++v) {
      const std::string name = "model-" + std::to_string(m) + "-" + kAccelerators[v];
      nlohmann::json d = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}};
      d["metadata"] = {{"name", name}, {"namespace", ns}, {"labels", {{"llmd.ai/model", label}}}};
      d["spec"]["replicas"] = kReplicas;
      d["spec"]["template"]["spec"]["nodeSelector"] = {{"nvidia.com/gpu.product", kAccelerators[v]}};
      d["spec"]["template"]["spec"]["containers"] = nlohmann::json::array({{{"name", "vllm"}}});
      d["status"] = {{"replicas", kReplicas}, {"readyReplicas", kReplicas}};
      (void)cluster.put(d);
    }
    (void)cluster.put({{"apiVersion", "llmd.ai/v1alpha1"},
                       {"kind", "VariantAutoscaling"},
                       {"metadata", {{"name", "model-" + std::to_string(m)}, {"namespace", ns}}},
                       {"spec", {{"modelID", model}}}});
  }
}

std::map<sdk::ModelKey, sdk::ModelMetrics> metrics_for(const std::vector<sdk::ModelView>& models) {
  std::map<sdk::ModelKey, sdk::ModelMetrics> out;
  int i = 0;
  for (const auto& m : models) {
    sdk::ModelMetrics mm;
    mm.state = sdk::MetricsState::kOk;
    for (const auto& v : m.variants)
      for (const auto& pod : v.pods)
        mm.replicas.push_back({pod, v.name, 0.3 + 0.1 * (i++ % 6), double(i % 4), 8.0, std::nullopt, {}});
    out[m.key] = std::move(mm);
  }
  return out;
}

class PreparedSource : public sdk::Plugin, public sdk::Source {
 public:
  explicit PreparedSource(std::map<sdk::ModelKey, sdk::ModelMetrics> m) : metrics_(std::move(m)) {}
  sdk::Result<void> configure(const sdk::Config&, const std::string&) override { return sdk::ok(); }
  sdk::Result<void> start(sdk::PluginContext&) override { return sdk::ok(); }
  void stop() noexcept override {}
  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collect(std::span<const sdk::ModelView>,
                                                                  sdk::Deadline) override {
    return metrics_;  // a copy, as a parse would produce fresh maps
  }

 private:
  std::map<sdk::ModelKey, sdk::ModelMetrics> metrics_;
};

void BM_BuildModels(benchmark::State& state) {
  sdk::InMemoryCluster cluster("wva-system");
  fill_cluster(cluster, static_cast<int>(state.range(0)));
  framework::ViewBackend backend(cluster);
  for (auto _ : state) {
    framework::ModelViews views;
    auto built = views.rebuild(backend);
    benchmark::DoNotOptimize(built);
  }
  state.counters["models"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_BuildModels)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

void BM_SinglePodChange(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  sdk::InMemoryCluster cluster("wva-system");
  fill_cluster(cluster, n);
  framework::ViewBackend backend(cluster);
  framework::ModelViews views;
  if (!views.rebuild(backend).ok()) {
    state.SkipWithError("build failed");
    return;
  }
  int step = 0;
  std::size_t built = 0;
  for (auto _ : state) {
    // A different model each time: its H100 variant gains a fifth pod, or loses it again.
    state.PauseTiming();
    const int m = (step / 2 * 7919) % n;
    const std::string ns = "ns-" + std::to_string(m % 50), name = "model-" + std::to_string(m) + "-H100";
    const int replicas = step % 2 == 0 ? kReplicas + 1 : kReplicas;
    (void)cluster.scale(ns, name, replicas);
    ++step;
    const std::vector<framework::ObjectRef> changed = {{"Deployment", ns, name},
                                                       {"Pod", ns, name + "-" + std::to_string(kReplicas)}};
    state.ResumeTiming();
    auto r = views.update(backend, changed);
    benchmark::DoNotOptimize(r);
    built += views.last_built();
  }
  state.counters["models"] = static_cast<double>(n);
  state.counters["models_built_per_change"] = static_cast<double>(built) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SinglePodChange)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond)->MeasureProcessCPUTime();

void BM_Cycle(benchmark::State& state) {
  sdk::InMemoryCluster cluster("wva-system");
  fill_cluster(cluster, static_cast<int>(state.range(0)));
  auto built = framework::build_models(cluster);
  if (!built.ok()) {
    state.SkipWithError(built.error().message.c_str());
    return;
  }
  const auto models = built.value().models;
  PreparedSource source(metrics_for(models));

  framework::MetricsRegistryImpl registry;
  framework::WallClock clock;
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  framework::HostServices services{log, &clock, &cluster, &registry};
  framework::InstanceContext sat_ctx(services, "saturation"), metrics_ctx(services, "metrics");
  saturation::SaturationAnalyzer saturation;
  plugins::metrics::MetricsSink sink;
  // Configured as the host does: the settings validated and defaulted first.
  auto configure = [](sdk::Plugin& p, const nlohmann::json& settings, const std::string& path) {
    auto prepared = sdk::prepare_settings(p, settings, path);
    return prepared.ok() && p.configure(prepared.values, path).ok();
  };
  if (!configure(saturation, nlohmann::json::object(), "analyzers.saturation") || !saturation.start(sat_ctx).ok() ||
      !configure(sink, {{"listen", "0"}}, "sinks.metrics") || !sink.start(metrics_ctx).ok()) {
    state.SkipWithError("plugin setup failed");
    return;
  }
  framework::PipelineRuntime rt;
  rt.config.name = "bench";
  rt.source = {"src", &source};
  rt.analyzers = {{"saturation", &saturation}};
  rt.sinks = {{"metrics", &sink}};
  combiners::first::FirstCombiner combiner;
  rt.combiner = {"first", &combiner};
  framework::WorkerPool pool(2);
  framework::DecisionMemory memory;
  framework::SpdLogger logger(log, "");
  framework::CycleServices cs{&pool, &memory, &clock, &logger, &registry, std::chrono::seconds(10)};
  for (auto _ : state) {
    auto outcome = framework::run_cycle(rt, models, {}, cs);
    benchmark::DoNotOptimize(outcome);
  }
  sink.stop();
  saturation.stop();
  state.counters["models"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Cycle)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace
