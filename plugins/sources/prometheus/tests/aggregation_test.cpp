// The per-Deployment aggregation and the recorded-series switch against a REAL Prometheus (Debian
// package `prometheus`) scraping vLLM series labelled as kube-prometheus labels them (namespace, pod,
// container, endpoint, instance, job, service, plus vLLM's model_name) for 2 Deployments with cluster
// pod names (<deployment>-<pod-template-hash>-<id>): the load the source yields per variant equals the
// sum of the per-pod rates Prometheus computes, the load query returns one series per Deployment, and
// with the chart's recording rules loaded the source reads the recorded series and yields the same.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <span>

#include "chart_rules.h"
#include "grouping.h"
#include "prerequisite.h"
#include "prometheus_plugin.h"
#include "real_prometheus.h"
#include "response_parser.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

using nlohmann::json;
using testing::RealPrometheus;
using testing::TestContext;

struct Pod {
  std::string deployment, pod;
  double rate;  // completions per second; the token counters follow
  double kv, waiting;
};

const std::vector<Pod>& pods() {
  static const std::vector<Pod> p = {
      {"llama-h100", "llama-h100-7c9d8f6b5-x2x4z", 1, 0.91, 6}, {"llama-h100", "llama-h100-7c9d8f6b5-b8kfq", 2, 0.5, 0},
      {"llama-h100", "llama-h100-7c9d8f6b5-mz6wp", 4, 0.25, 3}, {"llama-a100", "llama-a100-5f8d9c7b6-q9r2t", 3, 0.7, 1},
      {"llama-a100", "llama-a100-5f8d9c7b6-h4jkw", 5, 0.1, 2},
  };
  return p;
}

// Bounds of the prompt-length histogram the pods export (vLLM's 1-2-5 bounds around their means).
const std::vector<std::pair<std::string, double>> kBuckets = {{"50.0", 50},
                                                              {"100.0", 100},
                                                              {"200.0", 200},
                                                              {"500.0", 500},
                                                              {"1000.0", 1000},
                                                              {"2000.0", 2000},
                                                              {"+Inf", std::numeric_limits<double>::infinity()}};

// Bounds of the time-per-output-token histogram (vLLM V1's, in seconds).
const std::vector<std::pair<std::string, double>> kTpotBuckets = {
    {"0.01", 0.01}, {"0.025", 0.025}, {"0.05", 0.05}, {"0.075", 0.075},
    {"0.1", 0.1},   {"0.15", 0.15},   {"0.2", 0.2},   {"0.3", 0.3},
    {"0.4", 0.4},   {"0.5", 0.5},     {"0.75", 0.75}, {"1.0", 1.0},
    {"2.5", 2.5},   {"5.0", 5.0},     {"7.5", 7.5},   {"10.0", 10.0},
    {"20.0", 20.0}, {"40.0", 40.0},   {"80.0", 80.0}, {"+Inf", std::numeric_limits<double>::infinity()}};

double lognormal_cdf(double x, double mean, double cv) {
  const double s2 = std::log1p(cv * cv), mu = std::log(mean) - s2 / 2;
  return 0.5 * std::erfc(-(std::log(x) - mu) / std::sqrt(2 * s2));
}

// The spread the source should give a variant: the fit of the per-pod bucket rates Prometheus computes,
// summed per Deployment, with the variant's mean.
std::optional<double> expected_spread(const QueryResponse& pod_bucket_rates, const std::string& deployment,
                                      double mean);

// vLLM's exposition with the labels kube-prometheus's ServiceMonitor adds (honor_labels keeps them).
class KubeLabelledVllm {
 public:
  KubeLabelledVllm() : started_(std::chrono::system_clock::now()) {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(render(), "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~KubeLabelledVllm() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string render() const {
    const auto at = testing::exposition_time(started_);
    const double t = at.seconds;
    std::string out;
    int ip = 10;
    for (const auto& p : pods()) {
      const std::string labels = "{container=\"vllm\",endpoint=\"http\",instance=\"10.0.0." + std::to_string(ip++) +
                                 ":8000\",job=\"" + p.deployment +
                                 "\",model_name=\"meta/llama-3.1-8b\",namespace=\"llm\"," + "pod=\"" + p.pod +
                                 "\",service=\"" + p.deployment + "\"}";
      out += "vllm:kv_cache_usage_perc" + labels + " " + std::to_string(p.kv) + at.stamp + "\n";
      out += "vllm:num_requests_waiting" + labels + " " + std::to_string(p.waiting) + at.stamp + "\n";
      out += "vllm:num_requests_running" + labels + " 4" + at.stamp + "\n";
      out += "vllm:request_success_total" + labels + " " + std::to_string(p.rate * t) + at.stamp + "\n";
      out +=
          "vllm:request_prompt_tokens_sum" + labels + " " + std::to_string(100 * p.rate * p.rate * t) + at.stamp + "\n";
      out += "vllm:request_prompt_tokens_count" + labels + " " + std::to_string(p.rate * t) + at.stamp + "\n";
      out += "vllm:request_generation_tokens_sum" + labels + " " + std::to_string(20 * p.rate * t) + at.stamp + "\n";
      out += "vllm:request_generation_tokens_count" + labels + " " + std::to_string(p.rate * t) + at.stamp + "\n";
      out += "vllm:time_to_first_token_seconds_sum" + labels + " " + std::to_string(0.01 * p.rate * p.rate * t) +
             at.stamp + "\n";
      out += "vllm:time_to_first_token_seconds_count" + labels + " " + std::to_string(p.rate * t) + at.stamp + "\n";
      out += "vllm:inter_token_latency_seconds_sum" + labels + " " + std::to_string(0.2 * p.rate * t) + at.stamp + "\n";
      out +=
          "vllm:inter_token_latency_seconds_count" + labels + " " + std::to_string(20 * p.rate * t) + at.stamp + "\n";
      // The prompt-length histogram: lognormal lengths of the pod's mean (100 x rate), CV 0.5.
      const std::string open = labels.substr(0, labels.size() - 1);
      for (const auto& [le, bound] : kBuckets) {
        const double share = std::isinf(bound) ? 1.0 : lognormal_cdf(bound, 100 * p.rate, 0.5);
        out += "vllm:request_prompt_tokens_bucket" + open + ",le=\"" + le + "\"} " +
               std::to_string(share * p.rate * t) + at.stamp + "\n";
      }
      // The completed requests' mean time per output token: lognormal of the pod's mean (20 ms x rate), CV 0.5.
      for (const auto& [le, bound] : kTpotBuckets) {
        const double share = std::isinf(bound) ? 1.0 : lognormal_cdf(bound, 0.02 * p.rate, 0.5);
        out += "vllm:request_time_per_output_token_seconds_bucket" + open + ",le=\"" + le + "\"} " +
               std::to_string(share * p.rate * t) + at.stamp + "\n";
      }
    }
    return out;
  }

  std::chrono::system_clock::time_point started_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

std::vector<sdk::ModelView> models() {
  // The host's view: the Deployments and their pods.
  sdk::ModelView m = testing::make_model("llm", "meta/llama-3.1-8b", {{"llama-a100", 2}, {"llama-h100", 3}});
  for (auto& v : m.variants) {
    v.pods.clear();
    for (const auto& p : pods())
      if (p.deployment == v.name) v.pods.push_back(p.pod);
  }
  return {m};
}

// Per Deployment: the TPOT buckets of its pods' rates as Prometheus computes them, summed.
std::map<std::string, std::vector<sdk::HistogramBucket>> per_pod_tpot_sums(const QueryResponse& pod_bucket_rates) {
  std::map<std::string, std::vector<sdk::HistogramBucket>> out;
  for (const auto& s : pod_bucket_rates.samples)
    for (const auto& p : pods())
      if (*s.label("pod") == p.pod) {
        sdk::HistogramBucket b{*bucket_bound(*s.label("le")), s.value};
        sdk::util::add_buckets(out[p.deployment], std::span(&b, 1));
      }
  return out;
}

// One instant query straight to Prometheus, parsed by the source's parser.
QueryResponse query(const RealPrometheus& prom, const std::string& promql) {
  httplib::Client c("127.0.0.1", prom.port());
  auto r = c.Post("/api/v1/query", httplib::Params{{"query", promql}});
  EXPECT_TRUE(r && r->status == 200) << promql;
  if (!r) return {};
  auto parsed = parse_response(r->body);
  EXPECT_TRUE(parsed && parsed->success) << r->body;
  return parsed.value_or(QueryResponse{});
}

// Per Deployment: the sum of Prometheus's own per-pod rate of `metric` over `window`.
std::map<std::string, double> per_pod_sums(const RealPrometheus& prom, const std::string& metric,
                                           const std::string& window) {
  std::map<std::string, double> out;
  for (const auto& s : query(prom, "rate(" + metric + "{namespace=\"llm\"}[" + window + "])").samples)
    for (const auto& p : pods())
      if (*s.label("pod") == p.pod) out[p.deployment] += s.value;
  return out;
}

std::optional<double> expected_spread(const QueryResponse& pod_bucket_rates, const std::string& deployment,
                                      double mean) {
  std::vector<sdk::util::HistogramBucket> summed;
  for (const auto& s : pod_bucket_rates.samples)
    for (const auto& p : pods())
      if (*s.label("pod") == p.pod && p.deployment == deployment) {
        sdk::util::HistogramBucket b{*bucket_bound(*s.label("le")), s.value};
        sdk::util::add_buckets(summed, std::span(&b, 1));
      }
  EXPECT_EQ(summed.size(), kBuckets.size()) << deployment;
  return sdk::util::histogram_cv(summed, mean);
}

std::unique_ptr<PrometheusSource> source(TestContext& ctx, const json& cfg) {
  auto s = std::make_unique<PrometheusSource>();
  auto c = s->configure(cfg, "sources.prometheus");
  EXPECT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(s->start(ctx));
  return s;
}

TEST(RealPrometheusAggregation, PerDeploymentLoadEqualsTheSumOfItsPods) {
  auto binary = testing::find_in_path("prometheus");
  WVA_REQUIRE(binary.has_value()) << "the prometheus binary is not installed (apt-get install prometheus)";
  KubeLabelledVllm vllm;
  RealPrometheus prom(*binary, {vllm.target()});
  ASSERT_TRUE(prom.started());
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();
  TestContext ctx;
  // A 4s window is right after ~5 scrapes (rate() over a 1m window is not, in the first minute).
  // promptSpreadInterval 0s: every cycle's load query holds the histogram (the last one is checked below).
  auto src =
      source(ctx, json{{"url", prom.url()}, {"timeout", "2s"}, {"rateWindow", "4s"}, {"promptSpreadInterval", "0s"}});
  const auto ms = models();

  std::map<sdk::ModelKey, sdk::ModelMetrics> got;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  bool complete = false;
  while (!complete && std::chrono::steady_clock::now() < until) {
    auto r = src->collect(ms, sdk::Deadline::in(std::chrono::seconds(5)));
    ASSERT_TRUE(r) << r.error().to_string() << "\n" << prom.log();
    got = std::move(r.value());
    const auto& m = got.begin()->second;
    complete = m.replicas.size() == 5 && m.load_by_variant.size() == 2 &&
               m.load_by_variant.at("llama-h100").arrival_rate.value_or(0) > 6.5 &&
               m.load_by_variant.at("llama-a100").arrival_rate.value_or(0) > 7.5;
    if (!complete) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(complete) << "no complete data from Prometheus within 25 s\n" << prom.log();
  const auto& m = got.begin()->second;
  const auto report = src->last_report();
  ASSERT_EQ(report.queries.size(), 2u) << "auto never probes with a 4s rateWindow";

  // The load query returns one series per Deployment and signal, not one per pod (and per bucket of the
  // prompt-length and time-per-output-token histograms).
  const auto load = query(prom, report.queries[1]);
  EXPECT_EQ(load.samples.size(), 2u * (10u + kBuckets.size() + kTpotBuckets.size())) << report.queries[1];
  std::map<std::string, std::size_t> buckets;
  for (const auto& s : load.samples) {
    EXPECT_EQ(s.label("pod"), nullptr);
    ASSERT_NE(s.label("wva_deployment"), nullptr);
    EXPECT_TRUE(*s.label("wva_deployment") == "llama-h100" || *s.label("wva_deployment") == "llama-a100");
    const std::string signal(*s.label("wva_signal"));
    if (signal == "promptTokensBucket" || signal == "requestTpotBucket") {
      ++buckets[signal];
      ASSERT_NE(s.label("le"), nullptr);
    } else {
      EXPECT_EQ(s.label("le"), nullptr);
    }
  }
  EXPECT_EQ(buckets["promptTokensBucket"], 2u * kBuckets.size());
  EXPECT_EQ(buckets["requestTpotBucket"], 2u * kTpotBuckets.size());

  // Each variant's figures equal the sums of the per-pod rates Prometheus computes.
  const auto completions = per_pod_sums(prom, "vllm:request_success_total", "4s");
  const auto prompt = per_pod_sums(prom, "vllm:request_prompt_tokens_sum", "4s");
  const auto ttft_sum = per_pod_sums(prom, "vllm:time_to_first_token_seconds_sum", "4s");
  const auto ttft_count = per_pod_sums(prom, "vllm:time_to_first_token_seconds_count", "4s");
  const auto bucket_rates = query(prom, "rate(vllm:request_prompt_tokens_bucket{namespace=\"llm\"}[4s])");
  const auto tpot_sums =
      per_pod_tpot_sums(query(prom, "rate(vllm:request_time_per_output_token_seconds_bucket{namespace=\"llm\"}[4s])"));
  for (const auto& [variant, truth] : std::map<std::string, double>{{"llama-h100", 7.0}, {"llama-a100", 8.0}}) {
    const auto& l = m.load_by_variant.at(variant);
    EXPECT_NEAR(*l.arrival_rate, completions.at(variant), 0.02 * truth) << variant;  // + queue growth 0
    EXPECT_NEAR(*l.arrival_rate, truth, 0.05 * truth) << variant;
    EXPECT_NEAR(*l.prompt_tokens_rate, prompt.at(variant), 0.02 * prompt.at(variant)) << variant;
    EXPECT_NEAR(*l.ttft_ms, 1000 * ttft_sum.at(variant) / ttft_count.at(variant), 0.5) << variant;
    EXPECT_NEAR(*l.avg_output_tokens, 20.0, 0.2) << variant;
    EXPECT_NEAR(*l.itl_ms, 10.0, 0.1) << variant;
    // The spread: the fit of its pods' bucket rates summed (the same buckets, not just one pod's).
    ASSERT_TRUE(l.prompt_tokens_cv.has_value()) << variant;
    const auto want = expected_spread(bucket_rates, variant, *l.avg_input_tokens);
    ASSERT_TRUE(want.has_value());
    EXPECT_NEAR(*l.prompt_tokens_cv, *want, 0.02 * *want) << variant;
    // The TPOT buckets: its pods' bucket rates summed, bound by bound.
    const auto& tpot = tpot_sums.at(variant);
    ASSERT_EQ(l.request_tpot_buckets.size(), kTpotBuckets.size()) << variant;
    ASSERT_EQ(tpot.size(), kTpotBuckets.size()) << variant;
    for (std::size_t i = 0; i < tpot.size(); ++i) {
      EXPECT_EQ(l.request_tpot_buckets[i].upper_bound, kTpotBuckets[i].second) << variant;
      EXPECT_NEAR(l.request_tpot_buckets[i].count, tpot[i].count, 0.02 * tpot.back().count)
          << variant << " le " << kTpotBuckets[i].first;
    }
  }
  // The model's: both Deployments' buckets summed.
  ASSERT_EQ(m.load.request_tpot_buckets.size(), kTpotBuckets.size());
  for (std::size_t i = 0; i < kTpotBuckets.size(); ++i)
    EXPECT_DOUBLE_EQ(m.load.request_tpot_buckets[i].count,
                     m.load_by_variant.at("llama-a100").request_tpot_buckets[i].count +
                         m.load_by_variant.at("llama-h100").request_tpot_buckets[i].count);
  // The model's: every pod's buckets with the model's mean; wider than a variant's (two means).
  ASSERT_TRUE(m.load.prompt_tokens_cv.has_value());
  EXPECT_GT(*m.load.prompt_tokens_cv, *m.load_by_variant.at("llama-a100").prompt_tokens_cv);
  // Weighted by the pods' rates: h100 pods 1, 2, 4 req/s with 100 x rate prompt tokens each.
  EXPECT_NEAR(*m.load_by_variant.at("llama-h100").avg_input_tokens, 100.0 * (1 + 4 + 16) / 7, 3.0);
  EXPECT_NEAR(*m.load.arrival_rate, 15.0, 0.75);
  // The per-pod signals stay per pod.
  for (const auto& p : pods()) {
    const sdk::ReplicaMetrics* r = nullptr;
    for (const auto& x : m.replicas)
      if (x.pod == p.pod) r = &x;
    ASSERT_NE(r, nullptr) << p.pod;
    EXPECT_EQ(r->variant, p.deployment);
    EXPECT_DOUBLE_EQ(*r->kv_cache_usage, p.kv);
    EXPECT_DOUBLE_EQ(*r->waiting, p.waiting);
  }
}

TEST(RealPrometheusAggregation, RecordedSeriesWhenTheChartRulesAreLoaded) {
  auto binary = testing::find_in_path("prometheus");
  WVA_REQUIRE(binary.has_value()) << "the prometheus binary is not installed (apt-get install prometheus)";
  KubeLabelledVllm vllm;
  RealPrometheus prom(*binary, {vllm.target()}, testing::chart_rule_file(WVA_CHART_DIR));
  ASSERT_TRUE(prom.started());
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();
  TestContext ctx;
  const auto ms = models();

  // Wait until the rules recorded every Deployment's request rate and every pod's KV use.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool recorded = false;
  while (!recorded && std::chrono::steady_clock::now() < until) {
    recorded = query(prom, "wva:vllm_request_success:rate1m > 0").samples.size() == 2 &&
               query(prom, "wva:vllm_kv_cache_usage:max1m").samples.size() == 5 &&
               query(prom, "wva:vllm_request_prompt_tokens_bucket:rate1m").samples.size() == 2 * kBuckets.size() &&
               query(prom, "wva:vllm_request_time_per_output_token_seconds_bucket:rate1m").samples.size() ==
                   2 * kTpotBuckets.size();
    if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(recorded) << "the chart's rules recorded nothing within 30 s\n" << prom.log();
  // Samples about 10 s old: a 1m rate still grows with the series' age (about 10% a second at 10 s);
  // the two sources below query within a few ms of each other but the rules lag by up to 1 s.
  std::this_thread::sleep_for(std::chrono::seconds(8));

  auto with_rules = source(ctx, json{{"url", prom.url()}, {"timeout", "2s"}});  // recordingRules: auto
  auto raw = source(ctx, json{{"url", prom.url()}, {"timeout", "2s"}, {"recordingRules", "off"}});
  auto a = with_rules->collect(ms, sdk::Deadline::in(std::chrono::seconds(5)));
  auto b = raw->collect(ms, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(a) << a.error().to_string();
  ASSERT_TRUE(b) << b.error().to_string();
  const auto report = with_rules->last_report();
  ASSERT_EQ(report.queries.size(), 3u);  // probe, replicas, load
  EXPECT_EQ(report.recorded.count(), 14u) << "every rule of the chart is found";
  for (const char* histogram : {"wva:vllm_request_prompt_tokens_bucket:rate1m{",
                                "wva:vllm_request_time_per_output_token_seconds_bucket:rate1m{"})
    EXPECT_NE(report.queries[2].find("sum by (namespace, model_name, wva_deployment, le) (" + std::string(histogram)),
              std::string::npos)
        << report.queries[2];
  EXPECT_NE(report.queries[1].find("wva:vllm_kv_cache_usage:max1m{"), std::string::npos);
  EXPECT_NE(report.queries[2].find("wva:vllm_request_success:rate1m{"), std::string::npos);
  EXPECT_EQ(report.queries[2].find("rate(vllm:"), std::string::npos);
  EXPECT_TRUE(raw->last_report().recorded.none());
  ASSERT_EQ(raw->last_report().queries.size(), 2u);
  EXPECT_EQ(raw->last_report().queries[1].find("wva:"), std::string::npos);

  const auto& x = a->begin()->second;
  const auto& y = b->begin()->second;
  ASSERT_EQ(x.replicas.size(), 5u);
  ASSERT_EQ(y.replicas.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {  // constant gauges: the recorded 1m maxima are exact
    EXPECT_EQ(x.replicas[i].pod, y.replicas[i].pod);
    EXPECT_EQ(x.replicas[i].kv_cache_usage, y.replicas[i].kv_cache_usage) << x.replicas[i].pod;
    EXPECT_EQ(x.replicas[i].waiting, y.replicas[i].waiting) << x.replicas[i].pod;
  }
  ASSERT_EQ(x.load_by_variant.size(), 2u);
  for (const auto& [variant, l] : y.load_by_variant) {
    const auto& r = x.load_by_variant.at(variant);
    EXPECT_NEAR(*r.arrival_rate, *l.arrival_rate, 0.2 * *l.arrival_rate) << variant;
    EXPECT_GT(*r.arrival_rate, 0.0);
    // Ratios of two rates of the same age: exact up to the lag.
    EXPECT_NEAR(*r.avg_output_tokens, 20.0, 0.5) << variant;
    EXPECT_NEAR(*r.itl_ms, 10.0, 0.3) << variant;
    EXPECT_NEAR(*r.avg_input_tokens, *l.avg_input_tokens, 0.02 * *l.avg_input_tokens) << variant;
    ASSERT_TRUE(r.prompt_tokens_cv.has_value()) << variant;
    ASSERT_TRUE(l.prompt_tokens_cv.has_value()) << variant;
    EXPECT_NEAR(*r.prompt_tokens_cv, *l.prompt_tokens_cv, 0.03 * *l.prompt_tokens_cv) << variant;
    // The TPOT buckets, recorded and raw: the same layout, the same share over 50 ms (a ratio of rates).
    ASSERT_EQ(r.request_tpot_buckets.size(), kTpotBuckets.size()) << variant;
    ASSERT_EQ(l.request_tpot_buckets.size(), kTpotBuckets.size()) << variant;
    const auto recorded_above = sdk::util::fraction_above(r.request_tpot_buckets, 0.05);
    const auto raw_above = sdk::util::fraction_above(l.request_tpot_buckets, 0.05);
    ASSERT_TRUE(recorded_above && raw_above) << variant;
    EXPECT_NEAR(recorded_above->fraction(), raw_above->fraction(), 0.01) << variant;
  }
  ASSERT_EQ(x.load.request_tpot_buckets.size(), kTpotBuckets.size());
  ASSERT_TRUE(x.load.prompt_tokens_cv && y.load.prompt_tokens_cv);
  EXPECT_NEAR(*x.load.prompt_tokens_cv, *y.load.prompt_tokens_cv, 0.03 * *y.load.prompt_tokens_cv);
}

}  // namespace
}  // namespace wva::prometheus
