// The source over HTTP against a fake Prometheus: the PromQL sent, batching, retries, deadline, HTTP
// errors, bad JSON, a transfer cut and retried, token rotation, headers, connection reuse and TLS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fake_prometheus.h"
#include "prerequisite.h"
#include "prometheus_plugin.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

using nlohmann::json;
using testing::FakePrometheus;
using testing::make_model;
using testing::Reply;
using testing::TestContext;
namespace fs = std::filesystem;

std::string vector_body(const std::vector<std::pair<json, std::string>>& series) {
  json result = json::array();
  for (const auto& [metric, value] : series) result.push_back({{"metric", metric}, {"value", {1795808585.05, value}}});
  return json{{"status", "success"}, {"data", {{"resultType", "vector"}, {"result", result}}}}.dump();
}

json tag(const std::string& signal, const std::string& ns, const std::string& model, const std::string& pod) {
  return {{"wva_signal", signal}, {"namespace", ns}, {"model_name", model}, {"pod", pod}};
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/wva-prom-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

class HttpTest : public ::testing::Test {
 protected:
  std::unique_ptr<PrometheusSource> make_source(json config) {
    auto s = std::make_unique<PrometheusSource>();
    auto c = s->configure(config, "sources.prometheus");
    EXPECT_TRUE(c) << c.error().to_string();
    auto st = s->start(ctx_);
    EXPECT_TRUE(st) << st.error().to_string();
    return s;
  }
  // recordingRules off: these tests count and read the raw queries (RecordingRules* test the probe).
  json base() const {
    return json{{"url", server_.url()}, {"retries", 2}, {"backoff", "10ms"}, {"recordingRules", "off"}};
  }

  FakePrometheus server_;
  TestContext ctx_;
};

TEST_F(HttpTest, ExactPromQLWithEscapedLabelValues) {
  json q = json::object();
  for (const auto& n : signal_names()) q[n] = "";
  q["kvCacheUsage"] = "max by ({{by}}) (max_over_time(vllm:kv_cache_usage_perc{{selector}}[{{window}}]))";
  auto cfg = base();
  cfg["queries"] = q;
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns.a", "meta/llama-3.1", {{"v", 1}}),
                                        make_model("ns2", "m\"q", {{"w", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  auto got = server_.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(
      got[0].query,
      R"(label_replace(max by (namespace, model_name, pod) (max_over_time(vllm:kv_cache_usage_perc{)"
      R"(namespace=~"ns\\.a|ns2",model_name=~"m\"q|meta/llama-3\\.1"}[1m])), "wva_signal", "kvCacheUsage", "", ""))");
  EXPECT_EQ(got[0].content_type, "application/x-www-form-urlencoded");
}

TEST_F(HttpTest, QueryCountDoesNotGrowWithModels) {
  auto src = make_source(base());
  for (int n : {1, 10, 300}) {
    server_.clear();
    std::vector<sdk::ModelView> models;
    for (int i = 0; i < n; ++i)
      models.push_back(make_model("ns" + std::to_string(i % 7), "m" + std::to_string(i), {{"v", 2}}));
    auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->size(), static_cast<std::size_t>(n));
    EXPECT_EQ(server_.received().size(), 2u) << n << " models";  // saturation group + load group
  }
  // Unbatched: one query per enabled signal, still independent of the model count.
  auto cfg = base();
  cfg["batch"] = false;
  auto single = make_source(cfg);
  server_.clear();
  std::vector<sdk::ModelView> models;
  for (int i = 0; i < 50; ++i) models.push_back(make_model("ns", "m" + std::to_string(i), {{"v", 1}}));
  ASSERT_TRUE(single->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  EXPECT_EQ(server_.received().size(), kSignalCount - 1);  // arrivals is disabled by default
}

TEST_F(HttpTest, CollectGroupsResponses) {
  server_.set_handler([](const testing::Received& r) {
    Reply reply;
    if (r.query.find("kvCacheUsage") != std::string::npos) {
      reply.body = vector_body({{tag("kvCacheUsage", "llm", "m", "m-h100-0"), "0.91"},
                                {tag("kvCacheUsage", "llm", "m", "m-h100-1"), "0"},
                                {tag("waiting", "llm", "m", "m-h100-0"), "6"},
                                {tag("running", "llm", "m", "m-h100-0"), "NaN"}});
    } else {
      reply.body = vector_body(
          {{tag("completions", "llm", "m", "m-h100-0"), "2.5"}, {tag("completions", "llm", "m", "m-h100-1"), "1.5"}});
    }
    return reply;
  });
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"m-h100", 2}}), make_model("llm", "idle", {{"i", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  const auto& m = r->at({"llm", "m"});
  EXPECT_EQ(m.state, sdk::MetricsState::kOk);
  ASSERT_EQ(m.replicas.size(), 2u);
  EXPECT_EQ(m.replicas[0].kv_cache_usage, 0.91);
  EXPECT_EQ(m.replicas[0].waiting, 6.0);
  EXPECT_FALSE(m.replicas[0].running.has_value());  // NaN: absent
  EXPECT_EQ(m.replicas[1].kv_cache_usage, 0.0);     // a real 0
  EXPECT_FALSE(m.replicas[1].waiting.has_value());  // no series: absent
  EXPECT_DOUBLE_EQ(*m.load_by_variant.at("m-h100").arrival_rate, 4.0);
  const auto& idle = r->at({"llm", "idle"});
  EXPECT_EQ(idle.state, sdk::MetricsState::kNoData);
  EXPECT_NE(idle.message.find("No pods found for model idle"), std::string::npos);
  EXPECT_TRUE(ctx_.logger_.contains("No pods found for model idle", sdk::LogLevel::kWarn));
  EXPECT_EQ(ctx_.metrics_.counter("wva_prometheus_queries_total/ok"), 2.0);
}

TEST_F(HttpTest, KvCapacityIsReadAgainOnlyForNewPodsAndEveryFewMinutes) {
  // vllm:cache_config_info is fixed per vLLM process: read with the per-pod group while a listed pod has
  // no capacity yet and every CapacityCache::kRefresh, otherwise the kept values are used.
  std::atomic<int> capacity_blocks{2048};
  server_.set_handler([&](const testing::Received& r) {
    Reply reply;
    if (r.query.find("kvCacheUsage") == std::string::npos) {
      reply.body = vector_body({});
      return reply;
    }
    std::vector<std::pair<json, std::string>> series;
    for (const char* pod : {"m-h100-0", "m-h100-1", "m-h100-2"})
      series.push_back({tag("kvCacheUsage", "llm", "m", pod), "0.5"});
    if (r.query.find("cache_config_info") != std::string::npos)
      for (const char* pod : {"m-h100-0", "m-h100-1"})  // m-h100-2 not scraped yet
        series.push_back({{{"wva_signal", "kvCapacity"},
                           {"namespace", "llm"},
                           {"pod", pod},
                           {"num_gpu_blocks", std::to_string(capacity_blocks.load())},
                           {"block_size", "16"}},
                          "1"});
    reply.body = vector_body(series);
    return reply;
  });
  auto src = make_source(base());
  const auto reads_capacity = [&] {
    for (const auto& q : server_.received())
      if (q.query.find("cache_config_info") != std::string::npos) return true;
    return false;
  };
  const auto capacity_of = [](const sdk::ModelMetrics& m, std::size_t i) {
    return m.replicas.at(i).kv_capacity_tokens.value_or(-1);
  };
  std::vector<sdk::ModelView> two = {make_model("llm", "m", {{"m-h100", 2}})};
  auto r = src->collect(two, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(reads_capacity());
  EXPECT_FALSE(src->last_report().capacity_cached);
  EXPECT_EQ(capacity_of(r->at({"llm", "m"}), 0), 2048.0 * 16);

  // The same pods: not read, the same capacities (a changed exporter value is not seen until a refresh).
  capacity_blocks = 4096;
  server_.clear();
  r = src->collect(two, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(reads_capacity());
  EXPECT_TRUE(src->last_report().capacity_cached);
  EXPECT_EQ(server_.received().size(), 2u);
  ASSERT_EQ(r->at({"llm", "m"}).replicas.size(), 3u);
  EXPECT_EQ(capacity_of(r->at({"llm", "m"}), 0), 2048.0 * 16);
  EXPECT_EQ(capacity_of(r->at({"llm", "m"}), 1), 2048.0 * 16);
  EXPECT_EQ(capacity_of(r->at({"llm", "m"}), 2), -1);  // never reported: absent, not 0

  // A listed pod without a capacity (new, or not scraped yet) is asked for every cycle, never cached as
  // absent.
  std::vector<sdk::ModelView> three = {make_model("llm", "m", {{"m-h100", 3}})};
  for (int cycle = 0; cycle < 2; ++cycle) {
    server_.clear();
    r = src->collect(three, sdk::Deadline::in(std::chrono::seconds(5)));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(reads_capacity()) << "cycle " << cycle;
    EXPECT_EQ(capacity_of(r->at({"llm", "m"}), 0), 4096.0 * 16);
  }

  // Back to two pods: cached again, until the refresh interval has passed.
  server_.clear();
  ASSERT_TRUE(src->collect(two, sdk::Deadline::in(std::chrono::seconds(5))));
  EXPECT_FALSE(reads_capacity());
  ctx_.clock_.offset = CapacityCache::kRefresh;
  server_.clear();
  ASSERT_TRUE(src->collect(two, sdk::Deadline::in(std::chrono::seconds(5))));
  EXPECT_TRUE(reads_capacity());

  // A custom kvCapacity template is read every cycle (it may not be fixed).
  auto cfg = base();
  cfg["queries"] = {{"kvCapacity", "max by ({{byPod}}, num_gpu_blocks, block_size) (vllm:cache_config_info)"}};
  auto custom = make_source(cfg);
  for (int cycle = 0; cycle < 2; ++cycle) {
    server_.clear();
    ASSERT_TRUE(custom->collect(two, sdk::Deadline::in(std::chrono::seconds(5))));
    EXPECT_TRUE(reads_capacity()) << "cycle " << cycle;
  }
}

TEST_F(HttpTest, RetriesServerErrorsThenSucceeds) {
  server_.push({500, "oops"});
  server_.push({503, R"({"status":"error","errorType":"unavailable","error":"too busy"})"});
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  auto rep = src->last_report();
  ASSERT_EQ(rep.stats.size(), 2u);
  EXPECT_EQ(rep.stats[0].attempts, 3);
  EXPECT_EQ(rep.stats[1].attempts, 1);
}

TEST_F(HttpTest, GivesUpAfterRetriesWithTheFaqText) {
  server_.set_handler([](const testing::Received&) {
    return Reply{503, R"({"status":"error","errorType":"unavailable","error":"too busy"})"};
  });
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message,
            "Failed to get metrics from Prometheus: HTTP 503: unavailable: too busy (after 3 attempts)");
  EXPECT_EQ(server_.received().size(), 3u);  // the load query is not sent after the saturation query failed
  EXPECT_TRUE(ctx_.logger_.contains("Failed to get metrics from Prometheus", sdk::LogLevel::kError));
  EXPECT_EQ(ctx_.metrics_.counter("wva_prometheus_queries_total/error"), 1.0);
}

TEST_F(HttpTest, QueryErrorsAreNotRetried) {
  server_.push({400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})"});
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Failed to get metrics from Prometheus: HTTP 400: bad_data: parse error at char 5");
  EXPECT_EQ(server_.received().size(), 1u);
}

TEST_F(HttpTest, BadJsonIsAnErrorNotZeros) {
  server_.push({200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{)"});
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Failed to get metrics from Prometheus: invalid Prometheus response at byte"),
            std::string::npos)
      << r.error().message;
}

TEST_F(HttpTest, SuccessStatusWithErrorBody) {
  server_.push({200, R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})"});
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("timeout: query timed out"), std::string::npos);
}

TEST_F(HttpTest, DeadlineBoundsSlowServerAndRetries) {
  server_.set_handler([](const testing::Received&) {
    return Reply{200, R"({"status":"success","data":{"resultType":"vector","result":[]}})",
                 std::chrono::milliseconds(3000)};
  });
  auto cfg = base();
  cfg["timeout"] = "5s";
  cfg["retries"] = 5;
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::milliseconds(400)));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kTimeout);
  EXPECT_NE(r.error().message.find("Failed to get metrics from Prometheus"), std::string::npos);
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
  EXPECT_GE(elapsed, std::chrono::milliseconds(350));
}

TEST_F(HttpTest, PerAttemptTimeoutThenRetrySucceeds) {
  server_.push({200, "{}", std::chrono::milliseconds(2000)});  // first attempt hangs past the 200 ms timeout
  auto cfg = base();
  cfg["timeout"] = "200ms";
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(src->last_report().stats[0].attempts, 2);
}

TEST_F(HttpTest, LoadQueryFailureKeepsSaturationSignals) {
  server_.set_handler([](const testing::Received& r) {
    if (r.query.find("completions") != std::string::npos)
      return Reply{422, R"({"status":"error","errorType":"execution","error":"many-to-many matching"})"};
    return Reply{200, vector_body({{tag("kvCacheUsage", "ns", "m", "v-0"), "0.4"}})};
  });
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  const auto& m = r->at({"ns", "m"});
  EXPECT_EQ(m.state, sdk::MetricsState::kOk);
  EXPECT_EQ(m.replicas.at(0).kv_cache_usage, 0.4);
  EXPECT_TRUE(m.load_by_variant.empty());
  EXPECT_FALSE(m.load.arrival_rate.has_value());
  EXPECT_NE(src->last_report().load_error.find("execution: many-to-many"), std::string::npos);
}

TEST_F(HttpTest, LoadResponseCutAfterSomeSeriesLeavesNoPartialLoad) {
  // The load response is valid up to its second series, then cut: the first series must not count.
  json dep = {{"wva_signal", "completions"}, {"namespace", "ns"}, {"model_name", "m"}, {"wva_deployment", "v"}};
  const std::string full = vector_body({{dep, "7"}, {dep, "8"}});
  server_.set_handler([&](const testing::Received& r) {
    if (r.query.find("completions") != std::string::npos) return Reply{200, full.substr(0, full.rfind("\"value\""))};
    return Reply{200, vector_body({{tag("kvCacheUsage", "ns", "m", "v-0"), "0.4"}})};
  });
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  const auto& m = r->at({"ns", "m"});
  EXPECT_EQ(m.replicas.at(0).kv_cache_usage, 0.4);
  EXPECT_TRUE(m.load_by_variant.empty());
  EXPECT_FALSE(m.load.arrival_rate.has_value()) << "a partial load response is no load";
  EXPECT_NE(src->last_report().load_error.find("invalid Prometheus response at byte"), std::string::npos)
      << src->last_report().load_error;
  // The whole response: its two series add up for the Deployment.
  server_.set_handler([&](const testing::Received& r) {
    if (r.query.find("completions") != std::string::npos) return Reply{200, full};
    return Reply{200, vector_body({{tag("kvCacheUsage", "ns", "m", "v-0"), "0.4"}})};
  });
  auto again = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at({"ns", "m"}).load_by_variant.at("v").arrival_rate, 15.0);
}

// The prompt-length histogram (promptTokensBucket): ~18 series per Deployment and a fit per variant and
// model, so read every promptSpreadInterval (and every cycle until a read fits a spread, or after a failed
// read); in between the spreads last fitted are filled in, only for loads that have a mean this cycle.
TEST_F(HttpTest, PromptSpreadIsReadEveryIntervalAndKeptBetween) {
  std::atomic<bool> with_mean{true}, load_fails{false};
  std::atomic<int> scale{1};  // the +Inf bucket's share: changes the shape, hence the fit
  const auto bucket = [](const std::string& deployment, const std::string& le) {
    return json{{"wva_signal", "promptTokensBucket"},
                {"namespace", "llm"},
                {"model_name", "m"},
                {"wva_deployment", deployment},
                {"le", le}};
  };
  const auto deployment = [](const std::string& signal, const std::string& d) {
    return json{{"wva_signal", signal}, {"namespace", "llm"}, {"model_name", "m"}, {"wva_deployment", d}};
  };
  server_.set_handler([&](const testing::Received& r) {
    if (r.query.find("kvCacheUsage") != std::string::npos)
      return Reply{200, vector_body({{tag("kvCacheUsage", "llm", "m", "a-0"), "0.5"},
                                     {tag("kvCacheUsage", "llm", "m", "b-0"), "0.5"}})};
    if (load_fails) return Reply{503, "overloaded"};
    std::vector<std::pair<json, std::string>> series;
    if (with_mean)
      for (const char* d : {"a", "b"}) {
        series.push_back({deployment("promptTokensSum", d), "8000"});
        series.push_back({deployment("promptTokensCount", d), "4"});
      }
    if (r.query.find("promptTokensBucket") != std::string::npos) {
      series.push_back({bucket("a", "1000.0"), "1"});
      series.push_back({bucket("a", "2000.0"), "3"});
      series.push_back({bucket("a", "+Inf"), std::to_string(3 + scale.load())});
      series.push_back({bucket("b", "1000.0"), "2"});
      series.push_back({bucket("b", "+Inf"), "4"});
    }
    return Reply{200, vector_body(series)};
  });
  const auto fit = [](std::vector<std::pair<double, double>> buckets) {
    std::vector<sdk::util::HistogramBucket> h;
    for (const auto& [le, count] : buckets) h.push_back({le, count});
    return sdk::util::histogram_cv(h, 2000.0).value_or(-1);
  };
  constexpr double kInf = std::numeric_limits<double>::infinity();
  auto src = make_source(base());  // promptSpreadInterval: 5m (the default)
  EXPECT_EQ(src->config().prompt_spread_interval, std::chrono::minutes(5));
  const std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 1}, {"b", 1}})};
  const auto collect = [&] {
    server_.clear();
    auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
    EXPECT_TRUE(r) << r.error().to_string();
    bool read = false;
    for (const auto& q : server_.received()) read = read || q.query.find("promptTokensBucket") != std::string::npos;
    EXPECT_EQ(read, src->last_report().spread_read);
    return std::pair{r ? r->at({"llm", "m"}) : sdk::ModelMetrics{}, read};
  };
  const auto cv = [](const sdk::ModelMetrics& m, const std::string& variant) {
    auto it = m.load_by_variant.find(variant);
    return it == m.load_by_variant.end() ? -2.0 : it->second.prompt_tokens_cv.value_or(-1.0);
  };

  // The first cycle reads the histogram, per Deployment and bucket.
  auto [m, read] = collect();
  ASSERT_TRUE(read);
  EXPECT_NE(server_.received()[1].query.find(
                R"(sum by (namespace, model_name, wva_deployment, le) (label_replace(rate()"
                R"(vllm:request_prompt_tokens_bucket{namespace="llm",model_name="m"}[1m]), "wva_deployment", "$1", )"
                R"("pod", )"),
            std::string::npos)
      << server_.received()[1].query;
  const double a1 = fit({{1000, 1}, {2000, 3}, {kInf, 4}}), b = fit({{1000, 2}, {kInf, 4}});
  const double model1 = fit({{1000, 3}, {2000, 3}, {kInf, 8}});
  EXPECT_DOUBLE_EQ(cv(m, "a"), a1);
  EXPECT_DOUBLE_EQ(cv(m, "b"), b);
  EXPECT_DOUBLE_EQ(m.load.prompt_tokens_cv.value_or(-1), model1);

  // Within the interval: not read, the kept spreads filled in.
  scale = 5;
  std::tie(m, read) = collect();
  EXPECT_FALSE(read);
  EXPECT_DOUBLE_EQ(cv(m, "a"), a1);
  EXPECT_DOUBLE_EQ(m.load.prompt_tokens_cv.value_or(-1), model1);
  // A load without a mean this cycle gets none (a fit would not either).
  with_mean = false;
  std::tie(m, read) = collect();
  EXPECT_FALSE(read);
  EXPECT_FALSE(m.load.prompt_tokens_cv.has_value());
  EXPECT_EQ(cv(m, "a"), -2.0) << "no load series at all: no load";
  with_mean = true;

  // The interval passed: read again, the new shape fitted.
  ctx_.clock_.offset = std::chrono::minutes(5);
  std::tie(m, read) = collect();
  EXPECT_TRUE(read);
  const double a5 = fit({{1000, 1}, {2000, 3}, {kInf, 8}});
  EXPECT_GT(std::abs(a5 - a1), 0.01);
  EXPECT_DOUBLE_EQ(cv(m, "a"), a5);
  EXPECT_DOUBLE_EQ(cv(m, "b"), b);

  // A failed read: the load is absent this cycle, and the next cycle reads again (not 5 minutes later).
  ctx_.clock_.offset = std::chrono::minutes(10);
  load_fails = true;
  std::tie(m, read) = collect();
  EXPECT_TRUE(read);
  EXPECT_TRUE(m.load_by_variant.empty());
  load_fails = false;
  scale = 1;
  std::tie(m, read) = collect();
  EXPECT_TRUE(read);
  EXPECT_DOUBLE_EQ(cv(m, "a"), a1);

  // A read that fits nothing (no histogram, or no mean yet) is read again the next cycle.
  with_mean = false;
  ctx_.clock_.offset = std::chrono::minutes(15);
  EXPECT_TRUE(collect().second);
  with_mean = true;
  std::tie(m, read) = collect();
  EXPECT_TRUE(read);
  EXPECT_DOUBLE_EQ(cv(m, "a"), a1);

  // 0s: every cycle.
  auto cfg = base();
  cfg["promptSpreadInterval"] = "0s";
  src = make_source(cfg);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(collect().second) << i;
  // A disabled signal is never read, and nothing is filled in.
  cfg["queries"] = json{{"promptTokensBucket", ""}};
  src = make_source(cfg);
  std::tie(m, read) = collect();
  EXPECT_FALSE(read);
  EXPECT_FALSE(m.load.prompt_tokens_cv.has_value());
  EXPECT_TRUE(m.load.avg_input_tokens.has_value());
}

// The requests by time per output token (requestTpotBucket): read every cycle (the analyzer calibrates on
// this window's), whatever promptSpreadInterval says; each cycle's buckets as that cycle read them, none
// kept from an earlier one.
TEST_F(HttpTest, RequestTpotBucketsAreReadEveryCycle) {
  std::atomic<bool> load_fails{false};
  std::atomic<int> scale{1};  // multiplies every count: each cycle's buckets are that cycle's
  const std::string raw_tpot =
      R"q(sum by (namespace, model_name, wva_deployment, le) (label_replace(rate()q"
      R"q(vllm:request_time_per_output_token_seconds_bucket{namespace="llm",model_name="m"}[1m]), )q"
      R"q("wva_deployment", "$1", "pod", "(.+?)(?:(?:-[bcdfghjklmnpqrstvwxz2456789]{6,10})?-[^-]+)?")))q";
  const std::string recorded_tpot =
      R"q(sum by (namespace, model_name, wva_deployment, le) ()q"
      R"q(wva:vllm_request_time_per_output_token_seconds_bucket:rate1m{namespace="llm",model_name="m"}))q";
  server_.set_handler([&](const testing::Received& r) {
    if (r.query.find("kv_cache_usage") != std::string::npos)  // the replicas group, or KV use alone
      return Reply{200, vector_body({{tag("kvCacheUsage", "llm", "m", "a-0"), "0.5"},
                                     {tag("kvCacheUsage", "llm", "m", "b-0"), "0.5"}})};
    const bool alone = r.query == raw_tpot;  // unbatched: its series carry no wva_signal
    const bool batched_load = r.query.find(R"("wva_signal", "completions")") != std::string::npos;
    if (!alone && !batched_load) return Reply{200, vector_body({})};
    if (load_fails) return Reply{503, "overloaded"};
    const bool tpot = alone || r.query.find(R"("wva_signal", "requestTpotBucket")") != std::string::npos;
    std::vector<std::pair<json, std::string>> series;
    const auto add = [&](const std::string& signal, const std::string& d, const std::string& le, double v) {
      json labels = {{"namespace", "llm"}, {"model_name", "m"}, {"wva_deployment", d}};
      if (!alone) labels["wva_signal"] = signal;
      if (!le.empty()) labels["le"] = le;
      series.push_back({labels, std::to_string(v * scale)});
    };
    if (tpot) {
      for (const auto& [le, count] : std::vector<std::pair<std::string, double>>{{"0.05", 2}, {"0.1", 3}, {"+Inf", 4}})
        add("requestTpotBucket", "a", le, count);
      for (const auto& [le, count] : std::vector<std::pair<std::string, double>>{{"0.05", 1}, {"0.1", 3}, {"+Inf", 3}})
        add("requestTpotBucket", "b", le, count);
    }
    if (batched_load) {
      add("completions", "a", "", 4);
      // A prompt-length spread to fit, so that its histogram is then read every 5 minutes only.
      add("promptTokensSum", "a", "", 2000);
      add("promptTokensCount", "a", "", 2);
      if (r.query.find(R"("wva_signal", "promptTokensBucket")") != std::string::npos) {
        add("promptTokensBucket", "a", "1000.0", 1);
        add("promptTokensBucket", "a", "+Inf", 2);
      }
    }
    return Reply{200, vector_body(series)};
  });
  using P = std::vector<std::pair<double, double>>;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const auto pairs = [](const std::vector<sdk::HistogramBucket>& buckets) {
    P out;
    for (const auto& b : buckets) out.emplace_back(b.upper_bound, b.count);
    return out;
  };
  const auto scaled = [&](P p) {
    for (auto& [le, count] : p) count *= scale;
    return p;
  };
  const std::vector<sdk::ModelView> models = {make_model("llm", "m", {{"a", 1}, {"b", 1}})};
  std::unique_ptr<PrometheusSource> src;
  const auto collect = [&] {
    server_.clear();
    auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? r->at({"llm", "m"}) : sdk::ModelMetrics{};
  };
  const auto expect_buckets = [&](const sdk::ModelMetrics& m, const std::string& context) {
    ASSERT_TRUE(m.load_by_variant.count("a") && m.load_by_variant.count("b")) << context;
    EXPECT_EQ(pairs(m.load_by_variant.at("a").request_tpot_buckets), scaled({{0.05, 2}, {0.1, 3}, {kInf, 4}}))
        << context;
    EXPECT_EQ(pairs(m.load_by_variant.at("b").request_tpot_buckets), scaled({{0.05, 1}, {0.1, 3}, {kInf, 3}}))
        << context;
    EXPECT_EQ(pairs(m.load.request_tpot_buckets), scaled({{0.05, 3}, {0.1, 6}, {kInf, 7}})) << context;
    const auto above = sdk::util::fraction_above(m.load.request_tpot_buckets, 0.05);
    ASSERT_TRUE(above.has_value()) << context;
    EXPECT_DOUBLE_EQ(above->fraction(), 4.0 / 7) << context;
  };

  src = make_source(base());  // promptSpreadInterval: 5m (the default)
  for (int cycle = 1; cycle <= 3; ++cycle) {
    scale = cycle;
    const auto m = collect();
    ASSERT_EQ(server_.received().size(), 2u);
    EXPECT_NE(server_.received()[1].query.find("label_replace(" + raw_tpot +
                                               R"(, "wva_signal", "requestTpotBucket", "", ""))"),
              std::string::npos)
        << server_.received()[1].query;
    EXPECT_EQ(src->last_report().spread_read, cycle == 1) << "the prompt-length histogram is read every 5m";
    expect_buckets(m, "cycle " + std::to_string(cycle));
  }
  // A failed load query: no buckets this cycle, none of the last cycle's.
  load_fails = true;
  auto failed = collect();
  EXPECT_TRUE(failed.load_by_variant.empty());
  EXPECT_TRUE(failed.load.request_tpot_buckets.empty());
  load_fails = false;
  scale = 5;
  expect_buckets(collect(), "after the failure");

  // recordingRules: on reads the recorded series, per Deployment and bucket.
  auto cfg = base();
  cfg["recordingRules"] = "on";
  src = make_source(cfg);
  auto recorded = collect();
  ASSERT_EQ(server_.received().size(), 2u);
  EXPECT_NE(server_.received()[1].query.find("label_replace(" + recorded_tpot +
                                             R"(, "wva_signal", "requestTpotBucket", "", ""))"),
            std::string::npos)
      << server_.received()[1].query;
  EXPECT_EQ(server_.received()[1].query.find("vllm:request_time_per_output_token_seconds_bucket"), std::string::npos);
  EXPECT_TRUE(src->last_report().recorded[static_cast<std::size_t>(Signal::kRequestTpotBucket)]);
  expect_buckets(recorded, "recorded");

  // Unbatched: the signal's own query, its untagged series grouped the same.
  cfg = base();
  cfg["batch"] = false;
  src = make_source(cfg);
  auto single = collect();
  std::size_t tpot_queries = 0;
  for (const auto& q : server_.received()) tpot_queries += q.query == raw_tpot;
  EXPECT_EQ(tpot_queries, 1u);
  expect_buckets(single, "unbatched");

  // Disabled: not queried, no buckets (the rest of the load stays).
  cfg = base();
  cfg["queries"] = json{{"requestTpotBucket", ""}};
  src = make_source(cfg);
  auto disabled = collect();
  for (const auto& q : server_.received()) EXPECT_EQ(q.query.find("request_time_per_output_token"), std::string::npos);
  ASSERT_TRUE(disabled.load_by_variant.count("a"));
  EXPECT_TRUE(disabled.load_by_variant.at("a").arrival_rate.has_value());
  EXPECT_TRUE(disabled.load_by_variant.at("a").request_tpot_buckets.empty());
  EXPECT_TRUE(disabled.load.request_tpot_buckets.empty());
}

TEST_F(HttpTest, RecordingRulesAutoProbesThenReadsTheRecordedSeries) {
  std::atomic<bool> rules_loaded{false};
  std::atomic<bool> probe_fails{false};
  server_.set_handler([&](const testing::Received& r) {
    if (r.query.rfind("count by (__name__)", 0) == 0) {
      if (probe_fails) return Reply{503, "overloaded"};
      if (!rules_loaded) return Reply{200, vector_body({})};
      return Reply{200, vector_body({{{{"__name__", "wva:vllm_request_success:rate1m"}}, "12"},
                                     {{{"__name__", "wva:vllm_kv_cache_usage:max1m"}}, "48"}})};
    }
    return Reply{200, vector_body({{tag("kvCacheUsage", "ns", "m", "v-0"), "0.4"}})};
  });
  auto cfg = base();
  cfg["recordingRules"] = "auto";
  cfg["retries"] = 0;
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  const auto collect = [&] {
    server_.clear();
    auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
    EXPECT_TRUE(r) << r.error().to_string();
    return server_.received();
  };
  // No rules: the probe (bounded: one series per recorded name), then the two raw queries.
  auto got = collect();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].query, R"(count by (__name__) ({__name__=~"wva:vllm_.+",namespace="ns"}))");
  EXPECT_EQ(got[2].query.find("wva:vllm_"), std::string::npos);
  EXPECT_NE(got[2].query.find("rate(vllm:request_success_total{"), std::string::npos);
  // Not probed again within kRecordedProbeInterval.
  rules_loaded = true;
  EXPECT_EQ(collect().size(), 2u);
  EXPECT_TRUE(src->last_report().recorded.none());

  // The rules appear: a source that probes now reads the recorded series that exist, raw for the rest.
  auto fresh = make_source(cfg);
  server_.clear();
  ASSERT_TRUE(fresh->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  got = server_.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_NE(
      got[1].query.find(
          R"(max by (namespace, model_name, pod) (wva:vllm_kv_cache_usage:max1m{namespace="ns",model_name="m"}))"),
      std::string::npos)
      << got[1].query;
  EXPECT_NE(got[1].query.find("max_over_time(vllm:num_requests_waiting{"), std::string::npos) << "no rule found: raw";
  EXPECT_NE(
      got[2].query.find(
          R"(sum by (namespace, model_name, wva_deployment) (wva:vllm_request_success:rate1m{namespace="ns",model_name="m"}))"),
      std::string::npos)
      << got[2].query;
  EXPECT_NE(got[2].query.find("rate(vllm:request_prompt_tokens_sum{"), std::string::npos);
  const auto rec = fresh->last_report().recorded;
  EXPECT_TRUE(rec[static_cast<std::size_t>(Signal::kCompletions)]);
  EXPECT_TRUE(rec[static_cast<std::size_t>(Signal::kKvCacheUsage)]);
  EXPECT_EQ(rec.count(), 2u);
  EXPECT_TRUE(ctx_.logger_.contains("reading 2 signal(s) from the recorded series", sdk::LogLevel::kInfo));

  // A failing probe: raw queries this cycle (the cycle still succeeds), probed again the next cycle.
  probe_fails = true;
  auto third = make_source(cfg);
  server_.clear();
  ASSERT_TRUE(third->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  EXPECT_EQ(server_.received().size(), 3u);
  EXPECT_TRUE(third->last_report().recorded.none());
  probe_fails = false;
  server_.clear();
  ASSERT_TRUE(third->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  EXPECT_EQ(server_.received().size(), 3u) << "probed again after a failed probe";
  EXPECT_EQ(third->last_report().recorded.count(), 2u);
}

TEST_F(HttpTest, RecordingRulesOnNeverProbesAndOffNeverReads) {
  auto cfg = base();
  cfg["recordingRules"] = "on";
  auto on = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  ASSERT_TRUE(on->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  auto got = server_.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].query.find("wva:vllm_num_requests_waiting:max1m{"), std::string::npos);
  EXPECT_NE(got[1].query.find("wva:vllm_inter_token_latency_seconds_count:rate1m{"), std::string::npos);
  EXPECT_EQ(got[1].query.find("rate(vllm:"), std::string::npos) << "every load signal has a rule";
  // A custom template is never replaced.
  cfg["queries"] = {{"completions", "sum by ({{by}}) (rate(my_requests_total{{selector}}[{{rateWindow}}]))"}};
  auto custom = make_source(cfg);
  server_.clear();
  ASSERT_TRUE(custom->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  EXPECT_NE(server_.received().at(1).query.find("rate(my_requests_total{"), std::string::npos);
  EXPECT_EQ(server_.received().at(1).query.find("wva:vllm_request_success"), std::string::npos);
}

TEST_F(HttpTest, ConnectionRefused) {
  auto src = make_source(base());
  server_.stop();
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message.rfind("Failed to get metrics from Prometheus: Couldn't connect to server", 0), 0u)
      << r.error().message;
  EXPECT_EQ(r.error().reason, "PrometheusError");  // the host copies it into MetricsAvailable
}

TEST_F(HttpTest, ReusesOneConnection) {
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(src->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  auto got = server_.received();
  ASSERT_EQ(got.size(), 6u);
  for (const auto& g : got) EXPECT_EQ(g.remote_port, got[0].remote_port);
}

TEST_F(HttpTest, HeadersAndParamsForQueryFrontends) {
  auto cfg = base();
  cfg["headers"] = {{"X-Scope-OrgID", "tenant-a"}};
  cfg["params"] = {{"dedup", "true"}};
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  ASSERT_TRUE(src->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  auto got = server_.received();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].org_id, "tenant-a");
  EXPECT_EQ(got[0].dedup, "true");
  EXPECT_EQ(got[0].authorization, "");
}

TEST_F(HttpTest, QueriesAfterTheFirstAnswerAreEvaluatedAtItsTime) {
  // The replicas query answers at the server's now; the load query is pinned to that answer's time, so a
  // scrape landing between them cannot put the two in different windows.
  server_.push({200, vector_body({{tag("kvCacheUsage", "ns", "m", "m-0"), "0.5"}})});
  auto src = make_source(base());
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"m", 1}})};
  ASSERT_TRUE(src->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  // The next cycle's first answer is empty (no timestamp to pin to): its second query is not pinned.
  ASSERT_TRUE(src->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  auto got = server_.received();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].time, "");
  EXPECT_EQ(got[1].time, "1795808585.050");
  EXPECT_EQ(got[2].time, "") << "a cycle is not pinned to the one before";
  EXPECT_EQ(got[3].time, "");
}

TEST_F(HttpTest, ResponseSizeIsBounded) {
  std::string big = vector_body({{tag("kvCacheUsage", "ns", "m", std::string(4096, 'p')), "1"}});
  server_.push({200, big});
  auto cfg = base();
  cfg["maxResponseBytes"] = 2048;
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("maxResponseBytes"), std::string::npos) << r.error().message;
  EXPECT_EQ(server_.received().size(), 1u);
}

TEST_F(HttpTest, BearerTokenIsReReadWhenRotated) {
  TempDir dir;
  const fs::path token = dir.path / "token";
  write_file(token, "token-one\n");
  auto cfg = base();
  cfg["tokenFile"] = token.string();
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  ASSERT_TRUE(src->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  ASSERT_TRUE(src->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  EXPECT_EQ(src->client()->token_reads(), 1);  // unchanged file: read once

  // Rotation as the kubelet does it: a new file renamed over the old one.
  write_file(dir.path / "token.new", "token-two-rotated");
  fs::rename(dir.path / "token.new", token);
  server_.clear();
  ASSERT_TRUE(src->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  auto got = server_.received();
  ASSERT_FALSE(got.empty());
  for (const auto& g : got) EXPECT_EQ(g.authorization, "Bearer token-two-rotated");
  EXPECT_EQ(src->client()->token_reads(), 2);
  EXPECT_EQ(ctx_.logger_.all().find("token-one"), std::string::npos);
  EXPECT_EQ(ctx_.logger_.all().find("token-two"), std::string::npos);
}

TEST_F(HttpTest, UnauthorizedForcesOneTokenReRead) {
  TempDir dir;
  const fs::path token = dir.path / "token";
  write_file(token, "aaaa");
  auto cfg = base();
  cfg["tokenFile"] = token.string();
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  ASSERT_TRUE(src->collect(models, sdk::Deadline::in(std::chrono::seconds(5))));
  // Same size and same mtime: the stat check cannot see the change; the 401 must trigger the re-read.
  const auto mtime = fs::last_write_time(token);
  {
    std::fstream f(token, std::ios::in | std::ios::out | std::ios::binary);
    f << "bbbb";
  }
  fs::last_write_time(token, mtime);
  server_.set_handler([](const testing::Received& r) {
    if (r.authorization != "Bearer bbbb") return Reply{401, "Unauthorized"};
    return Reply{200, R"({"status":"success","data":{"resultType":"vector","result":[]}})"};
  });
  server_.clear();
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r) << r.error().to_string();
  auto got = server_.received();
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[0].authorization, "Bearer aaaa");
  EXPECT_EQ(got[1].authorization, "Bearer bbbb");
}

TEST_F(HttpTest, StillUnauthorizedIsAnError) {
  TempDir dir;
  write_file(dir.path / "token", "wrong");
  server_.set_handler([](const testing::Received&) { return Reply{401, "Unauthorized"}; });
  auto cfg = base();
  cfg["tokenFile"] = (dir.path / "token").string();
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Failed to get metrics from Prometheus: HTTP 401: Unauthorized");
  EXPECT_EQ(server_.received().size(), 2u);
  EXPECT_EQ(r.error().message.find("wrong"), std::string::npos);
}

TEST_F(HttpTest, StartChecksFilesAndConfigureDoesNoIO) {
  PrometheusSource src;
  auto c = src.configure(json{{"url", "https://p:9091"}, {"caFile", "/nonexistent/ca.pem"}}, "sources.prometheus");
  ASSERT_TRUE(c);  // configure does no I/O
  auto s = src.start(ctx_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().path, "sources.prometheus.caFile");
  EXPECT_EQ(s.error().code, sdk::ErrorCode::kNotFound);
}

TEST_F(HttpTest, NamespaceFilter) {
  auto cfg = base();
  cfg["namespaces"] = {"allowed"};
  auto src = make_source(cfg);
  std::vector<sdk::ModelView> models = {make_model("allowed", "m", {{"v", 1}}), make_model("other", "x", {{"w", 1}})};
  auto r = src->collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at({"other", "x"}).state, sdk::MetricsState::kNoData);
  EXPECT_NE(r->at({"other", "x"}).message.find("not in sources.prometheus.namespaces"), std::string::npos);
  for (const auto& g : server_.received()) EXPECT_EQ(g.query.find("other"), std::string::npos) << g.query;
}

TEST_F(HttpTest, InsecureSkipVerifyWarns) {
  auto cfg = base();
  cfg["insecureSkipVerify"] = true;
  auto src = make_source(cfg);
  EXPECT_TRUE(ctx_.logger_.contains("insecureSkipVerify is true", sdk::LogLevel::kWarn));
}

// ---- TLS: a CA, a server certificate for prometheus.test, a client certificate. ----

bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WVA_REQUIRE(run("command -v openssl")) << "openssl CLI not found (Debian package openssl)";
    const std::string d = dir_.path.string();
    auto gen = [&](const std::string& name, const std::string& cn, const std::string& ext) {
      return run("openssl req -newkey rsa:2048 -nodes -keyout " + d + "/" + name + ".key -subj /CN=" + cn + " -out " +
                 d + "/" + name + ".csr") &&
             run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.crt -CAkey " + d +
                 "/ca.key -CAcreateserial -days 2 -out " + d + "/" + name + ".crt -extfile " + d + "/" + ext);
    };
    write_file(dir_.path / "server.ext", "subjectAltName=DNS:prometheus.test\nextendedKeyUsage=serverAuth\n");
    write_file(dir_.path / "client.ext", "extendedKeyUsage=clientAuth\n");
    ASSERT_TRUE(run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wva-test-ca -keyout " + d +
                    "/ca.key -out " + d + "/ca.crt"));
    ASSERT_TRUE(gen("server", "prometheus.test", "server.ext"));
    ASSERT_TRUE(gen("client", "wva", "client.ext"));
    auto ssl = std::make_unique<httplib::SSLServer>((d + "/server.crt").c_str(), (d + "/server.key").c_str(),
                                                    (d + "/ca.crt").c_str());
    ASSERT_TRUE(ssl->is_valid());
    server_ = std::make_unique<FakePrometheus>(std::move(ssl));
  }

  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collect(json cfg) {
    PrometheusSource src;
    auto c = src.configure(cfg, "sources.prometheus");
    if (!c) return c.error();
    auto s = src.start(ctx_);
    if (!s) return s.error();
    std::vector<sdk::ModelView> models = {make_model("ns", "m", {{"v", 1}})};
    return src.collect(models, sdk::Deadline::in(std::chrono::seconds(5)));
  }
  std::string file(const char* name) const { return (dir_.path / name).string(); }

  TempDir dir_;
  std::unique_ptr<FakePrometheus> server_;
  TestContext ctx_;
};

TEST_F(TlsTest, CaClientCertAndServerName) {
  json cfg = {{"url", server_->url("https")},  {"caFile", file("ca.crt")},        {"certFile", file("client.crt")},
              {"keyFile", file("client.key")}, {"serverName", "prometheus.test"}, {"retries", 0}};
  auto r = collect(cfg);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(server_->received().size(), 3u);  // the recording-rules probe (recordingRules: auto) + 2 groups
}

TEST_F(TlsTest, VerificationIsOnByDefault) {
  // Without serverName the certificate (for prometheus.test) does not match 127.0.0.1.
  json cfg = {{"url", server_->url("https")},
              {"caFile", file("ca.crt")},
              {"certFile", file("client.crt")},
              {"keyFile", file("client.key")},
              {"retries", 0}};
  auto r = collect(cfg);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Failed to get metrics from Prometheus"), std::string::npos);
  // Without the CA the chain is untrusted.
  cfg.erase("caFile");
  cfg["serverName"] = "prometheus.test";
  auto untrusted = collect(cfg);
  ASSERT_FALSE(untrusted);
  EXPECT_TRUE(server_->received().empty());
}

TEST_F(TlsTest, ClientCertificateRequired) {
  json cfg = {
      {"url", server_->url("https")}, {"caFile", file("ca.crt")}, {"serverName", "prometheus.test"}, {"retries", 0}};
  auto r = collect(cfg);
  ASSERT_FALSE(r);
  EXPECT_TRUE(server_->received().empty());
}

TEST_F(TlsTest, InsecureSkipVerifyAcceptsAnyServerCertificate) {
  json cfg = {{"url", server_->url("https")},
              {"certFile", file("client.crt")},
              {"keyFile", file("client.key")},
              {"insecureSkipVerify", true},
              {"retries", 0}};
  auto r = collect(cfg);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(ctx_.logger_.contains("NOT verified", sdk::LogLevel::kWarn));
}

// A server that cuts the connection in the middle of a 200 answer's body (a transport failure, retried),
// then answers the retry whole; a real socket on 127.0.0.1, as a proxy dropping a connection would.
class CutOnceServer {
 public:
  explicit CutOnceServer(std::string body) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CutOnceServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    for (int n = 0; n < 2; ++n) {  // bounded: the cut answer, then the whole one
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      std::string request;
      char buf[4096];
      // Reads the headers and the form body (Content-Length) of one request, bounded.
      while (request.size() < (1u << 20)) {
        const auto got = ::recv(c, buf, sizeof buf, 0);
        if (got <= 0) break;
        request.append(buf, static_cast<std::size_t>(got));
        const auto end = request.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        const auto cl = request.find("Content-Length: ");
        const std::size_t want = cl == std::string::npos ? 0 : std::stoul(request.substr(cl + 16));
        if (request.size() >= end + 4 + want) break;
      }
      const std::string body = n == 0 ? body_.substr(0, body_.size() / 2 + 3) : body_;
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body_.size()) +
          "\r\nConnection: close\r\n\r\n" + body;
      (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  std::string body_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

TEST(HttpCut, ATransferCutAfterSomeSeriesIsRetriedAndItsSeriesCountOnce) {
  std::vector<std::pair<json, std::string>> series;
  for (int i = 0; i < 50; ++i) series.push_back({tag("kvCacheUsage", "ns", "m", "v-" + std::to_string(i)), "0.5"});
  CutOnceServer server(vector_body(series));
  SourceConfig config;
  config.url = server.url();
  config.retries = 2;
  config.backoff = std::chrono::milliseconds(1);
  PrometheusClient client(config);
  QueryStats stats;
  auto r = client.query("up", sdk::Deadline::in(std::chrono::seconds(10)), &stats);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(stats.attempts, 2);
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(r->samples.size(), 50u) << "the series of the cut attempt were handed over again";
}

}  // namespace
}  // namespace wva::prometheus
