// The chart's recording rules (templates/prometheusrule.yaml) against the source: each rule records
// exactly the source's default query (default labels, no selector, 1m windows), every recorded series
// the source reads has a rule, and the recordingRules setting is validated.
#include <gtest/gtest.h>

#include "chart_rules.h"
#include "promql.h"
#include "settings.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

TEST(RecordingRules, ChartExpressionsEqualTheSourceTemplates) {
  const auto rules = testing::chart_rules(std::string(WVA_CHART_DIR));
  std::size_t recorded = 0;
  for (std::size_t k = 0; k < kSignalCount; ++k) {
    const auto s = static_cast<Signal>(k);
    const std::string metric(recorded_metric(s));
    if (metric.empty()) continue;
    ++recorded;
    ASSERT_TRUE(rules.count(metric)) << "the chart has no rule recording " << metric;
    EXPECT_EQ(rules.at(metric), recording_rule_expr(s)) << metric;
    EXPECT_EQ(recorded_template(s).find(metric), recorded_template(s).find("wva:"));
  }
  EXPECT_EQ(rules.size(), recorded) << "a rule the source never reads";
  EXPECT_EQ(recorded, 14u);
  // The histograms are recorded and read per Deployment and bucket: `le` is kept.
  struct Histogram {
    Signal signal;
    std::string record, raw;
  };
  for (const Histogram& h : {
           Histogram{Signal::kPromptTokensBucket, "wva:vllm_request_prompt_tokens_bucket:rate1m",
                     "vllm:request_prompt_tokens_bucket"},
           Histogram{Signal::kRequestTpotBucket, "wva:vllm_request_time_per_output_token_seconds_bucket:rate1m",
                     "vllm:request_time_per_output_token_seconds_bucket"},
       }) {
    ASSERT_TRUE(rules.count(h.record)) << h.record;
    EXPECT_NE(rules.at(h.record).find("sum by (namespace, model_name, wva_deployment, le) (label_replace(rate(" +
                                      h.raw + "[1m])"),
              std::string::npos)
        << rules.at(h.record);
    EXPECT_EQ(recorded_metric(h.signal), h.record);
    EXPECT_EQ(recorded_template(h.signal), "sum by ({{byDeployment}}, le) (" + h.record + "{{selector}})");
  }
  // The load rules sum per Deployment, the saturation rules keep the pod.
  EXPECT_NE(rules.at("wva:vllm_request_success:rate1m").find("sum by (namespace, model_name, wva_deployment)"),
            std::string::npos);
  EXPECT_NE(rules.at("wva:vllm_kv_cache_usage:max1m").find("max by (namespace, model_name, pod)"), std::string::npos);
}

TEST(RecordingRules, SettingIsValidated) {
  auto bad = parse_config(nlohmann::json{{"url", "http://p:9090"}, {"recordingRules", "onn"}}, "sources.p");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().to_string().find("sources.p.recordingRules"), std::string::npos) << bad.error().to_string();
  EXPECT_NE(bad.error().to_string().find("did you mean \"on\""), std::string::npos) << bad.error().to_string();

  auto windows = parse_config(nlohmann::json{{"url", "http://p:9090"}, {"recordingRules", "on"}, {"rateWindow", "4s"}},
                              "sources.p");
  ASSERT_FALSE(windows);
  EXPECT_NE(windows.error().to_string().find("1m windows"), std::string::npos) << windows.error().to_string();

  auto labels =
      parse_config(nlohmann::json{{"url", "http://p:9090"}, {"recordingRules", "on"}, {"labels", {{"model", "model"}}}},
                   "sources.p");
  ASSERT_FALSE(labels);
  EXPECT_NE(labels.error().to_string().find("labels differ"), std::string::npos);

  auto ok =
      parse_config(nlohmann::json{{"url", "http://p:9090"}, {"recordingRules", "on"}, {"window", "60s"}}, "sources.p");
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->recording_rules, RecordingRules::kOn);
  auto dflt = parse_config(nlohmann::json{{"url", "http://p:9090"}}, "sources.p");
  ASSERT_TRUE(dflt);
  EXPECT_EQ(dflt->recording_rules, RecordingRules::kAuto);
  // auto with other windows is valid: it reads the raw series only.
  auto auto_raw = parse_config(nlohmann::json{{"url", "http://p:9090"}, {"rateWindow", "4s"}}, "sources.p");
  ASSERT_TRUE(auto_raw);
  EXPECT_TRUE(recorded_series_unusable(*auto_raw).has_value());
}

}  // namespace
}  // namespace wva::prometheus
