// Parse and group the Prometheus responses of one cycle for N models x 3 variants x 4 replicas with the
// streaming parser straight into the Grouper (no copy of the series): the per-pod group and the load group
// summed per Deployment, as the source queries them. Budget (issue 6): under 20 ms of CPU for one signal
// of every pod at 1,000 models.
//   bench/bench_prometheus --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "capacity_cache.h"
#include "grouping.h"
#include "response_parser.h"
#include "route_index.h"

namespace {

using namespace wva::prometheus;

constexpr int kVariants = 3, kReplicas = 4;

std::vector<wva::sdk::ModelView> make_models(int count) {
  std::vector<wva::sdk::ModelView> models;
  models.reserve(static_cast<std::size_t>(count));
  for (int m = 0; m < count; ++m) {
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

// The `le` bounds of vLLM's histograms the source reads (a bucket signal), or nullptr.
const std::vector<const char*>* bucket_bounds(const std::string& signal) {
  static const std::vector<const char*> kPromptLe = {"1.0",     "2.0",     "5.0",     "10.0",     "20.0",     "50.0",
                                                     "100.0",   "200.0",   "500.0",   "1000.0",   "2000.0",   "5000.0",
                                                     "10000.0", "20000.0", "50000.0", "100000.0", "200000.0", "+Inf"};
  static const std::vector<const char*> kTpotLe = {"0.01", "0.025", "0.05", "0.075", "0.1",  "0.15", "0.2",
                                                   "0.3",  "0.4",   "0.5",  "0.75",  "1.0",  "2.5",  "5.0",
                                                   "7.5",  "10.0",  "20.0", "40.0",  "80.0", "+Inf"};
  if (signal == "promptTokensBucket") return &kPromptLe;
  if (signal == "requestTpotBucket") return &kTpotLe;
  return nullptr;
}

// A response in Prometheus's exact format: one series per pod and signal, or (per_deployment) one per
// Deployment and signal, labelled as the source's load query leaves them.
std::string make_body(const std::vector<wva::sdk::ModelView>& models, const std::vector<std::string>& signals,
                      bool per_deployment = false) {
  std::string body = R"({"status":"success","data":{"resultType":"vector","result":[)";
  bool first = true;
  int n = 0;
  for (const auto& sig : signals) {
    if (per_deployment && bucket_bounds(sig)) {
      // vLLM's buckets, one series per Deployment and bound, labels sorted as Prometheus does.
      for (const auto& m : models)
        for (const auto& v : m.variants) {
          double cumulative = 0;
          for (const char* le : *bucket_bounds(sig)) {
            cumulative += (n++ % 7) / 10.0;
            if (!first) body += ',';
            first = false;
            body += R"({"metric":{"le":")" + std::string(le) + R"(","model_name":")" + m.key.model_id +
                    R"(","namespace":")" + m.key.ns + R"(","wva_deployment":")" + v.name + R"(","wva_signal":")" + sig +
                    R"("},"value":[1795808585.05,")" + std::to_string(cumulative) + "\"]}";
          }
        }
      continue;
    }
    if (per_deployment) {
      for (const auto& m : models)
        for (const auto& v : m.variants) {
          if (!first) body += ',';
          first = false;
          body += R"({"metric":{"model_name":")" + m.key.model_id + R"(","namespace":")" + m.key.ns +
                  R"(","wva_deployment":")" + v.name + R"(","wva_signal":")" + sig + R"("},"value":[1795808585.05,")" +
                  std::to_string(1 + (n++ % 97) / 10.0) + "\"]}";
        }
      continue;
    }
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

struct Response {
  std::vector<std::string> signals;
  bool per_deployment = false;
};

// The KV capacities of every pod, read once as the source's cache keeps them between cycles.
CapacityCache capacity_cache_of(const std::vector<wva::sdk::ModelView>& models) {
  Grouper read(models, LabelNames{}, Millis(120000));
  read.begin();
  (void)parse_response_stream(make_body(models, {"kvCapacity"}), read);
  read.commit();
  CapacityCache cache;
  cache.replace(read.capacities(), wva::sdk::TimePoint{});
  return cache;
}

void run(benchmark::State& state, const std::vector<Response>& responses, bool cached_capacity = false) {
  const int count = static_cast<int>(state.range(0));
  const auto models = make_models(count);
  const CapacityCache cache = cached_capacity ? capacity_cache_of(models) : CapacityCache{};
  std::vector<std::string> bodies;
  std::size_t bytes = 0, series = 0;
  bool fits = false;  // the histogram and the means: a spread is fitted for every variant and model
  bool tpot = false;  // the time-per-output-token histogram: handed on for every variant and model
  for (const auto& r : responses) {
    for (const auto& sig : r.signals)
      fits = fits || (sig == "promptTokensBucket" &&
                      std::find(r.signals.begin(), r.signals.end(), "promptTokensCount") != r.signals.end());
    bodies.push_back(make_body(models, r.signals, r.per_deployment));
    bytes += bodies.back().size();
    for (const auto& sig : r.signals) {
      const std::size_t per_variant = !r.per_deployment    ? static_cast<std::size_t>(kReplicas)
                                      : bucket_bounds(sig) ? bucket_bounds(sig)->size()
                                                           : std::size_t{1};
      series += static_cast<std::size_t>(count * kVariants) * per_variant;
      tpot = tpot || sig == "requestTpotBucket";
    }
  }
  // One grouper for every cycle, as the source keeps it: the route index is built once (the views do not
  // change), each cycle starts with reset().
  Grouper g(models, LabelNames{}, Millis(120000));
  for (auto _ : state) {
    g.reset(models);
    if (cached_capacity) cache.feed(g);
    for (const auto& b : bodies) {
      g.begin();
      if (!parse_response_stream(b, g)) state.SkipWithError("parse failed");
      g.commit();
    }
    auto out = g.finish(wva::sdk::TimePoint{});
    if (out.size() != static_cast<std::size_t>(count) ||
        out.begin()->second.replicas.size() != static_cast<std::size_t>(kVariants * kReplicas))
      state.SkipWithError("wrong grouping");
    if (fits && (!out.begin()->second.load.prompt_tokens_cv ||
                 !out.begin()->second.load_by_variant.begin()->second.prompt_tokens_cv))
      state.SkipWithError("no spread fitted");
    if (tpot && (out.begin()->second.load.request_tpot_buckets.empty() ||
                 out.begin()->second.load_by_variant.begin()->second.request_tpot_buckets.empty()))
      state.SkipWithError("no time-per-output-token buckets");
    benchmark::DoNotOptimize(out);
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["peak_rss_MB"] = static_cast<double>(peak_rss_kb()) / 1024.0;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  // What the grouper holds between cycles (the route index) and in one (before finish()), and the cache.
  state.counters["grouper_MB_between_cycles"] = static_cast<double>(g.allocated_bytes()) / 1e6;
  g.reset(models);
  if (cached_capacity) cache.feed(g);
  for (const auto& b : bodies) {
    g.begin();
    (void)parse_response_stream(b, g);
    g.commit();
  }
  state.counters["grouper_MB_in_cycle"] = static_cast<double>(g.allocated_bytes()) / 1e6;
  (void)g.finish(wva::sdk::TimePoint{});
  state.counters["capacity_cache_MB"] = static_cast<double>(cache.allocated_bytes()) / 1e6;
}

// The reader alone (a handler that only counts), over the whole cycle's bodies: the parse's share.
struct CountingHandler : SampleHandler {
  std::size_t series = 0;
  void on_sample(const SampleView&) override { ++series; }
};
void run_parse_only(benchmark::State& state, const std::vector<Response>& responses) {
  const int count = static_cast<int>(state.range(0));
  const auto models = make_models(count);
  std::vector<std::string> bodies;
  std::size_t bytes = 0;
  for (const auto& r : responses) {
    bodies.push_back(make_body(models, r.signals, r.per_deployment));
    bytes += bodies.back().size();
  }
  for (auto _ : state) {
    CountingHandler h;
    for (const auto& b : bodies)
      if (!parse_response_stream(b, h)) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(h.series);
  }
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

// The per-pod group as every cycle read it before: sampleTime for every pod, KV capacity every cycle.
const std::vector<std::string> kReplicaSignals = {"kvCacheUsage", "waiting", "running", "sampleTime", "kvCapacity"};
// The per-pod group of a steady cycle now: sampleTime only for stale pods (none), KV capacity from the cache.
const std::vector<std::string> kSteadyReplicaSignals = {"kvCacheUsage", "waiting", "running"};
const std::vector<std::string> kLoadSignals = {"completions",       "queueGrowth",         "promptTokensSum",
                                               "promptTokensCount", "generationTokensSum", "generationTokensCount",
                                               "ttftSum",           "ttftCount",           "itlSum",
                                               "itlCount"};

// One signal (e.g. KV-cache use) for every pod: the budget case.
void BM_ParseGroup_OneSignal(benchmark::State& state) { run(state, {{{"kvCacheUsage"}}}); }
// The per-pod query: KV, waiting, running, sample time, KV capacity.
void BM_ParseGroup_ReplicaGroup(benchmark::State& state) { run(state, {{kReplicaSignals}}); }
// A whole cycle: the per-pod group plus the load group summed per Deployment (10 rate signals).
void BM_ParseGroup_FullCycle(benchmark::State& state) {
  run(state, {{kReplicaSignals}, {kLoadSignals, /*per_deployment=*/true}});
}
// A steady cycle now: the per-pod group without sampleTime (no stale pod) and KV capacity from the cache,
// plus the load group.
void BM_ParseGroup_SteadyCycle(benchmark::State& state) {
  run(state, {{kSteadyReplicaSignals}, {kLoadSignals, /*per_deployment=*/true}}, /*cached_capacity=*/true);
}
// The same with the prompt-length histogram (promptTokensBucket: 18 series per Deployment) in the load group,
// and each variant's and model's spread fitted to the buckets.
void BM_ParseGroup_SteadyCycleWithBuckets(benchmark::State& state) {
  std::vector<std::string> load = kLoadSignals;
  load.push_back("promptTokensBucket");
  run(state, {{kSteadyReplicaSignals}, {load, /*per_deployment=*/true}}, /*cached_capacity=*/true);
}
// The same histogram without the prompt token sums and counts: no mean, no fit; the read and grouping alone.
void BM_ParseGroup_SteadyCycleWithBucketsNoFit(benchmark::State& state) {
  std::vector<std::string> load;
  for (const auto& s : kLoadSignals)
    if (s != "promptTokensSum" && s != "promptTokensCount") load.push_back(s);
  load.push_back("promptTokensBucket");
  run(state, {{kSteadyReplicaSignals}, {load, /*per_deployment=*/true}}, /*cached_capacity=*/true);
}
// A steady cycle with the time-per-output-token histogram (requestTpotBucket: 20 series per Deployment),
// read every cycle and handed on as it is (no fit): what the ITL-tail calibration costs the source.
void BM_ParseGroup_SteadyCycleWithTpotBuckets(benchmark::State& state) {
  std::vector<std::string> load = kLoadSignals;
  load.push_back("requestTpotBucket");
  run(state, {{kSteadyReplicaSignals}, {load, /*per_deployment=*/true}}, /*cached_capacity=*/true);
}
// The same bodies through the reader alone.
void BM_ParseOnly_FullCycle(benchmark::State& state) {
  run_parse_only(state, {{kReplicaSignals}, {kLoadSignals, /*per_deployment=*/true}});
}
// The load group as it was before (per pod), for comparison.
void BM_ParseGroup_FullCycleLoadPerPod(benchmark::State& state) { run(state, {{kReplicaSignals}, {kLoadSignals}}); }

// The route index: built (the first cycle, and whenever a routing name changes, e.g. a pod added), and the
// check of every cycle that the views did not change.
void BM_RouteIndex_Build(benchmark::State& state) {
  const auto models = make_models(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    RouteIndex index;
    benchmark::DoNotOptimize(index.update(models));
  }
}
void BM_RouteIndex_UnchangedViews(benchmark::State& state) {
  const auto models = make_models(static_cast<int>(state.range(0)));
  RouteIndex index;
  index.update(models);
  for (auto _ : state)
    if (index.update(models)) state.SkipWithError("rebuilt for unchanged views");
}

BENCHMARK(BM_RouteIndex_Build)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RouteIndex_UnchangedViews)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_OneSignal)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_ReplicaGroup)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_FullCycle)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_SteadyCycle)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_SteadyCycleWithBuckets)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_SteadyCycleWithBucketsNoFit)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_SteadyCycleWithTpotBuckets)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseOnly_FullCycle)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseGroup_FullCycleLoadPerPod)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
