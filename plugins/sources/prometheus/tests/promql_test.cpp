#include <gtest/gtest.h>

#include "promql.h"

namespace wva::prometheus {
namespace {

TEST(PromQL, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(escape_label_value("x\ny"), "x\\ny");
  EXPECT_EQ(escape_label_value("meta/llama-3.1-8b"), "meta/llama-3.1-8b");
}

TEST(PromQL, RegexMatcherEscapesMetacharactersThenQuotes) {
  EXPECT_EQ(escape_regex("llama-3.1+x"), R"(llama-3\.1\+x)");
  // One value: equality matcher, no regex escaping.
  EXPECT_EQ(label_matcher("model_name", {"meta/llama-3.1-8b"}), R"(model_name="meta/llama-3.1-8b")");
  // Several: sorted alternation, regex-escaped, then PromQL-escaped (a backslash doubles).
  EXPECT_EQ(label_matcher("model_name", {"b.x", "a\"q"}), R"(model_name=~"a\"q|b\\.x")");
  EXPECT_EQ(label_matcher("namespace", {}), "");
}

TEST(PromQL, RenderTemplate) {
  TemplateValues v{
      R"({namespace="ns"})", R"({namespace="ns"})", "namespace, model_name, pod", "namespace, pod", "1m", "2m"};
  auto out = render_template("max by ({{by}}) (max_over_time(vllm:kv_cache_usage_perc{{selector}}[{{window}}]))", v);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            R"(max by (namespace, model_name, pod) (max_over_time(vllm:kv_cache_usage_perc{namespace="ns"}[1m])))");
  std::string unknown;
  EXPECT_FALSE(render_template("x{{selectr}}", v, &unknown));
  EXPECT_EQ(unknown, "{{selectr}}");
  // A literal brace before a placeholder.
  EXPECT_EQ(*render_template("a{{{window}}}", v), "a{1m}");
}

TEST(PromQL, SelectorAddsModelMatcherOnlyForFewModels) {
  LabelNames l;
  auto few = make_template_values(l, {"ns1", "ns2"}, {"m1", "m2"}, 10, "1m", "1m");
  EXPECT_EQ(few.selector, R"({namespace=~"ns1|ns2",model_name=~"m1|m2"})");
  EXPECT_EQ(few.ns_selector, R"({namespace=~"ns1|ns2"})");
  auto many = make_template_values(l, {"ns1"}, {"m1", "m2", "m3"}, 2, "1m", "1m");
  EXPECT_EQ(many.selector, R"({namespace="ns1"})");
  LabelNames custom{"kubernetes_namespace", "model", "pod_name"};
  auto c = make_template_values(custom, {"a"}, {"m"}, 5, "30s", "1m");
  EXPECT_EQ(c.by, "kubernetes_namespace, model, pod_name");
  EXPECT_EQ(c.selector, R"({kubernetes_namespace="a",model="m"})");
  EXPECT_EQ(c.by_model, "kubernetes_namespace, model");
  // The router queue is per model: relabelled from the gateway's target_model_name to the model label.
  EXPECT_EQ(*render_template(default_template(Signal::kRouterQueue), c),
            R"q(sum by (kubernetes_namespace, model) (label_replace(inference_extension_flow_control_queue_size)q"
            R"q({kubernetes_namespace="a"}, "model", "$1", "target_model_name", "(.+)")))q");
  EXPECT_EQ(signal_group(Signal::kRouterQueue), SignalGroup::kLoad);
}

TEST(PromQL, BatchedPlanIsTwoQueriesTaggedPerSignal) {
  std::array<std::string, kSignalCount> t;
  for (std::size_t k = 0; k < kSignalCount; ++k) t[k] = default_template(static_cast<Signal>(k));
  LabelNames l;
  auto v = make_template_values(l, {"ns"}, {"m"}, 100, "1m", "1m");
  auto plan = plan_queries(t, v, true);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].group, SignalGroup::kReplicas);
  EXPECT_EQ(plan[1].group, SignalGroup::kLoad);
  EXPECT_FALSE(plan[0].single);
  EXPECT_EQ(plan[0].promql.rfind(R"(label_replace(max by (namespace, model_name, pod) (max_over_time()"
                                 R"(vllm:kv_cache_usage_perc{namespace="ns",model_name="m"}[1m])) or max by )"
                                 R"((namespace, model_name, pod) (max_over_time(vllm:gpu_cache_usage_perc{)"
                                 R"(namespace="ns",model_name="m"}[1m])), "wva_signal", "kvCacheUsage", "", ""))",
                                 0),
            0u)
      << plan[0].promql;
  EXPECT_NE(plan[0].promql.find(R"(vllm:cache_config_info{namespace="ns"})"), std::string::npos);
  EXPECT_EQ(plan[1].promql.find("arrivals"), std::string::npos);  // disabled by default
  EXPECT_NE(plan[1].promql.find("vllm:time_per_output_token_seconds_count"), std::string::npos);
  EXPECT_NE(plan[1].promql.find("vllm:inter_token_latency_seconds_count"), std::string::npos);

  auto single = plan_queries(t, v, false);
  EXPECT_EQ(single.size(), kSignalCount - 1);  // arrivals disabled
  ASSERT_TRUE(single[0].single);
  EXPECT_EQ(*single[0].single, Signal::kKvCacheUsage);
  EXPECT_EQ(single[0].promql.find("label_replace"), std::string::npos);
}

// The histograms' buckets are read per Deployment and `le`; the time per output token's in every batched
// load query, tagged like any signal.
TEST(PromQL, BucketSignalsAreReadPerDeploymentAndLe) {
  for (std::size_t k = 0; k < kSignalCount; ++k) {
    const auto s = static_cast<Signal>(k);
    const bool bucket = s == Signal::kPromptTokensBucket || s == Signal::kRequestTpotBucket;
    EXPECT_EQ(is_bucket_signal(s), bucket) << signal_name(s);
    EXPECT_EQ(default_template(s).find(", le)") != std::string::npos, bucket) << signal_name(s);
  }
  EXPECT_EQ(bucket_signal_index(Signal::kPromptTokensBucket), 0u);
  EXPECT_EQ(bucket_signal_index(Signal::kRequestTpotBucket), 1u);
  EXPECT_EQ(signal_name(Signal::kRequestTpotBucket), "requestTpotBucket");
  EXPECT_EQ(signal_group(Signal::kRequestTpotBucket), SignalGroup::kLoad);

  const auto v = make_template_values(LabelNames{}, {"ns"}, {"m"}, 100, "1m", "2m");
  const std::string tpot =
      R"q(sum by (namespace, model_name, wva_deployment, le) (label_replace(rate()q"
      R"q(vllm:request_time_per_output_token_seconds_bucket{namespace="ns",model_name="m"}[2m]), "wva_deployment", )q"
      R"q("$1", "pod", "(.+?)(?:(?:-[bcdfghjklmnpqrstvwxz2456789]{6,10})?-[^-]+)?")))q";
  EXPECT_EQ(*render_template(default_template(Signal::kRequestTpotBucket), v), tpot);
  std::array<std::string, kSignalCount> t;
  for (std::size_t k = 0; k < kSignalCount; ++k) t[k] = default_template(static_cast<Signal>(k));
  const auto plan = plan_queries(t, v, true);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_NE(plan[1].promql.find("label_replace(" + tpot + R"(, "wva_signal", "requestTpotBucket", "", ""))"),
            std::string::npos)
      << plan[1].promql;
  EXPECT_EQ(plan[0].promql.find("request_time_per_output_token"), std::string::npos) << "a load signal";
}

TEST(PromQL, SignalNamesRoundTrip) {
  for (std::size_t k = 0; k < kSignalCount; ++k) {
    const auto s = static_cast<Signal>(k);
    EXPECT_EQ(signal_from_name(signal_name(s)), s);
  }
  EXPECT_FALSE(signal_from_name("kvcache"));
}

}  // namespace
}  // namespace wva::prometheus
