// Integration with a REAL Prometheus (Debian package `prometheus`): it scrapes a small vLLM-format
// metrics server in this test every second; collect() must return the per-pod values and the rates;
// after Prometheus is stopped, collect() reports "Failed to get metrics from Prometheus".
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <mutex>

#include "prerequisite.h"
#include "prometheus_plugin.h"
#include "real_prometheus.h"
#include "response_parser.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

using nlohmann::json;
using testing::make_model;
using testing::RealPrometheus;
using testing::TestContext;

// P(x <= le) of the lognormal with this mean and CV.
double lognormal_cdf(double le, double mean, double cv) {
  const double s2 = std::log1p(cv * cv), mu = std::log(mean) - s2 / 2;
  return 0.5 * std::erfc(-(std::log(le) - mu) / std::sqrt(2 * s2));
}

// vLLM V1's bounds of vllm:request_time_per_output_token_seconds, as prometheus_client writes them.
const std::vector<std::pair<std::string, double>> kTpotBounds = {
    {"0.01", 0.01}, {"0.025", 0.025}, {"0.05", 0.05}, {"0.075", 0.075}, {"0.1", 0.1},  {"0.15", 0.15}, {"0.2", 0.2},
    {"0.3", 0.3},   {"0.4", 0.4},     {"0.5", 0.5},   {"0.75", 0.75},   {"1.0", 1.0},  {"2.5", 2.5},   {"5.0", 5.0},
    {"7.5", 7.5},   {"10.0", 10.0},   {"20.0", 20.0}, {"40.0", 40.0},   {"80.0", 80.0}};

// vLLM exposition for three pods of one model and one pod of another. Counters grow linearly with
// wall time so that their rates are known: per pod 5 completions/s, 200 prompt and 40 generation
// tokens per request, TTFT 50 ms, ITL 12 ms; the completed requests' mean time per output token
// lognormal, of a mean and CV per pod (the granite pod exports no such histogram).
class VllmMetricsServer {
 public:
  VllmMetricsServer() : started_(std::chrono::system_clock::now()) {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(render(), "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~VllmMetricsServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  struct Pod {
    std::string ns, model, pod;
    double kv, waiting, running;
    bool has_waiting = true;
    double tpot_mean = 0, tpot_cv = 0;  // seconds; 0: no TPOT histogram
  };
  static const std::vector<Pod>& pods() {
    static const std::vector<Pod> p = {
        {"llm", "meta/llama-3.1-8b", "llama-h100-0", 0.91, 6, 24, true, 0.03, 0.5},
        {"llm", "meta/llama-3.1-8b", "llama-h100-1", 0.0, 0, 3, true, 0.045, 0.5},
        {"llm", "meta/llama-3.1-8b", "llama-a100-7c9f8d6b5-x2k4q", 0.42, 1, 12, /*has_waiting=*/false, 0.07, 0.4},
        {"other", "granite", "granite-l40s-0", 0.1, 0, 1},
    };
    return p;
  }
  static constexpr double kCompletionRate = 5;  // per pod, requests/s

 private:
  std::string render() const {
    const auto at = testing::exposition_time(started_);
    const double t = at.seconds;
    std::string out;
    auto line = [&](const std::string& name, const Pod& p, double v, bool with_model = true) {
      out += name + "{namespace=\"" + p.ns + "\"," + (with_model ? "model_name=\"" + p.model + "\"," : "") + "pod=\"" +
             p.pod + "\"} " + std::to_string(v) + at.stamp + "\n";
    };
    out += "# TYPE vllm:kv_cache_usage_perc gauge\n";
    for (const auto& p : pods()) line("vllm:kv_cache_usage_perc", p, p.kv);
    out += "# TYPE vllm:num_requests_waiting gauge\n";
    for (const auto& p : pods())
      if (p.has_waiting) line("vllm:num_requests_waiting", p, p.waiting);
    out += "# TYPE vllm:num_requests_running gauge\n";
    for (const auto& p : pods()) line("vllm:num_requests_running", p, p.running);
    out += "# TYPE vllm:cache_config_info gauge\n";
    for (const auto& p : pods())
      out += "vllm:cache_config_info{namespace=\"" + p.ns + "\",pod=\"" + p.pod +
             "\",num_gpu_blocks=\"2048\",block_size=\"16\"} 1\n";
    out += "# TYPE vllm:request_success_total counter\n";
    for (const auto& p : pods()) line("vllm:request_success_total", p, 5 * t);
    out += "# TYPE vllm:request_prompt_tokens histogram\n";
    for (const auto& p : pods()) {
      line("vllm:request_prompt_tokens_sum", p, 200 * 5 * t);
      line("vllm:request_prompt_tokens_count", p, 5 * t);
    }
    out += "# TYPE vllm:request_generation_tokens histogram\n";
    for (const auto& p : pods()) {
      line("vllm:request_generation_tokens_sum", p, 40 * 5 * t);
      line("vllm:request_generation_tokens_count", p, 5 * t);
    }
    out += "# TYPE vllm:time_to_first_token_seconds histogram\n";
    for (const auto& p : pods()) {
      line("vllm:time_to_first_token_seconds_sum", p, 0.05 * 5 * t);
      line("vllm:time_to_first_token_seconds_count", p, 5 * t);
    }
    out += "# TYPE vllm:time_per_output_token_seconds histogram\n";
    for (const auto& p : pods()) {
      line("vllm:time_per_output_token_seconds_sum", p, 0.012 * 200 * t);
      line("vllm:time_per_output_token_seconds_count", p, 200 * t);
    }
    out += "# TYPE vllm:request_time_per_output_token_seconds histogram\n";
    for (const auto& p : pods()) {
      if (p.tpot_mean <= 0) continue;
      const double n = kCompletionRate * t;
      const std::string open = "vllm:request_time_per_output_token_seconds_bucket{namespace=\"" + p.ns +
                               "\",model_name=\"" + p.model + "\",pod=\"" + p.pod + "\",le=\"";
      for (const auto& [le, bound] : kTpotBounds)
        out += open + le + "\"} " + std::to_string(n * lognormal_cdf(bound, p.tpot_mean, p.tpot_cv)) + at.stamp + "\n";
      out += open + "+Inf\"} " + std::to_string(n) + at.stamp + "\n";
      line("vllm:request_time_per_output_token_seconds_sum", p, p.tpot_mean * n);
      line("vllm:request_time_per_output_token_seconds_count", p, n);
    }
    return out;
  }

  std::chrono::system_clock::time_point started_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

std::vector<sdk::ModelView> pipeline_models() {
  auto llama = make_model("llm", "meta/llama-3.1-8b", {{"llama-a100", 1}, {"llama-h100", 2}});
  llama.variants[0].pods.clear();  // cluster-style pod name: mapped by the "llama-a100-" prefix
  return {llama, make_model("other", "granite", {{"granite-l40s", 1}}), make_model("llm", "absent", {{"absent-v", 1}})};
}

const sdk::ReplicaMetrics* pod(const sdk::ModelMetrics& m, const std::string& name) {
  for (const auto& r : m.replicas)
    if (r.pod == name) return &r;
  return nullptr;
}

TEST(RealPrometheus, CollectsPerPodValuesAndReportsOutage) {
  auto binary = testing::find_in_path("prometheus");
  WVA_REQUIRE(binary.has_value()) << "the prometheus binary is not installed (apt-get install prometheus)";
  VllmMetricsServer vllm;
  RealPrometheus prom(*binary, {vllm.target()});
  ASSERT_TRUE(prom.started());
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();

  TestContext ctx;
  PrometheusSource batched, single;
  // rate() divides by the whole window, so with a 1m window the rates are right only after a minute of
  // samples; a 4s window (four scrapes) is right after ~5 s.
  ASSERT_TRUE(batched.configure(
      json{{"url", prom.url()}, {"timeout", "2s"}, {"retries", 1}, {"backoff", "100ms"}, {"rateWindow", "4s"}},
      "sources.prometheus"));
  ASSERT_TRUE(single.configure(json{{"url", prom.url()}, {"batch", false}, {"timeout", "2s"}, {"rateWindow", "4s"}},
                               "sources.p2"));
  ASSERT_TRUE(batched.start(ctx));
  ASSERT_TRUE(single.start(ctx));
  const auto models = pipeline_models();

  // The first samples arrive ~5-6 s after start (discovery tick); rates need a full window. Poll.
  std::map<sdk::ModelKey, sdk::ModelMetrics> got;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  bool complete = false;
  while (!complete && std::chrono::steady_clock::now() < until) {
    auto r = batched.collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
    ASSERT_TRUE(r) << r.error().to_string() << "\n" << prom.log();
    got = std::move(r.value());
    const auto& m = got.at({"llm", "meta/llama-3.1-8b"});
    auto it = m.load_by_variant.find("llama-h100");
    complete = m.state == sdk::MetricsState::kOk && m.replicas.size() == 3 && it != m.load_by_variant.end() &&
               it->second.arrival_rate.value_or(0) > 9.0 && it->second.ttft_ms.has_value() &&
               got.at({"other", "granite"}).state == sdk::MetricsState::kOk;
    if (!complete) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(complete) << "no complete data from Prometheus within 25 s\n" << prom.log();

  const auto& llama = got.at({"llm", "meta/llama-3.1-8b"});
  EXPECT_EQ(batched.last_report().queries.size(), 2u);
  const auto* h0 = pod(llama, "llama-h100-0");
  const auto* h1 = pod(llama, "llama-h100-1");
  const auto* a0 = pod(llama, "llama-a100-7c9f8d6b5-x2k4q");
  ASSERT_TRUE(h0 && h1 && a0);
  EXPECT_EQ(h0->variant, "llama-h100");
  EXPECT_EQ(a0->variant, "llama-a100");
  EXPECT_DOUBLE_EQ(*h0->kv_cache_usage, 0.91);
  EXPECT_DOUBLE_EQ(*h0->waiting, 6.0);
  EXPECT_DOUBLE_EQ(*h0->running, 24.0);
  EXPECT_DOUBLE_EQ(*h0->kv_capacity_tokens, 2048.0 * 16);
  ASSERT_TRUE(h1->kv_cache_usage.has_value());  // a real 0 stays a 0
  EXPECT_DOUBLE_EQ(*h1->kv_cache_usage, 0.0);
  EXPECT_DOUBLE_EQ(*h1->waiting, 0.0);
  EXPECT_FALSE(a0->waiting.has_value());  // the series is absent: nullopt, not 0
  EXPECT_DOUBLE_EQ(*a0->kv_cache_usage, 0.42);
  const auto age = std::chrono::system_clock::now() - h0->sample_time;
  EXPECT_LT(age, std::chrono::seconds(10));

  const auto& h100 = llama.load_by_variant.at("llama-h100");
  EXPECT_NEAR(*h100.arrival_rate, 10.0, 1.0);  // two pods x 5/s
  EXPECT_NEAR(*h100.avg_input_tokens, 200.0, 1.0);
  EXPECT_NEAR(*h100.avg_output_tokens, 40.0, 0.5);
  EXPECT_NEAR(*h100.ttft_ms, 50.0, 0.5);
  EXPECT_NEAR(*h100.itl_ms, 12.0, 0.2);
  EXPECT_NEAR(*llama.load_by_variant.at("llama-a100").arrival_rate, 5.0, 0.5);
  EXPECT_NEAR(*llama.load.arrival_rate, 15.0, 1.5);

  const auto& granite = got.at({"other", "granite"});
  ASSERT_EQ(granite.replicas.size(), 1u);
  EXPECT_DOUBLE_EQ(*granite.replicas[0].kv_cache_usage, 0.1);
  const auto& absent = got.at({"llm", "absent"});
  EXPECT_EQ(absent.state, sdk::MetricsState::kNoData);
  EXPECT_EQ(absent.message.rfind("No pods found for model absent", 0), 0u);

  // The same through one query per signal.
  auto s = single.collect(models, sdk::Deadline::in(std::chrono::seconds(10)));
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(single.last_report().queries.size(), kSignalCount - 1);
  const auto* sh0 = pod(s->at({"llm", "meta/llama-3.1-8b"}), "llama-h100-0");
  ASSERT_NE(sh0, nullptr);
  EXPECT_DOUBLE_EQ(*sh0->kv_cache_usage, 0.91);
  EXPECT_DOUBLE_EQ(*sh0->kv_capacity_tokens, 2048.0 * 16);

  // Prometheus goes away: an error with the FAQ's text, never zeros.
  prom.stop();
  auto down = batched.collect(models, sdk::Deadline::in(std::chrono::seconds(3)));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().message.rfind("Failed to get metrics from Prometheus: ", 0), 0u) << down.error().message;
  EXPECT_EQ(down.error().reason, "PrometheusError");  // the host copies it into MetricsAvailable
  EXPECT_TRUE(ctx.logger_.contains("Failed to get metrics from Prometheus", sdk::LogLevel::kError));
}

// The requests by their mean time per output token: each variant's buckets are its pods' rates summed, the
// model's its variants', read every cycle; the share of requests over 50 ms read from them is the share
// the pods exposed.
TEST(RealPrometheus, RequestTpotBucketsFromTheHistogram) {
  auto binary = testing::find_in_path("prometheus");
  WVA_REQUIRE(binary.has_value()) << "the prometheus binary is not installed (apt-get install prometheus)";
  VllmMetricsServer vllm;
  RealPrometheus prom(*binary, {vllm.target()});
  ASSERT_TRUE(prom.started());
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();

  TestContext ctx;
  PrometheusSource batched, single;
  ASSERT_TRUE(batched.configure(json{{"url", prom.url()}, {"timeout", "2s"}, {"rateWindow", "4s"}}, "sources.p"));
  ASSERT_TRUE(single.configure(json{{"url", prom.url()}, {"timeout", "2s"}, {"rateWindow", "4s"}, {"batch", false}},
                               "sources.p2"));
  ASSERT_TRUE(batched.start(ctx));
  ASSERT_TRUE(single.start(ctx));
  const auto models = pipeline_models();
  const sdk::ModelKey llama_key{"llm", "meta/llama-3.1-8b"};
  const auto rate_of = [](const std::vector<sdk::HistogramBucket>& buckets) {
    return buckets.empty() ? 0.0 : buckets.back().count;  // +Inf: every completed request
  };

  std::map<sdk::ModelKey, sdk::ModelMetrics> got;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  bool complete = false;
  while (!complete && std::chrono::steady_clock::now() < until) {
    auto r = batched.collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
    ASSERT_TRUE(r) << r.error().to_string() << "\n" << prom.log();
    got = std::move(r.value());
    const auto& m = got.at(llama_key);
    const auto variant_rate = [&](const char* v) {
      auto it = m.load_by_variant.find(v);
      return it == m.load_by_variant.end() ? 0.0 : rate_of(it->second.request_tpot_buckets);
    };
    complete = variant_rate("llama-h100") > 9.0 && variant_rate("llama-a100") > 4.5 &&
               got.at({"other", "granite"}).load.arrival_rate.value_or(0) > 4.5;
    if (!complete) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(complete) << "no TPOT buckets from Prometheus within 25 s\n" << prom.log();

  // The share of a variant's (the model's) completed requests over 50 ms, as the pods exposed it.
  const auto above_50ms = [](std::initializer_list<std::size_t> pod_indexes) {
    double above = 0;
    for (std::size_t i : pod_indexes) {
      const auto& p = VllmMetricsServer::pods()[i];
      above += 1 - lognormal_cdf(0.05, p.tpot_mean, p.tpot_cv);
    }
    return above / static_cast<double>(pod_indexes.size());  // equal completion rates
  };
  const struct {
    std::string variant;
    double rate, above;
  } want[] = {{"llama-h100", 2 * VllmMetricsServer::kCompletionRate, above_50ms({0, 1})},
              {"llama-a100", VllmMetricsServer::kCompletionRate, above_50ms({2})}};
  const auto& llama = got.at(llama_key);
  std::vector<sdk::HistogramBucket> summed;
  for (const auto& w : want) {
    const auto& buckets = llama.load_by_variant.at(w.variant).request_tpot_buckets;
    // vLLM's 19 bounds and +Inf, sorted by bound.
    ASSERT_EQ(buckets.size(), kTpotBounds.size() + 1) << w.variant;
    for (std::size_t i = 0; i < kTpotBounds.size(); ++i) EXPECT_EQ(buckets[i].upper_bound, kTpotBounds[i].second);
    EXPECT_EQ(buckets.back().upper_bound, std::numeric_limits<double>::infinity());
    EXPECT_NEAR(rate_of(buckets), w.rate, 0.1 * w.rate) << w.variant;
    const auto above = sdk::util::fraction_above(buckets, 0.05);
    ASSERT_TRUE(above.has_value()) << w.variant;
    EXPECT_NEAR(above->fraction(), w.above, 1e-3) << w.variant;
    sdk::util::add_buckets(summed, buckets);
  }
  EXPECT_GT(want[1].above - want[0].above, 0.3) << "the variants' shares tell them apart";
  // The model: its variants' buckets summed; the share over 50 ms that of its three pods.
  const auto& model_buckets = llama.load.request_tpot_buckets;
  ASSERT_EQ(model_buckets.size(), summed.size());
  for (std::size_t i = 0; i < summed.size(); ++i) {
    EXPECT_EQ(model_buckets[i].upper_bound, summed[i].upper_bound);
    EXPECT_DOUBLE_EQ(model_buckets[i].count, summed[i].count) << model_buckets[i].upper_bound;
  }
  const auto model_above = sdk::util::fraction_above(model_buckets, 0.05);
  ASSERT_TRUE(model_above.has_value());
  EXPECT_NEAR(model_above->fraction(), above_50ms({0, 1, 2}), 1e-3);
  // A model whose pods do not export the histogram: a load, and no buckets (unknown, never zeros).
  const auto& granite = got.at({"other", "granite"});
  EXPECT_TRUE(granite.load.request_tpot_buckets.empty());
  EXPECT_TRUE(granite.load_by_variant.at("granite-l40s").request_tpot_buckets.empty());

  // Read again on the next cycle (not kept as the prompt-length spread is), and unbatched alike.
  for (PrometheusSource* source : {&batched, &single}) {
    auto again = source->collect(models, sdk::Deadline::in(std::chrono::seconds(10)));
    ASSERT_TRUE(again) << again.error().to_string();
    bool queried = false;
    for (const auto& q : source->last_report().queries)
      queried = queried || q.find("vllm:request_time_per_output_token_seconds_bucket{") != std::string::npos;
    EXPECT_TRUE(queried);
    const auto& h100 = again->at(llama_key).load_by_variant.at("llama-h100").request_tpot_buckets;
    ASSERT_EQ(h100.size(), kTpotBounds.size() + 1);
    EXPECT_NEAR(sdk::util::fraction_above(h100, 0.05)->fraction(), want[0].above, 1e-3);
  }
}

// vLLM's prompt-length histogram for prompts whose lengths are lognormal with a known mean and spread:
// each bucket's cumulative count grows at rate x P(length <= le), vLLM's 1-2-5 bounds and +Inf.
class HistogramVllm {
 public:
  struct Pod {
    std::string model, pod;
    double rate, mean, cv;  // requests/s; prompt length mean and CV (cv 0: no histogram exported)
  };
  static const std::vector<Pod>& pods() {
    static const std::vector<Pod> p = {
        {"meta/llama", "llama-h100-0", 4, 8000, 0.4},
        {"meta/llama", "llama-h100-1", 6, 8000, 0.4},
        {"meta/llama", "llama-a100-7c9f8d6b5-x2k4q", 5, 2000, 1.0},
        {"granite", "granite-l40s-0", 3, 500, 0},  // sum and count only: an exporter without the buckets
    };
    return p;
  }
  static constexpr double kBounds[] = {1,    2,    5,    10,    20,    50,    100,    200,   500,
                                       1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000};

  HistogramVllm() : started_(std::chrono::system_clock::now()) {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(render(), "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~HistogramVllm() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  // P(length <= le) of the lognormal with this mean and CV.
  static double cdf(double le, double mean, double cv) { return lognormal_cdf(le, mean, cv); }

 private:
  std::string render() const {
    const auto at = testing::exposition_time(started_);
    const double t = at.seconds;
    std::string out;
    const auto labels = [](const Pod& p, const std::string& extra = "") {
      return "{namespace=\"llm\",model_name=\"" + p.model + "\",pod=\"" + p.pod + "\"" + extra + "}";
    };
    for (const auto& p : pods()) {
      out += "vllm:kv_cache_usage_perc" + labels(p) + " 0.5" + at.stamp + "\n";
      out += "vllm:num_requests_running" + labels(p) + " 2" + at.stamp + "\n";
      out += "vllm:request_success_total" + labels(p) + " " + std::to_string(p.rate * t) + at.stamp + "\n";
    }
    out += "# TYPE vllm:request_prompt_tokens histogram\n";
    for (const auto& p : pods()) {
      const double n = p.rate * t;
      if (p.cv > 0) {
        for (double le : kBounds) {
          char bound[32];  // as vLLM (prometheus_client) writes it: "1000.0"
          std::snprintf(bound, sizeof bound, "%.1f", le);
          out += "vllm:request_prompt_tokens_bucket" + labels(p, ",le=\"" + std::string(bound) + "\"") + " " +
                 std::to_string(n * cdf(le, p.mean, p.cv)) + at.stamp + "\n";
        }
        out +=
            "vllm:request_prompt_tokens_bucket" + labels(p, ",le=\"+Inf\"") + " " + std::to_string(n) + at.stamp + "\n";
      }
      out += "vllm:request_prompt_tokens_sum" + labels(p) + " " + std::to_string(p.mean * n) + at.stamp + "\n";
      out += "vllm:request_prompt_tokens_count" + labels(p) + " " + std::to_string(n) + at.stamp + "\n";
    }
    return out;
  }

  std::chrono::system_clock::time_point started_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

TEST(RealPrometheus, PromptLengthSpreadFromTheHistogram) {
  auto binary = testing::find_in_path("prometheus");
  WVA_REQUIRE(binary.has_value()) << "the prometheus binary is not installed (apt-get install prometheus)";
  HistogramVllm vllm;
  RealPrometheus prom(*binary, {vllm.target()});
  ASSERT_TRUE(prom.started());
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();

  TestContext ctx;
  PrometheusSource every_cycle, single;
  ASSERT_TRUE(every_cycle.configure(
      json{{"url", prom.url()}, {"timeout", "2s"}, {"rateWindow", "4s"}, {"promptSpreadInterval", "0s"}},
      "sources.prometheus"));
  // The default interval (5m), one query per signal: its first cycle with data reads the histogram.
  ASSERT_TRUE(single.configure(json{{"url", prom.url()}, {"timeout", "2s"}, {"rateWindow", "4s"}, {"batch", false}},
                               "sources.p2"));
  ASSERT_TRUE(every_cycle.start(ctx));
  ASSERT_TRUE(single.start(ctx));
  auto llama = make_model("llm", "meta/llama", {{"llama-a100", 1}, {"llama-h100", 2}});
  llama.variants[0].pods.clear();  // cluster-style pod name: mapped by the Deployment the query derives
  const std::vector<sdk::ModelView> models = {llama, make_model("llm", "granite", {{"granite-l40s", 1}})};

  std::map<sdk::ModelKey, sdk::ModelMetrics> got;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  bool complete = false;
  while (!complete && std::chrono::steady_clock::now() < until) {
    auto r = every_cycle.collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
    ASSERT_TRUE(r) << r.error().to_string() << "\n" << prom.log();
    got = std::move(r.value());
    const auto& m = got.at({"llm", "meta/llama"});
    const auto spread = [&](const char* v) {
      auto it = m.load_by_variant.find(v);
      return it != m.load_by_variant.end() && it->second.prompt_tokens_cv.has_value() &&
             it->second.arrival_rate.value_or(0) > 0.8 * (std::string(v) == "llama-h100" ? 10 : 5);
    };
    complete =
        spread("llama-h100") && spread("llama-a100") && got.at({"llm", "granite"}).load.avg_input_tokens.has_value();
    if (!complete) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(complete) << "no prompt-length spread from Prometheus within 25 s\n" << prom.log();
  ASSERT_TRUE(every_cycle.last_report().spread_read);

  // Each variant's spread is its prompts' (the lognormal fit on vLLM's wide buckets: within 10 %).
  const auto& m = got.at({"llm", "meta/llama"});
  const auto& h100 = m.load_by_variant.at("llama-h100");
  const auto& a100 = m.load_by_variant.at("llama-a100");
  EXPECT_NEAR(*h100.avg_input_tokens, 8000, 80);
  EXPECT_NEAR(*h100.prompt_tokens_cv, 0.4, 0.04);
  EXPECT_NEAR(*a100.avg_input_tokens, 2000, 20);
  EXPECT_NEAR(*a100.prompt_tokens_cv, 1.0, 0.1);
  // The model's: the fit of its variants' buckets summed, as Prometheus sums them, with the model's mean.
  httplib::Client c("127.0.0.1", prom.port());
  auto res =
      c.Post("/api/v1/query", httplib::Params{{"query",
                                               "sum by (le) (rate(vllm:request_prompt_tokens_bucket{namespace=\"llm\","
                                               "model_name=\"meta/llama\"}[4s]))"}});
  ASSERT_TRUE(res && res->status == 200);
  auto parsed = parse_response(res->body);
  ASSERT_TRUE(parsed && parsed->success) << res->body;
  std::vector<sdk::util::HistogramBucket> summed;
  for (const auto& s : parsed->samples) summed.push_back({*bucket_bound(*s.label("le")), s.value});
  ASSERT_EQ(summed.size(), 18u);
  ASSERT_TRUE(m.load.avg_input_tokens.has_value());
  const auto want = sdk::util::histogram_cv(summed, *m.load.avg_input_tokens);
  ASSERT_TRUE(want && m.load.prompt_tokens_cv);
  EXPECT_NEAR(*m.load.prompt_tokens_cv, *want, 0.02 * *want);
  EXPECT_GT(*m.load.prompt_tokens_cv, *h100.prompt_tokens_cv + 0.1) << "two populations: wider than either mean's";
  // No histogram exported: the mean, and no spread (never 0).
  const auto& granite = got.at({"llm", "granite"});
  EXPECT_NEAR(*granite.load.avg_input_tokens, 500, 5);
  EXPECT_FALSE(granite.load.prompt_tokens_cv.has_value());
  EXPECT_FALSE(granite.load_by_variant.at("granite-l40s").prompt_tokens_cv.has_value());

  // Unbatched, default interval: the same spreads from its own bucket query.
  auto s = single.collect(models, sdk::Deadline::in(std::chrono::seconds(10)));
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_TRUE(single.last_report().spread_read);
  EXPECT_EQ(single.last_report().queries.size(), kSignalCount - 1);
  const auto& sm = s->at({"llm", "meta/llama"});
  ASSERT_TRUE(sm.load_by_variant.at("llama-h100").prompt_tokens_cv.has_value());
  EXPECT_NEAR(*sm.load_by_variant.at("llama-h100").prompt_tokens_cv, 0.4, 0.04);
  // Its next cycle (within 5 minutes) does not read the histogram and keeps the spreads.
  auto s2 = single.collect(models, sdk::Deadline::in(std::chrono::seconds(10)));
  ASSERT_TRUE(s2) << s2.error().to_string();
  EXPECT_FALSE(single.last_report().spread_read);
  EXPECT_EQ(single.last_report().queries.size(), kSignalCount - 2);
  EXPECT_EQ(s2->at({"llm", "meta/llama"}).load_by_variant.at("llama-h100").prompt_tokens_cv,
            sm.load_by_variant.at("llama-h100").prompt_tokens_cv);
}

}  // namespace
}  // namespace wva::prometheus
