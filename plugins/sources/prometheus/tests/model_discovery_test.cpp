// sdk::ModelDiscovery of the prometheus source against a REAL Prometheus (Debian package `prometheus`)
// scraping a vLLM-format exposition served by this test: which pods serve which model, with the
// namespace filter, a series without model_name ignored, discovery off, settings errors, and an outage.
#include <gtest/gtest.h>

#include <algorithm>

#include "prerequisite.h"
#include "prometheus_plugin.h"
#include "real_prometheus.h"
#include "test_support.h"

namespace wva::prometheus {
namespace {

using nlohmann::json;
using testing::RealPrometheus;
using testing::TestContext;

// Pods as vLLM labels them (model_name is the served model), plus a series of the same metric without a
// model label (an exporter's aggregate), which names no serving pod.
class ServingPods {
 public:
  ServingPods() {
    server_.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "# TYPE vllm:num_requests_running gauge\n"
          "vllm:num_requests_running{namespace=\"llm\",pod=\"llama-a100-7c9f8d6b5-x2k4q\",model_name=\"meta/"
          "llama-3.1-8b\"} 3\n"
          "vllm:num_requests_running{namespace=\"llm\",pod=\"llama-h100-5d8f7-qq2zt\",model_name=\"meta/"
          "llama-3.1-8b\"} 0\n"
          "vllm:num_requests_running{namespace=\"other\",pod=\"granite-0\",model_name=\"ibm/granite\"} 1\n"
          "vllm:num_requests_running{namespace=\"llm\",pod=\"router-0\"} 7\n",
          "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~ServingPods() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

// Polls until discovery returns `want` entries (Prometheus scrapes every second), at most 20 s.
std::vector<sdk::PodModel> discover_until(PrometheusSource& source, std::size_t want) {
  std::vector<sdk::PodModel> got;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    auto r = source.discover_models(sdk::Deadline::in(std::chrono::seconds(5)));
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (!r.ok()) return {};
    got = std::move(r.value());
    if (got.size() >= want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::sort(got.begin(), got.end());
  return got;
}

TEST(ModelDiscovery, RealPrometheusNamesThePodsServingEachModel) {
  auto binary = testing::find_in_path("prometheus");
  WVA_REQUIRE(binary.has_value()) << "the prometheus binary is not installed (apt-get install prometheus)";
  ServingPods pods;
  RealPrometheus prom(*binary, {pods.target()});
  ASSERT_TRUE(prom.started());
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();

  TestContext ctx;
  PrometheusSource all, llm_only, off;
  ASSERT_TRUE(all.configure(json{{"url", prom.url()}, {"timeout", "2s"}}, "sources.prometheus"));
  ASSERT_TRUE(llm_only.configure(json{{"url", prom.url()}, {"namespaces", {"llm"}}}, "sources.llm"));
  ASSERT_TRUE(off.configure(json{{"url", prom.url()}, {"discoveryQuery", ""}}, "sources.off"));
  ASSERT_TRUE(all.start(ctx));
  ASSERT_TRUE(llm_only.start(ctx));
  ASSERT_TRUE(off.start(ctx));

  const std::vector<sdk::PodModel> want_all = {
      {"llm", "llama-a100-7c9f8d6b5-x2k4q", "meta/llama-3.1-8b"},
      {"llm", "llama-h100-5d8f7-qq2zt", "meta/llama-3.1-8b"},
      {"other", "granite-0", "ibm/granite"},
  };
  EXPECT_EQ(discover_until(all, 3), want_all) << prom.log();
  EXPECT_EQ(discover_until(llm_only, 2), std::vector<sdk::PodModel>(want_all.begin(), want_all.begin() + 2));
  auto none = off.discover_models(sdk::Deadline::in(std::chrono::seconds(2)));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  prom.stop();
  auto down = all.discover_models(sdk::Deadline::in(std::chrono::seconds(3)));
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.error().message.find("Failed to get metrics from Prometheus (model discovery query"),
            std::string::npos)
      << down.error().message;
}

TEST(ModelDiscovery, SettingsErrorsHaveTheirPath) {
  PrometheusSource source;
  auto wrong_type = source.configure(json{{"url", "http://127.0.0.1:9"}, {"discoveryQuery", 3}}, "sources.p");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error().to_string().find("sources.p.discoveryQuery"), std::string::npos)
      << wrong_type.error().to_string();
  auto placeholder =
      source.configure(json{{"url", "http://127.0.0.1:9"}, {"discoveryQuery", "up{{nope}}"}}, "sources.p");
  ASSERT_FALSE(placeholder.ok());
  EXPECT_NE(placeholder.error().to_string().find("unknown placeholder {{nope}}"), std::string::npos)
      << placeholder.error().to_string();
}

TEST(ModelDiscovery, NotStartedIsAnErrorNotAnEmptyAnswer) {
  PrometheusSource source;
  ASSERT_TRUE(source.configure(json{{"url", "http://127.0.0.1:9"}}, "sources.p"));
  auto r = source.discover_models(sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace wva::prometheus
