// Parse and group the Prometheus responses of one cycle for 1,000 models x 3 variants x 4 replicas
// (12,000 pods). Budget (issue 6): under 20 ms of CPU for one response of that size.
//   bench/bench_prometheus --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <vector>

#include "grouping.h"
#include "response_parser.h"

namespace {

using namespace wva::prometheus;

constexpr int kModels = 1000, kVariants = 3, kReplicas = 4;

std::vector<wva::sdk::ModelView> make_models() {
  std::vector<wva::sdk::ModelView> models;
  models.reserve(kModels);
  for (int m = 0; m < kModels; ++m) {
    wva::sdk::ModelView v;
    v.key = {"tenant-" + std::to_string(m % 50), "org/model-" + std::to_string(m)};
    for (const char* acc : {"a100", "h100", "l40s"}) {
      wva::sdk::Variant var;
      var.name = "model-" + std::to_string(m) + "-" + acc;
      for (int r = 0; r < kReplicas; ++r) var.pods.push_back(var.name + "-" + std::to_string(r));
      v.variants.push_back(std::move(var));
    }
    models.push_back(std::move(v));
  }
  return models;
}

// A response in Prometheus's exact format, one series per pod and signal.
std::string make_body(const std::vector<wva::sdk::ModelView>& models, const std::vector<std::string>& signals) {
  std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)";
  bool first = true;
  int n = 0;
  for (const auto& sig : signals) {
    for (const auto& m : models) {
      for (const auto& v : m.variants) {
        for (const auto& pod : v.pods) {
          if (!first) body += ',';
          first = false;
          const std::string value = sig == "sampleTime" ? "1795808584.012" : std::to_string((n++ % 97) / 100.0);
          if (sig == "kvCapacity") {
            body += R"({"metric":{"block_size":"16","namespace":")" + m.key.ns +
                    R"(","num_gpu_blocks":"2048","pod":")" + pod +
                    R"(","wva_signal":"kvCapacity"},"value":[1795808585.05,"1"]})";
          } else {
            body += R"({"metric":{"model_name":")" + m.key.model_id + R"(","namespace":")" + m.key.ns + R"(","pod":")" +
                    pod + R"(","wva_signal":")" + sig + R"("},"value":[1795808585.05,")" + value + "\"]}";
          }
        }
      }
    }
  }
  body += "]}}";
  return body;
}

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

void run(benchmark::State& state, const std::vector<std::vector<std::string>>& responses) {
  const auto models = make_models();
  std::vector<std::string> bodies;
  std::size_t bytes = 0, series = 0;
  for (const auto& signals : responses) {
    bodies.push_back(make_body(models, signals));
    bytes += bodies.back().size();
    series += signals.size() * kModels * kVariants * kReplicas;
  }
  for (auto _ : state) {
    std::vector<QueryResponse> parsed;
    parsed.reserve(bodies.size());
    for (const auto& b : bodies) parsed.push_back(*parse_response(b));
    Grouper g(models, LabelNames{}, Millis(120000));
    for (const auto& p : parsed) g.add(p);
    auto out = g.finish(wva::sdk::TimePoint{});
    if (out.size() != static_cast<std::size_t>(kModels) ||
        out.begin()->second.replicas.size() != static_cast<std::size_t>(kVariants * kReplicas))
      state.SkipWithError("wrong grouping");
    benchmark::DoNotOptimize(out);
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["peak_rss_MB"] = static_cast<double>(peak_rss_kb()) / 1024.0;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

// One signal (e.g. KV-cache use) for every pod: the budget case.
void BM_ParseGroup_OneSignal(benchmark::State& state) { run(state, {{"kvCacheUsage"}}); }
// The batched saturation query: KV, waiting, running, sample time, KV capacity.
void BM_ParseGroup_SaturationBatch(benchmark::State& state) {
  run(state, {{"kvCacheUsage", "waiting", "running", "sampleTime", "kvCapacity"}});
}
// A whole cycle: the saturation batch plus the load batch (10 rate signals).
void BM_ParseGroup_FullCycle(benchmark::State& state) {
  run(state, {{"kvCacheUsage", "waiting", "running", "sampleTime", "kvCapacity"},
              {"completions", "queueGrowth", "promptTokensSum", "promptTokensCount", "generationTokensSum",
               "generationTokensCount", "ttftSum", "ttftCount", "itlSum", "itlCount"}});
}

BENCHMARK(BM_ParseGroup_OneSignal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_SaturationBatch)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_FullCycle)->Unit(benchmark::kMillisecond);

}  // namespace
