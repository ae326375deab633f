#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "grouping.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

using testing::make_model;
constexpr double kNow = 1795808585.0;

struct Builder {
  QueryResponse r;
  Builder() {
    r.success = true;
    r.result_type = ResultType::kVector;
  }
  Builder& add(const std::string& signal, const std::string& ns, const std::string& model, const std::string& pod,
               double v, double ts = kNow) {
    Sample s;
    if (!signal.empty()) s.labels.emplace_back("wva_signal", signal);
    s.labels.emplace_back("namespace", ns);
    if (!model.empty()) s.labels.emplace_back("model_name", model);
    s.labels.emplace_back("pod", pod);
    s.value = v;
    s.timestamp = ts;
    r.samples.push_back(std::move(s));
    return *this;
  }
};

// A load series summed per Deployment by PromQL: no pod label, the Deployment in wva_deployment.
Sample deployment_series(const std::string& signal, const std::string& ns, const std::string& model,
                         const std::string& deployment, double v) {
  Sample s;
  s.labels = {{"wva_signal", signal}, {"namespace", ns}, {"model_name", model}, {"wva_deployment", deployment}};
  s.value = v;
  s.timestamp = kNow;
  return s;
}

const sdk::ReplicaMetrics* find_pod(const sdk::ModelMetrics& m, const std::string& pod) {
  for (const auto& r : m.replicas)
    if (r.pod == pod) return &r;
  return nullptr;
}

TEST(Grouping, RouterQueueIsPerModelAndSummedOverRouters) {
  // Model at zero: no pod series, only the gateway's queue (two EPP replicas report it).
  std::vector<sdk::ModelView> models = {make_model("llm", "meta/llama", {{"llama-h100", 0}}),
                                        make_model("llm", "other", {{"other-h100", 1}}),
                                        make_model("team", "meta/llama", {{"llama-h100", 0}})};
  Builder b;
  b.add("routerQueue", "llm", "meta/llama", "", 2).add("routerQueue", "llm", "meta/llama", "", 3);
  b.add("routerQueue", "team", "meta/llama", "", -1);  // a broken exporter: invalid, never 0
  b.add("running", "llm", "other", "other-h100-0", 1);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  const auto& at_zero = out.at(sdk::ModelKey{"llm", "meta/llama"});
  EXPECT_EQ(at_zero.state, sdk::MetricsState::kNoData) << "no pods";
  EXPECT_EQ(at_zero.load.router_queue, 5.0);
  EXPECT_TRUE(at_zero.replicas.empty());
  EXPECT_FALSE(out.at(sdk::ModelKey{"llm", "other"}).load.router_queue.has_value()) << "absent, not 0";
  const auto& broken = out.at(sdk::ModelKey{"team", "meta/llama"});
  EXPECT_FALSE(broken.load.router_queue.has_value());
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kRouterQueue)], 1u);
}

TEST(Grouping, PerPodValuesMappedToVariants) {
  std::vector<sdk::ModelView> models = {make_model("llm", "meta/llama", {{"llama-a100", 1}, {"llama-h100", 2}})};
  Builder b;
  b.add("kvCacheUsage", "llm", "meta/llama", "llama-h100-0", 0.5)
      .add("kvCacheUsage", "llm", "meta/llama", "llama-h100-1", 0.0)
      .add("waiting", "llm", "meta/llama", "llama-h100-0", 3)
      .add("running", "llm", "meta/llama", "llama-a100-0", 7)
      .add("kvCapacity", "llm", "", "llama-h100-0", 1);
  b.r.samples.back().labels.emplace_back("num_gpu_blocks", "1024");
  b.r.samples.back().labels.emplace_back("block_size", "16");
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  ASSERT_EQ(out.size(), 1u);
  const auto& m = out.at(sdk::ModelKey{"llm", "meta/llama"});
  EXPECT_EQ(m.state, sdk::MetricsState::kOk);
  ASSERT_EQ(m.replicas.size(), 3u);
  // Sorted by variant (model order) then pod.
  EXPECT_EQ(m.replicas[0].pod, "llama-a100-0");
  EXPECT_EQ(m.replicas[0].variant, "llama-a100");
  EXPECT_FALSE(m.replicas[0].kv_cache_usage.has_value());  // absent series: nullopt, never 0
  EXPECT_EQ(m.replicas[0].running, 7.0);
  const auto* h0 = find_pod(m, "llama-h100-0");
  ASSERT_NE(h0, nullptr);
  EXPECT_EQ(h0->kv_cache_usage, 0.5);
  EXPECT_EQ(h0->waiting, 3.0);
  EXPECT_FALSE(h0->running.has_value());
  EXPECT_EQ(h0->kv_capacity_tokens, 16384.0);
  const auto* h1 = find_pod(m, "llama-h100-1");
  ASSERT_NE(h1, nullptr);
  ASSERT_TRUE(h1->kv_cache_usage.has_value());  // a real 0 is present
  EXPECT_EQ(*h1->kv_cache_usage, 0.0);
  EXPECT_FALSE(h1->waiting.has_value());
}

TEST(Grouping, PrefixFallbackPicksLongestVariantName) {
  // The host gave no pod names: cluster-style pod names map by the "<deployment>-" prefix.
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"llama", 1}, {"llama-fast", 1}}, /*fill_pods=*/false)};
  Builder b;
  b.add("kvCacheUsage", "llm", "m", "llama-7c9f8d-x2k4q", 0.1)
      .add("kvCacheUsage", "llm", "m", "llama-fast-5b6c7d-abcde", 0.2)
      .add("kvCacheUsage", "llm", "m", "other-0", 0.3)
      .add("kvCacheUsage", "llm", "m", "llama", 0.4);  // no '-' after the name: not a pod of it
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  const auto& m = out.at({"llm", "m"});
  ASSERT_EQ(m.replicas.size(), 2u);
  EXPECT_EQ(find_pod(m, "llama-7c9f8d-x2k4q")->variant, "llama");
  EXPECT_EQ(find_pod(m, "llama-fast-5b6c7d-abcde")->variant, "llama-fast");
  EXPECT_EQ(g.stats().unmapped_pods, 2u);
}

TEST(Grouping, NoDataAndUnmappedPodsUseTheFaqText) {
  std::vector<sdk::ModelView> models = {make_model("llm", "a", {{"a-v", 1}}), make_model("llm", "b", {{"b-v", 1}})};
  Builder b;
  b.add("kvCacheUsage", "llm", "b", "stranger-0", 0.3);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  const auto& a = out.at({"llm", "a"});
  EXPECT_EQ(a.state, sdk::MetricsState::kNoData);
  EXPECT_EQ(a.message.rfind("No pods found for model a in namespace llm", 0), 0u) << a.message;
  EXPECT_TRUE(a.replicas.empty());
  const auto& bm = out.at({"llm", "b"});
  EXPECT_EQ(bm.state, sdk::MetricsState::kNoData);
  EXPECT_NE(bm.message.find("No pods found for model b"), std::string::npos);
  EXPECT_NE(bm.message.find("1 pod(s) report metrics but none belongs to its variants (b-v)"), std::string::npos)
      << bm.message;
}

TEST(Grouping, NaNAndInfinityAreAbsentNotZero) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"v", 2}})};
  Builder b;
  b.add("kvCacheUsage", "llm", "m", "v-0", std::numeric_limits<double>::quiet_NaN())
      .add("waiting", "llm", "m", "v-0", std::numeric_limits<double>::infinity())
      .add("waiting", "llm", "m", "v-1", 2);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  const auto& m = out.at({"llm", "m"});
  ASSERT_EQ(m.replicas.size(), 2u);
  EXPECT_FALSE(m.replicas[0].kv_cache_usage.has_value());
  EXPECT_FALSE(m.replicas[0].waiting.has_value());
  EXPECT_EQ(m.replicas[1].waiting, 2.0);
  EXPECT_EQ(g.stats().non_finite, 2u);
}

// Issue 14, defect 6: only non-finite values were dropped; a KV use of -5 gave "KV cache spare 5.80" and
// a scale-down, 1e300 waiting requests counted as saturated. Out-of-domain values are absent, counted per
// signal, and named in the model's message.
TEST(Grouping, Defect6OutOfDomainValuesAreAbsentCountedAndNamed) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"v", 3}})};
  Builder b;
  b.add("kvCacheUsage", "llm", "m", "v-0", -5)
      .add("waiting", "llm", "m", "v-0", 1e300)
      .add("running", "llm", "m", "v-0", -1)
      .add("kvCacheUsage", "llm", "m", "v-1", 1.5)
      .add("waiting", "llm", "m", "v-1", 3)
      .add("kvCacheUsage", "llm", "m", "v-2", 0.5)
      .add("waiting", "llm", "m", "v-2", 0)
      .add("completions", "llm", "m", "v-2", -2);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  const auto& m = out.at({"llm", "m"});
  ASSERT_EQ(m.state, sdk::MetricsState::kOk);
  const auto* p0 = find_pod(m, "v-0");
  const auto* p1 = find_pod(m, "v-1");
  const auto* p2 = find_pod(m, "v-2");
  ASSERT_TRUE(p0 && p1 && p2);
  EXPECT_FALSE(p0->kv_cache_usage.has_value());
  EXPECT_FALSE(p0->waiting.has_value());
  EXPECT_FALSE(p0->running.has_value());
  EXPECT_FALSE(p1->kv_cache_usage.has_value());
  EXPECT_EQ(p1->waiting, 3.0);
  EXPECT_EQ(p2->kv_cache_usage, 0.5);
  EXPECT_EQ(p2->waiting, 0.0);  // zero is data, not invalid
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kKvCacheUsage)], 2u);
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kWaiting)], 1u);
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kRunning)], 1u);
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kCompletions)], 1u);
  EXPECT_NE(m.message.find("5 invalid sample(s) ignored"), std::string::npos) << m.message;
  EXPECT_NE(m.message.find("kvCacheUsage -5 on pod v-0 (outside [0, 1])"), std::string::npos) << m.message;
  EXPECT_NE(m.message.find("waiting 1e+300 on pod v-0 (above 1e+09)"), std::string::npos) << m.message;
  EXPECT_FALSE(m.load.arrival_rate.has_value());  // the negative rate was not used
}

TEST(Grouping, Defect6AllSaturationValuesInvalidIsNoDataNotZero) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"v", 1}})};
  Builder b;
  b.add("kvCacheUsage", "llm", "m", "v-0", -5).add("waiting", "llm", "m", "v-0", -1);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  const auto& m = out.at({"llm", "m"});
  EXPECT_EQ(m.state, sdk::MetricsState::kNoData);
  EXPECT_TRUE(m.replicas.empty());
  EXPECT_NE(m.message.find("are invalid: 2 invalid sample(s) ignored"), std::string::npos) << m.message;
}

TEST(Grouping, DomainViolation) {
  EXPECT_FALSE(domain_violation(Signal::kKvCacheUsage, 0));
  EXPECT_FALSE(domain_violation(Signal::kKvCacheUsage, 1));
  EXPECT_TRUE(domain_violation(Signal::kKvCacheUsage, 1.0001));
  EXPECT_FALSE(domain_violation(Signal::kWaiting, 1e9));
  EXPECT_TRUE(domain_violation(Signal::kWaiting, 1e9 + 1));
  EXPECT_FALSE(domain_violation(Signal::kQueueGrowth, -3));  // a draining queue
  EXPECT_TRUE(domain_violation(Signal::kQueueGrowth, -1e300));
  EXPECT_TRUE(domain_violation(Signal::kKvCapacity, -1));
  EXPECT_TRUE(domain_violation(Signal::kTtftSum, -0.5));
}

TEST(Grouping, StaleWhenEveryPodIsOld) {
  std::vector<sdk::ModelView> models = {make_model("llm", "old", {{"o", 1}}), make_model("llm", "mixed", {{"x", 2}})};
  Builder b;
  b.add("sampleTime", "llm", "old", "o-0", kNow - 600)
      .add("sampleTime", "llm", "mixed", "x-0", kNow - 600)
      .add("sampleTime", "llm", "mixed", "x-1", kNow - 5)
      .add("kvCacheUsage", "llm", "mixed", "x-1", 0.7);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  const auto& old = out.at({"llm", "old"});
  EXPECT_EQ(old.state, sdk::MetricsState::kStale);
  EXPECT_NE(old.message.find("stale"), std::string::npos);
  EXPECT_NE(old.message.find("600s old (staleAfter 120s)"), std::string::npos) << old.message;
  ASSERT_EQ(old.replicas.size(), 1u);
  EXPECT_FALSE(old.replicas[0].kv_cache_usage.has_value());
  const auto& mixed = out.at({"llm", "mixed"});
  EXPECT_EQ(mixed.state, sdk::MetricsState::kOk);
  ASSERT_EQ(mixed.replicas.size(), 1u);  // only the fresh pod is analysed
  EXPECT_EQ(mixed.replicas[0].pod, "x-1");
  const double t = std::chrono::duration<double>(mixed.replicas[0].sample_time.time_since_epoch()).count();
  EXPECT_NEAR(t, kNow - 5, 1e-3);
}

TEST(Grouping, LoadPerVariant) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 2}, {"b", 1}})};
  Builder b;
  // Variant a: two pods; completions 2 + 3 /s, queue growing 0.5/s; 200 prompt tokens per request.
  b.add("completions", "llm", "m", "a-0", 2)
      .add("completions", "llm", "m", "a-1", 3)
      .add("queueGrowth", "llm", "m", "a-0", 0.5)
      .add("promptTokensSum", "llm", "m", "a-0", 400)
      .add("promptTokensCount", "llm", "m", "a-0", 2)
      .add("promptTokensSum", "llm", "m", "a-1", 600)
      .add("promptTokensCount", "llm", "m", "a-1", 3)
      .add("generationTokensSum", "llm", "m", "a-0", 100)
      .add("generationTokensCount", "llm", "m", "a-0", 2)
      .add("ttftSum", "llm", "m", "a-0", 0.5)
      .add("ttftCount", "llm", "m", "a-0", 2)
      .add("itlSum", "llm", "m", "a-0", 0.02)
      .add("itlCount", "llm", "m", "a-0", 1)
      // Variant b: an arrivals counter wins over completions; no requests finished: averages unknown.
      .add("completions", "llm", "m", "b-0", 1)
      .add("arrivals", "llm", "m", "b-0", 4)
      .add("promptTokensSum", "llm", "m", "b-0", 0)
      .add("promptTokensCount", "llm", "m", "b-0", 0)
      .add("kvCacheUsage", "llm", "m", "b-0", 0.2);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  const auto& m = out.at({"llm", "m"});
  const auto& a = m.load_by_variant.at("a");
  EXPECT_DOUBLE_EQ(*a.arrival_rate, 5.5);
  EXPECT_DOUBLE_EQ(*a.avg_input_tokens, 200.0);
  EXPECT_DOUBLE_EQ(*a.avg_output_tokens, 50.0);
  EXPECT_DOUBLE_EQ(*a.ttft_ms, 250.0);
  EXPECT_DOUBLE_EQ(*a.itl_ms, 20.0);
  const auto& bl = m.load_by_variant.at("b");
  EXPECT_DOUBLE_EQ(*bl.arrival_rate, 4.0);
  EXPECT_FALSE(bl.avg_input_tokens.has_value());
  EXPECT_FALSE(bl.ttft_ms.has_value());
  EXPECT_DOUBLE_EQ(*m.load.arrival_rate, 4.0);  // model level: arrivals present somewhere -> arrivals only
  EXPECT_DOUBLE_EQ(*m.load.avg_input_tokens, 200.0);
  // Load-only pods are not replicas.
  ASSERT_EQ(m.replicas.size(), 1u);
  EXPECT_EQ(m.replicas[0].pod, "b-0");
}

TEST(Grouping, NamespacesAndUnknownModelsAreKeptApart) {
  std::vector<sdk::ModelView> models = {make_model("ns1", "m", {{"v", 1}}), make_model("ns2", "m", {{"v", 1}})};
  Builder b;
  b.add("kvCacheUsage", "ns1", "m", "v-0", 0.1)
      .add("kvCacheUsage", "ns2", "m", "v-0", 0.9)
      .add("kvCacheUsage", "ns3", "m", "v-0", 0.5)
      .add("kvCacheUsage", "ns1", "other", "v-0", 0.5)
      .add("bogusSignal", "ns1", "m", "v-0", 0.5);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  auto out = g.finish(sdk::TimePoint{});
  EXPECT_EQ(out.at({"ns1", "m"}).replicas.at(0).kv_cache_usage, 0.1);
  EXPECT_EQ(out.at({"ns2", "m"}).replicas.at(0).kv_cache_usage, 0.9);
  EXPECT_EQ(g.stats().ignored, 3u);
  EXPECT_EQ(g.stats().samples, 2u);
}

TEST(Grouping, UntaggedSingleSignalResponse) {
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  Builder b;
  b.add("", "ns", "m", "v-0", 4);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r, Signal::kWaiting);
  auto out = g.finish(sdk::TimePoint{});
  EXPECT_EQ(out.at({"ns", "m"}).replicas.at(0).waiting, 4.0);
}

TEST(Grouping, CustomLabelNames) {
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  QueryResponse r;
  Sample s;
  s.labels = {{"wva_signal", "kvCacheUsage"}, {"kubernetes_namespace", "ns"}, {"model", "m"}, {"pod_name", "v-0"}};
  s.value = 0.3;
  r.samples.push_back(s);
  Grouper g(models, LabelNames{"kubernetes_namespace", "model", "pod_name"}, Millis(120000));
  g.add(r);
  auto out = g.finish(sdk::TimePoint{});
  EXPECT_EQ(out.at({"ns", "m"}).replicas.at(0).kv_cache_usage, 0.3);
}

TEST(Grouping, DeploymentOfPodMirrorsTheRegex) {
  EXPECT_EQ(deployment_of_pod("llama-fast-5b6c7d8f9-x2x4z"), "llama-fast");  // Deployment pod
  EXPECT_EQ(deployment_of_pod("vllm-b200-7c9d8f6b5-abcde"), "vllm-b200");
  EXPECT_EQ(deployment_of_pod("llama-h100-0"), "llama-h100");  // local / StatefulSet ordinal
  EXPECT_EQ(deployment_of_pod("vllm-b-0"), "vllm-b");          // "b" is too short for a hash
  EXPECT_EQ(deployment_of_pod("llama-a100-7c9f8d6b5-x2k4q"), "llama-a100");
  EXPECT_EQ(deployment_of_pod("name-aeiou1-x"), "name-aeiou1");  // not the hash alphabet
  EXPECT_EQ(deployment_of_pod("nodash"), "nodash");
  EXPECT_EQ(deployment_of_pod("-x"), "-x");
  EXPECT_EQ(deployment_of_pod("trailing-"), "trailing-");
}

TEST(Grouping, LoadSummedPerDeploymentEqualsTheSumOverItsPods) {
  // The same load once per pod (as before) and once summed per Deployment by PromQL: the same Load.
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"llama-a100", 2}, {"llama-h100", 2}})};
  models[0].variants[0].pods = {"llama-a100-5b6c7d8f9-aaaaa", "llama-a100-5b6c7d8f9-bbbbb"};
  Builder per_pod;
  const std::vector<std::pair<std::string, std::vector<double>>> pods = {
      {"llama-a100-5b6c7d8f9-aaaaa", {2, 0.5, 400, 2, 100, 2, 0.1, 2, 0.02, 200}},
      {"llama-a100-5b6c7d8f9-bbbbb", {3, -0.25, 900, 3, 120, 3, 0.3, 3, 0.03, 300}},
      {"llama-h100-0", {5, 0, 1000, 5, 400, 5, 0.5, 5, 0.05, 500}},
      {"llama-h100-1", {1, 0, 100, 1, 50, 1, 0.2, 1, 0.01, 100}}};
  const std::vector<std::string> signals = {"completions",       "queueGrowth",         "promptTokensSum",
                                            "promptTokensCount", "generationTokensSum", "generationTokensCount",
                                            "ttftSum",           "ttftCount",           "itlSum",
                                            "itlCount"};
  Builder per_deployment;
  std::map<std::pair<std::string, std::string>, double> sums;
  for (const auto& [pod, values] : pods) {
    for (std::size_t k = 0; k < signals.size(); ++k) {
      per_pod.add(signals[k], "llm", "m", pod, values[k]);
      sums[{std::string(deployment_of_pod(pod)), signals[k]}] += values[k];
    }
    per_pod.add("kvCacheUsage", "llm", "m", pod, 0.5);
  }
  for (const auto& [key, v] : sums)
    per_deployment.r.samples.push_back(deployment_series(key.second, "llm", "m", key.first, v));
  for (const auto& [pod, values] : pods) per_deployment.add("kvCacheUsage", "llm", "m", pod, 0.5);

  Grouper a(models, LabelNames{}, Millis(120000)), b(models, LabelNames{}, Millis(120000));
  a.add(per_pod.r);
  b.add(per_deployment.r);
  const auto x = a.finish(sdk::TimePoint{}).at({"llm", "m"});
  const auto y = b.finish(sdk::TimePoint{}).at({"llm", "m"});
  ASSERT_EQ(x.load_by_variant.size(), 2u);
  ASSERT_EQ(y.load_by_variant.size(), 2u);
  for (const auto& [variant, load] : x.load_by_variant) {
    const auto& other = y.load_by_variant.at(variant);
    for (auto field :
         {&sdk::Load::arrival_rate, &sdk::Load::avg_input_tokens, &sdk::Load::avg_output_tokens, &sdk::Load::ttft_ms,
          &sdk::Load::itl_ms, &sdk::Load::prompt_tokens_rate, &sdk::Load::generation_tokens_rate}) {
      ASSERT_TRUE((load.*field).has_value()) << variant;
      ASSERT_TRUE((other.*field).has_value()) << variant;
      EXPECT_NEAR(*(load.*field), *(other.*field), 1e-9 * std::max(1.0, std::abs(*(load.*field)))) << variant;
    }
  }
  EXPECT_NEAR(*y.load_by_variant.at("llama-a100").arrival_rate, 2 + 3 + 0.5 - 0.25, 1e-12);
  EXPECT_NEAR(*y.load.arrival_rate, *x.load.arrival_rate, 1e-9);
  EXPECT_NEAR(*y.load.avg_input_tokens, *x.load.avg_input_tokens, 1e-9);
  EXPECT_EQ(y.replicas.size(), 4u);
}

TEST(Grouping, DeploymentSeriesMapToVariantsByNameHostPodsOrPrefix) {
  // A Deployment name over 47 characters: Kubernetes cuts its pods' generated names, so the identity
  // PromQL derives is not the Deployment name; the pods the host listed map it back.
  const std::string long_name = "a-very-long-deployment-name-for-llama-3-1-70b-instruct-h100";
  std::vector<sdk::ModelView> models = {
      make_model("llm", "m", {{"exact", 1}, {long_name, 1}, {"lws", 1}}, /*fill_pods=*/false)};
  const std::string cut_pod = long_name.substr(0, 58) + "x2x4z";  // generateName cut to 58 + 5 random
  models[0].variants[1].pods = {cut_pod};
  Builder b;
  b.r.samples.push_back(deployment_series("completions", "llm", "m", "exact", 1));
  b.r.samples.push_back(deployment_series("completions", "llm", "m", std::string(deployment_of_pod(cut_pod)), 2));
  b.r.samples.push_back(deployment_series("completions", "llm", "m", "lws-0", 3));  // LeaderWorkerSet group 0
  b.r.samples.push_back(deployment_series("completions", "llm", "m", "lws-1", 4));  // ... and group 1: they add up
  b.r.samples.push_back(deployment_series("completions", "llm", "m", "stranger", 5));
  b.r.samples.push_back(deployment_series("completions", "llm", "m", "exact", -1));  // invalid: named, not 0
  b.add("kvCacheUsage", "llm", "m", "exact-0", 0.5);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  const auto out = g.finish(sdk::TimePoint{});
  const auto& m = out.at({"llm", "m"});
  EXPECT_EQ(*m.load_by_variant.at("exact").arrival_rate, 1.0);
  EXPECT_EQ(*m.load_by_variant.at(long_name).arrival_rate, 2.0);
  EXPECT_EQ(*m.load_by_variant.at("lws").arrival_rate, 7.0);
  EXPECT_EQ(*m.load.arrival_rate, 10.0);
  EXPECT_EQ(g.stats().unmapped_deployments, 1u);
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kCompletions)], 1u);
  EXPECT_EQ(m.state, sdk::MetricsState::kOk);
  EXPECT_NE(m.message.find("completions -1 on Deployment exact (negative)"), std::string::npos) << m.message;
}

TEST(Grouping, OnlyUnmappedDeploymentSeriesSayWhy) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"v", 1}})};
  Builder b;
  b.r.samples.push_back(deployment_series("completions", "llm", "m", "stranger", 5));
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(b.r);
  const auto m = g.finish(sdk::TimePoint{}).at({"llm", "m"});
  EXPECT_EQ(m.state, sdk::MetricsState::kNoData);
  EXPECT_EQ(m.message,
            "No pods found for model m in namespace llm: 1 Deployment load series report metrics but none belongs to "
            "its variants (v)");
  EXPECT_TRUE(m.load_by_variant.empty());
}

// The prompt-length histogram (promptTokensBucket): cumulative bucket counts per Deployment, with `le`.
using Buckets = std::vector<std::pair<std::string, double>>;  // le as Prometheus writes it, cumulative count
constexpr double kInf = std::numeric_limits<double>::infinity();

Sample bucket_series(const std::string& deployment, const std::string& le, double v, const std::string& model = "m") {
  Sample s = deployment_series("promptTokensBucket", "llm", model, deployment, v);
  s.labels.emplace_back("le", le);
  return s;
}

std::vector<sdk::util::HistogramBucket> histogram(const std::vector<std::pair<double, double>>& buckets) {
  std::vector<sdk::util::HistogramBucket> out;
  for (const auto& [le, count] : buckets) out.push_back({le, count});
  return out;
}

TEST(GroupingBuckets, BucketBoundsAsPrometheusWritesThem) {
  EXPECT_EQ(bucket_bound("+Inf"), kInf);
  EXPECT_EQ(bucket_bound("Inf"), kInf);
  EXPECT_EQ(bucket_bound("1000.0"), 1000.0);
  EXPECT_EQ(bucket_bound("1000"), 1000.0);
  EXPECT_EQ(bucket_bound("1e+06"), 1e6);
  EXPECT_EQ(bucket_bound("0.005"), 0.005);
  EXPECT_EQ(bucket_bound("-5"), -5.0);
  for (const char* bad : {"", "+", "abc", "NaN", "-Inf", "1000.0x", " 5", "5 "})
    EXPECT_FALSE(bucket_bound(bad).has_value()) << '"' << bad << '"';
}

TEST(GroupingBuckets, VariantAndModelSpreadAreFittedToTheirBuckets) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 2}, {"b", 1}})};
  Builder q;
  // Variant a: per-pod series (a template grouped by pod) of two pods, their `le` written two ways.
  const Buckets a0 = {{"100.0", 1}, {"200.0", 3}, {"500.0", 10}, {"1000.0", 16}, {"2000.0", 19}, {"+Inf", 20}};
  const Buckets a1 = {{"100", 0}, {"200", 0}, {"500", 2}, {"1000", 10}, {"2000", 20}, {"+Inf", 24}};
  for (const auto& [pod, buckets] : {std::pair{"a-0", a0}, std::pair{"a-1", a1}})
    for (const auto& [le, count] : buckets) {
      q.add("promptTokensBucket", "llm", "m", pod, count);
      q.r.samples.back().labels.emplace_back("le", le);
    }
  q.add("promptTokensSum", "llm", "m", "a-0", 12000).add("promptTokensCount", "llm", "m", "a-0", 20);
  q.add("promptTokensSum", "llm", "m", "a-1", 26400).add("promptTokensCount", "llm", "m", "a-1", 24);
  // Variant b: the default query's series, summed per Deployment by PromQL; short prompts.
  for (const auto& [le, count] :
       Buckets{{"100.0", 5}, {"200.0", 10}, {"500.0", 12}, {"1000.0", 12}, {"2000.0", 12}, {"+Inf", 12}})
    q.r.samples.push_back(bucket_series("b", le, count));
  q.r.samples.push_back(deployment_series("promptTokensSum", "llm", "m", "b", 1800));
  q.r.samples.push_back(deployment_series("promptTokensCount", "llm", "m", "b", 12));
  q.add("kvCacheUsage", "llm", "m", "a-0", 0.5);
  std::shuffle(q.r.samples.begin(), q.r.samples.end(), std::mt19937(3));  // any order
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(q.r);
  const auto m = g.finish(sdk::TimePoint{}).at({"llm", "m"});

  // The same fits on buckets summed by hand.
  const auto a = histogram({{100, 1}, {200, 3}, {500, 12}, {1000, 26}, {2000, 39}, {kInf, 44}});
  const auto b = histogram({{100, 5}, {200, 10}, {500, 12}, {1000, 12}, {2000, 12}, {kInf, 12}});
  const auto all = histogram({{100, 6}, {200, 13}, {500, 24}, {1000, 38}, {2000, 51}, {kInf, 56}});
  const auto want_a = sdk::util::histogram_cv(a, 38400.0 / 44);
  const auto want_b = sdk::util::histogram_cv(b, 1800.0 / 12);
  const auto want_model = sdk::util::histogram_cv(all, 40200.0 / 56);
  ASSERT_TRUE(want_a && want_b && want_model);
  ASSERT_TRUE(m.load_by_variant.at("a").prompt_tokens_cv.has_value());
  ASSERT_TRUE(m.load_by_variant.at("b").prompt_tokens_cv.has_value());
  ASSERT_TRUE(m.load.prompt_tokens_cv.has_value());
  EXPECT_DOUBLE_EQ(*m.load_by_variant.at("a").prompt_tokens_cv, *want_a);
  EXPECT_DOUBLE_EQ(*m.load_by_variant.at("b").prompt_tokens_cv, *want_b);
  EXPECT_DOUBLE_EQ(*m.load.prompt_tokens_cv, *want_model);
  // The data tells the fits apart: one pod's buckets, or one variant's, would not give these.
  const auto one_pod = sdk::util::histogram_cv(
      histogram({{100, 1}, {200, 3}, {500, 10}, {1000, 16}, {2000, 19}, {kInf, 20}}), 38400.0 / 44);
  EXPECT_GT(std::abs(*one_pod - *want_a), 0.01);
  EXPECT_GT(std::abs(*want_model - *want_a), 0.01);
  EXPECT_GT(std::abs(*want_model - *want_b), 0.01);
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kPromptTokensBucket)], 0u);
  EXPECT_TRUE(m.message.empty()) << m.message;
}

TEST(GroupingBuckets, OneVariantsModelSpreadIsItsVariants) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 1}})};
  Builder q;
  for (const auto& [le, count] : Buckets{{"5000.0", 3}, {"10000.0", 10}, {"20000.0", 14}, {"+Inf", 15}})
    q.r.samples.push_back(bucket_series("a", le, count));
  q.r.samples.push_back(deployment_series("promptTokensSum", "llm", "m", "a", 120000));
  q.r.samples.push_back(deployment_series("promptTokensCount", "llm", "m", "a", 15));
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(q.r);
  const auto m = g.finish(sdk::TimePoint{}).at({"llm", "m"});
  const auto want =
      sdk::util::histogram_cv(histogram({{5000, 3}, {10000, 10}, {20000, 14}, {kInf, 15}}), 120000.0 / 15);
  ASSERT_TRUE(want);
  ASSERT_TRUE(m.load_by_variant.at("a").prompt_tokens_cv.has_value());
  ASSERT_TRUE(m.load.prompt_tokens_cv.has_value());
  EXPECT_DOUBLE_EQ(*m.load_by_variant.at("a").prompt_tokens_cv, *want);
  EXPECT_DOUBLE_EQ(*m.load.prompt_tokens_cv, *want);
}

TEST(GroupingBuckets, NoInfBucketNoMeanOrNoObservationLeaveTheSpreadAbsent) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"noinf", 1}, {"nomean", 1}, {"idle", 1}, {"none", 1}}),
                                        make_model("llm", "m2", {{"x", 1}})};
  Builder q;
  // No +Inf bucket: the fit cannot say (histogram_quantile refuses those too).
  for (const auto& [le, count] : Buckets{{"1000.0", 3}, {"2000.0", 5}})
    q.r.samples.push_back(bucket_series("noinf", le, count));
  q.r.samples.push_back(deployment_series("promptTokensSum", "llm", "m", "noinf", 5000));
  q.r.samples.push_back(deployment_series("promptTokensCount", "llm", "m", "noinf", 5));
  // Buckets but no mean (no sum / count series).
  for (const auto& [le, count] : Buckets{{"1000.0", 3}, {"+Inf", 5}})
    q.r.samples.push_back(bucket_series("nomean", le, count));
  // Nothing completed over the window: every rate 0.
  for (const auto& [le, count] : Buckets{{"1000.0", 0}, {"+Inf", 0}})
    q.r.samples.push_back(bucket_series("idle", le, count));
  q.r.samples.push_back(deployment_series("promptTokensSum", "llm", "m", "idle", 0));
  q.r.samples.push_back(deployment_series("promptTokensCount", "llm", "m", "idle", 0));
  // No bucket series at all (an exporter without the histogram).
  q.r.samples.push_back(deployment_series("promptTokensSum", "llm", "m", "none", 400));
  q.r.samples.push_back(deployment_series("promptTokensCount", "llm", "m", "none", 2));
  q.r.samples.push_back(deployment_series("promptTokensSum", "llm", "m2", "x", 400));
  q.r.samples.push_back(deployment_series("promptTokensCount", "llm", "m2", "x", 2));
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(q.r);
  const auto out = g.finish(sdk::TimePoint{});
  const auto& m = out.at({"llm", "m"});
  ASSERT_TRUE(m.load_by_variant.at("noinf").avg_input_tokens.has_value());
  EXPECT_FALSE(m.load_by_variant.at("noinf").prompt_tokens_cv.has_value());
  EXPECT_FALSE(m.load_by_variant.at("nomean").avg_input_tokens.has_value());
  EXPECT_FALSE(m.load_by_variant.at("nomean").prompt_tokens_cv.has_value());
  EXPECT_FALSE(m.load_by_variant.at("idle").prompt_tokens_cv.has_value());
  ASSERT_TRUE(m.load_by_variant.at("none").avg_input_tokens.has_value());
  EXPECT_FALSE(m.load_by_variant.at("none").prompt_tokens_cv.has_value());
  // The model: noinf's and nomean's buckets summed (nomean's +Inf) with the model's mean.
  ASSERT_TRUE(m.load.avg_input_tokens.has_value());
  const auto want = sdk::util::histogram_cv(histogram({{1000, 6}, {2000, 5}, {kInf, 5}}), *m.load.avg_input_tokens);
  ASSERT_TRUE(want);
  ASSERT_TRUE(m.load.prompt_tokens_cv.has_value());
  EXPECT_DOUBLE_EQ(*m.load.prompt_tokens_cv, *want);
  const auto& m2 = out.at({"llm", "m2"});
  ASSERT_TRUE(m2.load.avg_input_tokens.has_value());
  EXPECT_FALSE(m2.load.prompt_tokens_cv.has_value()) << "no buckets: absent, never 0";
  EXPECT_FALSE(m2.load_by_variant.at("x").prompt_tokens_cv.has_value());
}

TEST(GroupingBuckets, InvalidBoundsAndCountsAreCountedAndNamed) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 1}})};
  Builder q;
  for (const auto& [le, count] : Buckets{{"1000.0", 3}, {"2000.0", 5}, {"+Inf", 6}})
    q.r.samples.push_back(bucket_series("a", le, count));
  q.r.samples.push_back(bucket_series("a", "abc", 2));      // not a bound
  q.r.samples.push_back(bucket_series("a", "NaN", 2));      // not a bound
  q.r.samples.push_back(bucket_series("a", "5000.0", -1));  // a negative count
  q.r.samples.push_back(bucket_series("a", "+Inf", std::numeric_limits<double>::quiet_NaN()));
  q.r.samples.push_back(deployment_series("promptTokensBucket", "llm", "m", "a", 7));  // no le at all
  q.r.samples.push_back(deployment_series("promptTokensSum", "llm", "m", "a", 9000));
  q.r.samples.push_back(deployment_series("promptTokensCount", "llm", "m", "a", 6));
  q.add("kvCacheUsage", "llm", "m", "a-0", 0.5);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(q.r);
  const auto m = g.finish(sdk::TimePoint{}).at({"llm", "m"});
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kPromptTokensBucket)], 4u);
  EXPECT_EQ(g.stats().non_finite, 1u);
  EXPECT_EQ(m.state, sdk::MetricsState::kOk);
  EXPECT_NE(m.message.find("4 invalid sample(s) ignored"), std::string::npos) << m.message;
  EXPECT_NE(m.message.find("promptTokensBucket 2 on Deployment a (no le label with a bucket bound)"), std::string::npos)
      << m.message;
  // The valid buckets alone are fitted: the invalid ones add nothing (a 5000 bucket of -1 would).
  const auto want = sdk::util::histogram_cv(histogram({{1000, 3}, {2000, 5}, {kInf, 6}}), 1500.0);
  ASSERT_TRUE(want);
  ASSERT_TRUE(m.load_by_variant.at("a").prompt_tokens_cv.has_value());
  EXPECT_DOUBLE_EQ(*m.load_by_variant.at("a").prompt_tokens_cv, *want);

  // More distinct bounds than a cycle keeps: the rest are invalid, not a growing table.
  Grouper many(models, LabelNames{}, Millis(120000));
  Builder wide;
  for (std::size_t i = 0; i <= kMaxBucketBounds; ++i)
    wide.r.samples.push_back(bucket_series("a", std::to_string(i + 1), static_cast<double>(i)));
  many.add(wide.r);
  (void)many.finish(sdk::TimePoint{});
  EXPECT_EQ(many.stats().invalid[static_cast<std::size_t>(Signal::kPromptTokensBucket)], 1u);
}

// Samples into the grouper as the reader hands them over, one query's worth (no begin()/commit()).
void feed(Grouper& g, const std::vector<Sample>& samples) {
  std::vector<LabelView> labels;
  for (const Sample& s : samples) {
    labels.clear();
    for (const auto& [k, v] : s.labels) labels.push_back(LabelView{k, v});
    g.on_sample(SampleView{labels, s.value, s.timestamp});
  }
}

TEST(GroupingBuckets, RolledBackOrRetriedQueryLeavesNoBuckets) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 1}})};
  const std::vector<Sample> buckets = {bucket_series("a", "1000.0", 4), bucket_series("a", "+Inf", 5),
                                       bucket_series("a", "bad", 1)};
  Grouper g(models, LabelNames{}, Millis(120000));
  // A response that fails after its series: rolled back.
  g.begin();
  feed(g, buckets);
  g.rollback();
  // The load query again, cut part way and retried (restart), then committed without buckets.
  g.begin();
  feed(g, buckets);
  g.restart();
  feed(g, {deployment_series("promptTokensSum", "llm", "m", "a", 4000),
           deployment_series("promptTokensCount", "llm", "m", "a", 5)});
  g.commit();
  const auto m = g.finish(sdk::TimePoint{}).at({"llm", "m"});
  ASSERT_TRUE(m.load_by_variant.at("a").avg_input_tokens.has_value());
  EXPECT_FALSE(m.load_by_variant.at("a").prompt_tokens_cv.has_value());
  EXPECT_FALSE(m.load.prompt_tokens_cv.has_value());
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kPromptTokensBucket)], 0u) << "nothing committed";
  EXPECT_EQ(m.message.find("invalid"), std::string::npos) << m.message;

  // The same series committed: the spread is there (so the absence above is the rollback's doing).
  Grouper h(models, LabelNames{}, Millis(120000));
  h.begin();
  feed(h, buckets);
  feed(h, {deployment_series("promptTokensSum", "llm", "m", "a", 4000),
           deployment_series("promptTokensCount", "llm", "m", "a", 5)});
  h.commit();
  EXPECT_TRUE(h.finish(sdk::TimePoint{}).at({"llm", "m"}).load_by_variant.at("a").prompt_tokens_cv.has_value());
  EXPECT_EQ(h.stats().invalid[static_cast<std::size_t>(Signal::kPromptTokensBucket)], 1u);
}

// The requests by their mean time per output token (requestTpotBucket): cumulative bucket rates per
// Deployment, with `le`, handed on as they are: each variant's its Deployment's, the model's summed.
Sample tpot_series(const std::string& deployment, const std::string& le, double v, const std::string& model = "m") {
  Sample s = deployment_series("requestTpotBucket", "llm", model, deployment, v);
  s.labels.emplace_back("le", le);
  return s;
}

std::vector<std::pair<double, double>> pairs(const std::vector<sdk::HistogramBucket>& buckets) {
  std::vector<std::pair<double, double>> out;
  for (const auto& b : buckets) out.emplace_back(b.upper_bound, b.count);
  return out;
}

TEST(GroupingTpotBuckets, VariantsGetTheirDeploymentsBucketsAndTheModelTheirSum) {
  auto m = make_model("llm", "m", {{"a", 2}, {"b", 1}, {"c", 1}});
  m.variants[2].pods = {"c-server-7c9f8d6b5-x2k4q"};  // Deployment c-server, derived from its pod's name
  std::vector<sdk::ModelView> models = {m, make_model("llm", "m2", {{"x", 1}})};
  Builder q;
  // Variant a: per-pod series (a template grouped by pod) of its two pods, added up.
  const Buckets a0 = {{"0.025", 1}, {"0.05", 4}, {"0.1", 5}, {"1.0", 6}, {"+Inf", 6}};
  const Buckets a1 = {{"0.025", 0}, {"0.05", 2}, {"0.1", 6}, {"1.0", 8}, {"+Inf", 8}};
  for (const auto& [pod, buckets] : {std::pair{"a-0", a0}, std::pair{"a-1", a1}})
    for (const auto& [le, count] : buckets) {
      q.add("requestTpotBucket", "llm", "m", pod, count);
      q.r.samples.back().labels.emplace_back("le", le);
    }
  // Variant b: two series of each bucket (two scrape jobs), `le` written two ways; they add up.
  for (const auto& [job, buckets] :
       {std::pair{"j1", Buckets{{"0.025", 0}, {"0.05", 2}, {"0.1", 3}, {"1.0", 3}, {"+Inf", 3}}},
        std::pair{"j2", Buckets{{"0.025", 1}, {"0.050", 1}, {"0.1", 2}, {"1", 2}, {"+Inf", 4}}}})
    for (const auto& [le, count] : buckets) {
      q.r.samples.push_back(tpot_series("b", le, count));
      q.r.samples.back().labels.emplace_back("job", job);
    }
  // Variant c: its Deployment's series, named after the Deployment its listed pod belongs to.
  for (const auto& [le, count] : Buckets{{"0.025", 0.5}, {"0.05", 1}, {"0.1", 1.5}, {"1.0", 2}, {"+Inf", 2}})
    q.r.samples.push_back(tpot_series("c-server", le, count));
  // b's prompt-length histogram with bounds the TPOT one has too: another histogram, kept apart.
  for (const auto& [le, count] : Buckets{{"1.0", 100}, {"+Inf", 200}})
    q.r.samples.push_back(bucket_series("b", le, count));
  q.r.samples.push_back(deployment_series("promptTokensSum", "llm", "m", "b", 1000));
  q.r.samples.push_back(deployment_series("promptTokensCount", "llm", "m", "b", 200));
  q.r.samples.push_back(deployment_series("completions", "llm", "m", "a", 14));
  q.r.samples.push_back(deployment_series("completions", "llm", "m2", "x", 3));  // m2: no histogram
  q.add("kvCacheUsage", "llm", "m", "a-0", 0.5);
  std::shuffle(q.r.samples.begin(), q.r.samples.end(), std::mt19937(5));  // any order
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(q.r);
  const auto out = g.finish(sdk::TimePoint{});
  const auto& mm = out.at({"llm", "m"});

  using P = std::vector<std::pair<double, double>>;
  const struct {
    std::string variant;
    P buckets;        // sorted by bound, +Inf last
    double above_50;  // the share of requests over 50 ms
  } want[] = {
      {"a", {{0.025, 1}, {0.05, 6}, {0.1, 11}, {1, 14}, {kInf, 14}}, 8.0 / 14},
      {"b", {{0.025, 1}, {0.05, 3}, {0.1, 5}, {1, 5}, {kInf, 7}}, 4.0 / 7},
      {"c", {{0.025, 0.5}, {0.05, 1}, {0.1, 1.5}, {1, 2}, {kInf, 2}}, 0.5},
  };
  for (const auto& w : want) {
    ASSERT_TRUE(mm.load_by_variant.count(w.variant)) << w.variant;
    const auto& buckets = mm.load_by_variant.at(w.variant).request_tpot_buckets;
    EXPECT_EQ(pairs(buckets), w.buckets) << w.variant;
    const auto above = sdk::util::fraction_above(buckets, 0.05);
    ASSERT_TRUE(above.has_value()) << w.variant;
    EXPECT_DOUBLE_EQ(above->fraction(), w.above_50) << w.variant;
  }
  EXPECT_FALSE(mm.load_by_variant.at("c").arrival_rate.has_value()) << "c has its buckets and no other load";
  // The model: its variants' buckets summed.
  EXPECT_EQ(pairs(mm.load.request_tpot_buckets), (P{{0.025, 2.5}, {0.05, 10}, {0.1, 17.5}, {1, 21}, {kInf, 23}}));
  EXPECT_DOUBLE_EQ(sdk::util::fraction_above(mm.load.request_tpot_buckets, 0.05)->fraction(), 13.0 / 23);
  // The prompt-length histogram of b saw only its own buckets.
  const auto prompt_b = sdk::util::histogram_cv(histogram({{1, 100}, {kInf, 200}}), 5.0);
  ASSERT_TRUE(prompt_b.has_value());
  ASSERT_TRUE(mm.load_by_variant.at("b").prompt_tokens_cv.has_value());
  EXPECT_DOUBLE_EQ(*mm.load_by_variant.at("b").prompt_tokens_cv, *prompt_b);
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kRequestTpotBucket)], 0u);
  EXPECT_TRUE(mm.message.empty()) << mm.message;
  // A model without the histogram: no buckets at either level (unknown, never zeros).
  const auto& m2 = out.at({"llm", "m2"});
  ASSERT_TRUE(m2.load_by_variant.at("x").arrival_rate.has_value());
  EXPECT_TRUE(m2.load_by_variant.at("x").request_tpot_buckets.empty());
  EXPECT_TRUE(m2.load.request_tpot_buckets.empty());
}

TEST(GroupingTpotBuckets, InvalidValuesAndBoundsAreCountedNamedAndLeftOut) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 1}})};
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  enum class Outcome { kKept, kInvalid, kNonFinite };
  const struct {
    std::optional<std::string> le;  // nullopt: no le label
    double value;
    Outcome outcome;
    std::string why;  // of an invalid one, as the message names it
  } cases[] = {
      {"0.1", -1, Outcome::kInvalid, "requestTpotBucket -1 on Deployment a (negative)"},
      {"0.2", 2e12, Outcome::kInvalid, "requestTpotBucket 2e+12 on Deployment a (above 1e+12)"},
      {"abc", 2, Outcome::kInvalid, "requestTpotBucket 2 on Deployment a (no le label with a bucket bound)"},
      {"0.05", 3, Outcome::kKept, ""},
      {"+Inf", 5, Outcome::kKept, ""},
      {"NaN", 2, Outcome::kInvalid, ""},
      {"-Inf", 2, Outcome::kInvalid, ""},
      {"", 2, Outcome::kInvalid, ""},
      {std::nullopt, 2, Outcome::kInvalid, ""},
      {"0.5", kNaN, Outcome::kNonFinite, ""},
      {"0.75", kInf, Outcome::kNonFinite, ""},
  };
  Builder q;
  std::size_t invalid = 0, non_finite = 0;
  for (const auto& c : cases) {
    q.r.samples.push_back(deployment_series("requestTpotBucket", "llm", "m", "a", c.value));
    if (c.le) q.r.samples.back().labels.emplace_back("le", *c.le);
    invalid += c.outcome == Outcome::kInvalid;
    non_finite += c.outcome == Outcome::kNonFinite;
  }
  q.add("kvCacheUsage", "llm", "m", "a-0", 0.5);
  Grouper g(models, LabelNames{}, Millis(120000));
  g.add(q.r);
  const auto m = g.finish(sdk::TimePoint{}).at({"llm", "m"});
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kRequestTpotBucket)], invalid);
  EXPECT_EQ(g.stats().invalid[static_cast<std::size_t>(Signal::kPromptTokensBucket)], 0u);
  EXPECT_EQ(g.stats().non_finite, non_finite);
  EXPECT_EQ(m.state, sdk::MetricsState::kOk);
  EXPECT_NE(m.message.find(std::to_string(invalid) + " invalid sample(s) ignored"), std::string::npos) << m.message;
  for (const auto& c : cases) {
    if (!c.why.empty()) {
      EXPECT_NE(m.message.find(c.why), std::string::npos) << m.message;
    }
  }
  // Only the valid buckets: an invalid or non-finite one is left out, never read as 0.
  EXPECT_EQ(pairs(m.load_by_variant.at("a").request_tpot_buckets),
            (std::vector<std::pair<double, double>>{{0.05, 3}, {kInf, 5}}));
  EXPECT_EQ(pairs(m.load.request_tpot_buckets), (std::vector<std::pair<double, double>>{{0.05, 3}, {kInf, 5}}));

  // The histograms share the cycle's distinct bounds: past kMaxBucketBounds of them together, a TPOT bound is
  // invalid (counted on its own signal), not a growing table.
  Builder wide;
  const std::size_t prompt_bounds = kMaxBucketBounds - 6;
  for (std::size_t i = 0; i < prompt_bounds; ++i)
    wide.r.samples.push_back(bucket_series("a", std::to_string(i + 1), static_cast<double>(i)));
  for (std::size_t i = 0; i < 10; ++i)
    wide.r.samples.push_back(tpot_series("a", std::to_string(1000 + i), static_cast<double>(i)));
  wide.add("kvCacheUsage", "llm", "m", "a-0", 0.5);
  Grouper many(models, LabelNames{}, Millis(120000));
  many.add(wide.r);
  const auto w = many.finish(sdk::TimePoint{}).at({"llm", "m"});
  EXPECT_EQ(many.stats().invalid[static_cast<std::size_t>(Signal::kRequestTpotBucket)], 4u);
  EXPECT_EQ(many.stats().invalid[static_cast<std::size_t>(Signal::kPromptTokensBucket)], 0u);
  EXPECT_EQ(w.load_by_variant.at("a").request_tpot_buckets.size(), 6u);
  EXPECT_NE(w.message.find("requestTpotBucket 6 on Deployment a (more than 256 distinct le bounds)"), std::string::npos)
      << w.message;
}

TEST(GroupingTpotBuckets, RolledBackOrRetriedQueryLeavesNoBuckets) {
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 1}})};
  const std::vector<Sample> buckets = {tpot_series("a", "0.05", 4), tpot_series("a", "+Inf", 5)};
  const std::vector<Sample> completions = {deployment_series("completions", "llm", "m", "a", 5)};
  Grouper g(models, LabelNames{}, Millis(120000));
  g.begin();  // a response that fails after its series
  feed(g, buckets);
  g.rollback();
  g.begin();  // the load query again, cut part way and retried, then committed without buckets
  feed(g, buckets);
  g.restart();
  feed(g, completions);
  g.commit();
  const auto m = g.finish(sdk::TimePoint{}).at({"llm", "m"});
  ASSERT_TRUE(m.load_by_variant.at("a").arrival_rate.has_value());
  EXPECT_TRUE(m.load_by_variant.at("a").request_tpot_buckets.empty());
  EXPECT_TRUE(m.load.request_tpot_buckets.empty());
  // The same series committed: the buckets are there (so the absence above is the rollback's doing).
  Grouper h(models, LabelNames{}, Millis(120000));
  h.begin();
  feed(h, buckets);
  feed(h, completions);
  h.commit();
  EXPECT_EQ(pairs(h.finish(sdk::TimePoint{}).at({"llm", "m"}).load_by_variant.at("a").request_tpot_buckets),
            (std::vector<std::pair<double, double>>{{0.05, 4}, {kInf, 5}}));
}

}  // namespace
}  // namespace wva::prometheus
