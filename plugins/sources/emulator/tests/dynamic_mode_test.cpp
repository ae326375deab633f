// The plugin in dynamic mode: configuration errors, metrics of a simulated fleet, and the closed loop
// (source -> a simple policy -> sink -> HPA model -> Deployment -> fleet).
#include <gtest/gtest.h>

#include <cmath>

#include "emulator_plugin.h"
#include "settings.h"
#include "wva/sdk/testing/fakes.h"
#include "wva/sdk/util/histogram.h"

namespace wva::emulator {
namespace {

using nlohmann::json;

json deployment(const std::string& name, int replicas) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", "llm"}}},
          {"spec", {{"replicas", replicas}}}};
}

sdk::ModelView model_view(sdk::ClusterView& cluster) {
  sdk::ModelView m;
  m.key = {"llm", "meta/llama-3.1-8b"};
  sdk::Variant v;
  v.name = "llama-h100";
  auto dep = cluster.get("Deployment", "llm", "llama-h100");
  if (dep.ok() && *dep) v.current_replicas = (**dep)["spec"]["replicas"].get<int>();
  m.variants.push_back(v);
  return m;
}

json step_config() {
  return json::parse(R"({
    "variants": {"llama-h100": {"namespace": "llm", "model": "meta/llama-3.1-8b", "profile": "llama-3.1-8b/H100",
                                "replicas": 1, "startupDelay": "60s", "minReplicas": 1, "maxReplicas": 10}},
    "workloads": [{"namespace": "llm", "model": "meta/llama-3.1-8b",
                   "rate": {"steps": [{"at": "0s", "rate": 2}, {"at": "2m", "rate": 20}, {"at": "12m", "rate": 0}]},
                   "inputTokens": 2000, "outputTokens": 200, "seed": 3}]
  })");
}

TEST(DynamicMode, ReportsSimulatedPodsAndArrivalRate) {
  EmulatorPlugin plugin;
  auto cfg = step_config();
  ASSERT_TRUE(plugin.configure(cfg, "sources.emulator").ok());
  sdk::testing::FakeContext ctx("emulator");
  ASSERT_TRUE(ctx.fake_cluster().put(deployment("llama-h100", 2)).ok());
  ASSERT_TRUE(plugin.start(ctx).ok());
  ctx.fake_clock().advance(std::chrono::seconds(120));
  std::vector<sdk::ModelView> models{model_view(ctx.cluster())};
  auto r = plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto& m = r->at(models[0].key);
  EXPECT_EQ(m.state, sdk::MetricsState::kOk);
  ASSERT_EQ(m.replicas.size(), 2u) << "the existing Deployment's 2 replicas start warm";
  EXPECT_EQ(m.replicas[0].pod, "llama-h100-0");
  EXPECT_EQ(m.replicas[1].pod, "llama-h100-1");
  for (const auto& p : m.replicas) {
    ASSERT_TRUE(p.kv_cache_usage && p.waiting && p.running);
    EXPECT_GE(*p.kv_cache_usage, 0);
    EXPECT_LE(*p.kv_cache_usage, 1);
    EXPECT_DOUBLE_EQ(*p.kv_capacity_tokens, 469252);
  }
  // 2 req/s Poisson over the last 60 s.
  ASSERT_TRUE(m.load_by_variant.at("llama-h100").arrival_rate);
  EXPECT_NEAR(*m.load.arrival_rate, 2.0, 0.8);
  EXPECT_NEAR(*m.load.avg_input_tokens, 2000, 1e-9);
  EXPECT_NEAR(*m.load.avg_output_tokens, 200, 1e-9);
  ASSERT_TRUE(m.load.ttft_ms && m.load.itl_ms);
  EXPECT_GT(*m.load.ttft_ms, 60);  // prefill of 2000 tokens is ~66 ms on H100
  EXPECT_LT(*m.load.itl_ms, 15);
  // The Deployment's status follows the fleet.
  auto dep = ctx.cluster().get("Deployment", "llm", "llama-h100");
  EXPECT_EQ((**dep)["status"]["readyReplicas"], 2);

  sdk::ModelView other;
  other.key = {"llm", "other"};
  sdk::Variant ov;
  ov.name = "other-a100";
  other.variants.push_back(ov);
  std::vector<sdk::ModelView> both{models[0], other};
  auto r2 = plugin.collect(both, sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->at(other.key).state, sdk::MetricsState::kNoData);
  EXPECT_NE(r2->at(other.key).message.find("llama-h100"), std::string::npos);
}

// The model served by the two variants a-h100 and b-h200, `replicas` each.
sdk::ModelView two_variants(int replicas) {
  sdk::ModelView m;
  m.key = {"llm", "meta/llama-3.1-8b"};
  for (const char* name : {"a-h100", "b-h200"}) {
    sdk::Variant v;
    v.name = name;
    v.current_replicas = replicas;
    m.variants.push_back(v);
  }
  return m;
}

// Their Deployments at `replicas` each, the plugin started and the clock advanced by `run`.
void start_two_variants(EmulatorPlugin& plugin, sdk::testing::FakeContext& ctx, int replicas,
                        std::chrono::seconds run) {
  ASSERT_TRUE(ctx.fake_cluster().put(deployment("a-h100", replicas)).ok());
  ASSERT_TRUE(ctx.fake_cluster().put(deployment("b-h200", replicas)).ok());
  ASSERT_TRUE(plugin.start(ctx).ok());
  ctx.fake_clock().advance(run);
}

TEST(DynamicMode, PromptSpreadIsFittedToTheWindowsPromptBuckets) {
  // Two variants serving prompts of mean 8000 tokens and CV 0.375 (lognormal): each variant's spread and
  // the model's (its variants' buckets pooled) are read from vLLM's 1-2-5 buckets, as the prometheus
  // source reads the real histogram; a log-uniform reading of the same buckets would say 0.59.
  EmulatorPlugin plugin;
  auto cfg = json::parse(R"({
    "variants": {"a-h100": {"namespace": "llm", "model": "meta/llama-3.1-8b", "profile": "llama-3.1-8b/H100"},
                 "b-h200": {"namespace": "llm", "model": "meta/llama-3.1-8b", "profile": "llama-3.1-8b/H200"}},
    "workloads": [{"namespace": "llm", "model": "meta/llama-3.1-8b", "rate": {"constant": 6},
                   "inputTokens": {"lognormal": {"mean": 8000, "stddev": 3000}, "max": 30000},
                   "outputTokens": 100, "seed": 9}],
    "loadWindow": "5m"
  })");
  {
    auto c = plugin.configure(cfg, "sources.emulator");
    ASSERT_TRUE(c.ok()) << c.error().to_string();
  }
  sdk::testing::FakeContext ctx("emulator");
  start_two_variants(plugin, ctx, 2, std::chrono::seconds(330));
  const sdk::ModelView m = two_variants(2);
  std::vector<sdk::ModelView> models{m};
  auto r = plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto& got = r->at(m.key);
  for (const char* name : {"a-h100", "b-h200"}) {
    const auto& l = got.load_by_variant.at(name);
    ASSERT_TRUE(l.prompt_tokens_cv) << name;
    EXPECT_NEAR(*l.prompt_tokens_cv, 0.375, 0.06) << name;
  }
  ASSERT_TRUE(got.load.prompt_tokens_cv);
  EXPECT_NEAR(*got.load.prompt_tokens_cv, 0.375, 0.05);

  // Prompts of one length: nearly no spread (not the 0.375 above, and never read as "unknown").
  EmulatorPlugin fixed;
  cfg["workloads"][0]["inputTokens"] = 3000;
  ASSERT_TRUE(fixed.configure(cfg, "sources.emulator").ok());
  sdk::testing::FakeContext ctx2("emulator");
  start_two_variants(fixed, ctx2, 2, std::chrono::seconds(330));
  auto r2 = fixed.collect(models, sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE(r2->at(m.key).load.prompt_tokens_cv);
  EXPECT_LT(*r2->at(m.key).load.prompt_tokens_cv, 0.1);
}

TEST(DynamicMode, RequestsTimePerOutputTokenIsReportedAsVllmsHistogramPerVariantAndSummedForTheModel) {
  // What an ITL SLO is judged on (Load::request_tpot_buckets): each variant's completions by their mean time
  // per output token, in vLLM's buckets as rates over the window; the model's are its variants' summed.
  EmulatorPlugin plugin;
  auto cfg = json::parse(R"({
    "variants": {"a-h100": {"namespace": "llm", "model": "meta/llama-3.1-8b", "profile": "llama-3.1-8b/H100"},
                 "b-h200": {"namespace": "llm", "model": "meta/llama-3.1-8b", "profile": "llama-3.1-8b/H200"}},
    "workloads": [{"namespace": "llm", "model": "meta/llama-3.1-8b", "rate": {"constant": 8},
                   "inputTokens": 4000, "outputTokens": 100, "seed": 5}],
    "loadWindow": "2m"
  })");
  ASSERT_TRUE(plugin.configure(cfg, "sources.emulator").ok());
  sdk::testing::FakeContext ctx("emulator");
  start_two_variants(plugin, ctx, 1, std::chrono::seconds(300));
  const sdk::ModelView m = two_variants(1);
  std::vector<sdk::ModelView> models{m};
  auto r = plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto& got = r->at(m.key);
  const auto& a = got.load_by_variant.at("a-h100").request_tpot_buckets;
  const auto& b = got.load_by_variant.at("b-h200").request_tpot_buckets;
  const auto& model = got.load.request_tpot_buckets;
  ASSERT_EQ(a.size(), 20u);  // vLLM's 19 bounds and +Inf
  ASSERT_EQ(b.size(), a.size());
  ASSERT_EQ(model.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(model[i].upper_bound, a[i].upper_bound);
    EXPECT_DOUBLE_EQ(model[i].count, a[i].count + b[i].count) << "bucket " << i;
    if (i > 0) {
      EXPECT_GE(a[i].count, a[i - 1].count) << "cumulative";
    }
  }
  // About 4 req/s completed on each variant (the window's rate, not a count).
  EXPECT_NEAR(a.back().count, 4, 1.5);
  EXPECT_NEAR(model.back().count, 8, 2);
  // The H100 (slower steps, every 4000-token prefill a larger share of them) misses more than the H200.
  const auto over_a = sdk::util::fraction_above(a, 0.02), over_b = sdk::util::fraction_above(b, 0.02);
  ASSERT_TRUE(over_a && over_b);
  EXPECT_GT(over_a->fraction(), over_b->fraction());
}

TEST(DynamicMode, ArrivalRateCountsRequestsStillQueued) {
  // One replica far over capacity: completions lag arrivals, but the reported rate is the arrival rate.
  EmulatorPlugin plugin;
  auto cfg = json::parse(R"({
    "variants": {"llama-h100": {"namespace": "llm", "model": "meta/llama-3.1-8b", "profile": "llama-3.1-8b/H100",
                                "maxNumSeqs": 8}},
    "workloads": [{"namespace": "llm", "model": "meta/llama-3.1-8b", "rate": {"constant": 40},
                   "inputTokens": 1000, "outputTokens": 500}],
    "hpa": {"enabled": false}
  })");
  ASSERT_TRUE(plugin.configure(cfg, "sources.emulator").ok());
  sdk::testing::FakeContext ctx("emulator");
  ASSERT_TRUE(plugin.start(ctx).ok());
  ctx.fake_clock().advance(std::chrono::seconds(180));
  std::vector<sdk::ModelView> models{model_view(ctx.cluster())};
  auto r = plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_TRUE(r.ok());
  const auto& m = r->at(models[0].key);
  EXPECT_NEAR(*m.load.arrival_rate, 40, 4);
  const auto& flow = plugin.world()->variant_flow(0);
  EXPECT_LT(flow.completed, 0.5 * flow.arrivals) << "most requests are still queued";
  ASSERT_EQ(m.replicas.size(), 1u);
  EXPECT_GT(*m.replicas[0].waiting, 100);
  EXPECT_EQ(*m.replicas[0].running, 8);
}

// A stand-in analyzer: enough replicas for the arrival rate at `per_replica` req/s each.
std::vector<sdk::Decision> decide(const sdk::ModelView& model, const sdk::ModelMetrics& m, double per_replica) {
  sdk::Decision d;
  d.model = model.key;
  d.variant = model.variants[0].name;
  d.current = model.variants[0].current_replicas;
  const double rate = m.load.arrival_rate.value_or(0);
  d.desired = std::max(1, static_cast<int>(std::ceil(rate / per_replica)));
  return {d};
}

struct LoopResult {
  int max_spec = 0;
  int spec_at_end_of_load = 0;
  int final_spec = 0;
  int waiting_peak = 0;
  int waiting_end_of_load = 0;
  std::vector<std::pair<std::string, int>> scale_log;
};

LoopResult run_closed_loop(bool separate_sink) {
  EmulatorPlugin source_plugin, sink_plugin;
  EmulatorPlugin& sink = separate_sink ? sink_plugin : source_plugin;
  EXPECT_TRUE(source_plugin.configure(step_config(), "sources.emulator").ok());
  if (separate_sink) {
    EXPECT_TRUE(sink_plugin.configure(json::object(), "sinks.emulator").ok());
  }
  sdk::testing::FakeContext ctx("emulator");
  EXPECT_TRUE(ctx.fake_cluster().put(deployment("llama-h100", 1)).ok());
  EXPECT_TRUE(source_plugin.start(ctx).ok());
  if (separate_sink) {
    EXPECT_TRUE(sink_plugin.start(ctx).ok());
  }
  LoopResult out;
  const auto interval = std::chrono::seconds(30);
  for (int cycle = 1; cycle <= 50; ++cycle) {  // 25 minutes
    ctx.fake_clock().advance(interval);
    std::vector<sdk::ModelView> models{model_view(ctx.cluster())};
    auto metrics = source_plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1)));
    EXPECT_TRUE(metrics.ok());
    if (!metrics.ok()) break;
    const auto& m = metrics->at(models[0].key);
    int waiting = 0;
    for (const auto& p : m.replicas) waiting += static_cast<int>(p.waiting.value_or(0));
    out.waiting_peak = std::max(out.waiting_peak, waiting);
    auto decisions = decide(models[0], m, 4.0);
    sdk::PublishBatch batch;
    batch.decisions = decisions;
    EXPECT_TRUE(sink.publish(batch).ok());
    const int spec = models[0].variants[0].current_replicas;
    out.max_spec = std::max(out.max_spec, spec);
    if (cycle == 24) {  // t = 12 min: the load ends now
      out.spec_at_end_of_load = spec;
      out.waiting_end_of_load = waiting;
    }
    out.final_spec = spec;
  }
  source_plugin.stop();
  sink_plugin.stop();
  return out;
}

TEST(ClosedLoop, FleetGrowsQueueDrainsAndShrinksAfterLoad) {
  for (bool separate : {false, true}) {
    SCOPED_TRACE(separate ? "source and sink are two instances" : "one instance is source and sink");
    const LoopResult r = run_closed_loop(separate);
    EXPECT_GE(r.max_spec, 5) << "20 req/s at 4 req/s per replica needs 5";
    EXPECT_GT(r.waiting_peak, 20) << "the step saturates the single replica first";
    EXPECT_LT(r.waiting_end_of_load, 5) << "the grown fleet drains the queue";
    EXPECT_EQ(r.final_spec, 1) << "back to min after the load ends and the 300 s window passes";
  }
}

TEST(ClosedLoop, ScaleDownWaitsForTheStabilizationWindow) {
  EmulatorPlugin plugin;
  ASSERT_TRUE(plugin.configure(step_config(), "sources.emulator").ok());
  sdk::testing::FakeContext ctx("emulator");
  ASSERT_TRUE(ctx.fake_cluster().put(deployment("llama-h100", 6)).ok());
  ASSERT_TRUE(plugin.start(ctx).ok());
  // Desired 1 from t=0: the HPA keeps 6 for the 300 s scale-down window, then drops to 1.
  sdk::Decision d;
  d.model = {"llm", "meta/llama-3.1-8b"};
  d.variant = "llama-h100";
  d.desired = 1;
  std::vector<sdk::Decision> decisions{d};
  sdk::PublishBatch batch;
  batch.decisions = decisions;
  ASSERT_TRUE(plugin.publish(batch).ok());
  std::vector<sdk::ModelView> models{model_view(ctx.cluster())};
  int last = 6;
  double changed_at = -1;
  for (int s = 5; s <= 400; s += 5) {
    ctx.fake_clock().advance(std::chrono::seconds(5));
    ASSERT_TRUE(plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1))).ok());
    const int spec = plugin.world()->spec_replicas(0);
    if (spec != last && changed_at < 0) changed_at = s;
    last = spec;
  }
  EXPECT_EQ(last, 1);
  // HPA syncs every 15 s; the first sync whose window holds only "1" is at 300 s or the sync after it.
  EXPECT_GE(changed_at, 300);
  EXPECT_LE(changed_at, 320);
  auto dep = ctx.cluster().get("Deployment", "llm", "llama-h100");
  EXPECT_EQ((**dep)["spec"]["replicas"], 1) << "the HPA scaled the Deployment through the cluster";
}

struct BadCase {
  const char* json;
  const char* expected;
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.json; }

class DynamicModeErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(DynamicModeErrors, AreRejectedWithPath) {
  EmulatorPlugin plugin;
  auto r = plugin.configure(json::parse(GetParam().json), "sources.emulator");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kInvalidConfig);
  EXPECT_NE(r.error().to_string().find(GetParam().expected), std::string::npos) << r.error().to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DynamicModeErrors,
    ::testing::Values(
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/A100"}}})",
                "sources.emulator.variants.a.profile: unknown profile \"llama-3.1-8b/A100\" (known: "},
        BadCase{R"({"variants": {"a": {"profile": "llama-3.1-8b/H100"}}})",
                "sources.emulator.variants.a.model: missing"},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100", "startupDelay": "soon"}}})",
                "sources.emulator.variants.a.startupDelay: must be a duration"},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                    "workloads": [{"model": "x", "rate": {"constant": 1}, "inputTokens": 1, "outputTokens": 1}]})",
                "sources.emulator.workloads[0].model: no variant serves model \"x\""},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                    "workloads": [{"model": "m", "rate": {"sine": {"mean": 1, "amplitude": 1}}, "inputTokens": 1,
                                   "outputTokens": 1}]})",
                "sources.emulator.workloads[0].rate.sine.period: missing"},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                    "workloads": [{"model": "m", "rate": {"constant": 1}, "inputTokens": {"lognormal": {"mean": 5}},
                                   "outputTokens": 1}]})",
                "sources.emulator.workloads[0].inputTokens.lognormal.stddev: missing"},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                    "workloads": [{"model": "m", "trace": {"file": "x.csv", "speedup": 0}}]})",
                "sources.emulator.workloads[0].trace.speedup: must be > 0"},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                    "hpa": {"behavior": {"scaleDown": {"policies": [{"type": "Pod", "value": 1, "periodSeconds": 60}]}}}})",
                "sources.emulator.hpa.behavior.scaleDown.policies[0].type: must be Pods or Percent"},
        BadCase{
            R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}}, "router": {"policy": "random"}})",
            "sources.emulator.router.policy: must be one of leastOutstanding, roundRobin, prefixAware"},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100", "prefixCaching": "yes"}}})",
                "sources.emulator.variants.a.prefixCaching: must be"},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                    "workloads": [{"model": "m", "trace": {"file": "x.jsonl", "blockTokens": 0}}]})",
                "sources.emulator.workloads[0].trace.blockTokens: must be"},
        BadCase{R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}}, "fixedMetrics": {}})",
                "two modes"},
        BadCase{R"({"variants": {}})", "sources.emulator.variants: must be a non-empty map"}));

TEST(DynamicMode, PrefixCachingBlockTokensAndPrefixAwareRoutingAreRead) {
  const auto parsed = parse_dynamic_settings(
      json::parse(R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100", "prefixCaching": false},
                                   "b": {"model": "m", "profile": "llama-3.1-8b/H200"}},
                      "workloads": [{"model": "m", "trace": {"file": "conv.jsonl", "blockTokens": 256}}],
                      "router": {"policy": "prefixAware"}})"),
      "sources.emulator");
  ASSERT_TRUE(parsed.ok()) << (parsed.errors.empty() ? "" : parsed.errors.front().to_string());
  EXPECT_EQ(parsed->router.policy, RouterConfig::Policy::kPrefixAware);
  ASSERT_EQ(parsed->variants.size(), 2u);
  for (const auto& v : parsed->variants) EXPECT_EQ(v.engine.prefix_caching, v.name == "b") << v.name;
  ASSERT_EQ(parsed->workloads.size(), 1u);
  EXPECT_EQ(parsed->workloads[0].trace.block_tokens, 256);
  const auto defaults =
      parse_dynamic_settings(json::parse(R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                      "workloads": [{"model": "m", "trace": "conv.jsonl"}]})"),
                             "sources.emulator");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->variants[0].engine.prefix_caching) << "on, as in vLLM V1";
  EXPECT_EQ(defaults->workloads[0].trace.block_tokens, 512) << "Mooncake's block size";
  EXPECT_EQ(defaults->router.policy, RouterConfig::Policy::kLeastOutstanding);
}

TEST(DynamicMode, MissingTraceFileFailsAtStartWithPath) {
  EmulatorPlugin plugin;
  auto cfg = json::parse(R"({"variants": {"a": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                             "workloads": [{"model": "m", "trace": {"file": "/nonexistent/x.csv"}}]})");
  ASSERT_TRUE(plugin.configure(cfg, "sources.emulator").ok()) << "configure does no I/O";
  sdk::testing::FakeContext ctx("emulator");
  auto r = plugin.start(ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sources.emulator.workloads[0].trace");
  EXPECT_NE(r.error().message.find("/nonexistent/x.csv"), std::string::npos);
}

}  // namespace
}  // namespace wva::emulator
