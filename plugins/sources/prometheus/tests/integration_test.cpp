// Integration with a REAL Prometheus (Debian package `prometheus`): it scrapes a small vLLM-format
// metrics server in this test every second; collect() must return the per-pod values and the rates;
// after Prometheus is stopped, collect() reports "Failed to get metrics from Prometheus".
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <mutex>

#include "prerequisite.h"
#include "prometheus_plugin.h"
#include "real_prometheus.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

using nlohmann::json;
using testing::make_model;
using testing::RealPrometheus;
using testing::TestContext;

// vLLM exposition for three pods of one model and one pod of another. Counters grow linearly with
// wall time so that their rates are known: per pod 5 completions/s, 200 prompt and 40 generation
// tokens per request, TTFT 50 ms, ITL 12 ms.
class VllmMetricsServer {
 public:
  VllmMetricsServer() : started_(std::chrono::steady_clock::now()) {
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
  };
  static const std::vector<Pod>& pods() {
    static const std::vector<Pod> p = {
        {"llm", "meta/llama-3.1-8b", "llama-h100-0", 0.91, 6, 24},
        {"llm", "meta/llama-3.1-8b", "llama-h100-1", 0.0, 0, 3},
        {"llm", "meta/llama-3.1-8b", "llama-a100-7c9f8d6b5-x2k4q", 0.42, 1, 12, /*has_waiting=*/false},
        {"other", "granite", "granite-l40s-0", 0.1, 0, 1},
    };
    return p;
  }

 private:
  std::string render() const {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count() + 100.0;
    std::string out;
    auto line = [&](const std::string& name, const Pod& p, double v, bool with_model = true) {
      out += name + "{namespace=\"" + p.ns + "\"," + (with_model ? "model_name=\"" + p.model + "\"," : "") + "pod=\"" +
             p.pod + "\"} " + std::to_string(v) + "\n";
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
    return out;
  }

  std::chrono::steady_clock::time_point started_;
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

}  // namespace
}  // namespace wva::prometheus
