// Scale from zero end to end, with real processes: a gateway-style exporter (this test, over real HTTP)
// serves the llm-d inference gateway's flow-control queue metric, a real Prometheus scrapes it every
// second, and `wva run --local examples/scale-to-zero` (prometheus source -> saturation -> scale-to-zero,
// combine: last, interval 60s, idleCheckInterval 1s) watches a model whose Deployments are at 0.
// Requests start waiting at the gateway: within 5 s (the bound for scale from zero, independent
// of the 60 s cycle) the cheapest variant is recommended 1 replica.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "real_prometheus.h"
#include "subprocess.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using wva::prometheus::testing::RealPrometheus;
using wva::testing::Process;

// What an EPP pod exposes (labels as honor_labels keeps them; Kubernetes discovery adds namespace/pod).
class GatewayExporter {
 public:
  GatewayExporter() {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "# HELP inference_extension_flow_control_queue_size Requests in the flow-control queue\n"
          "# TYPE inference_extension_flow_control_queue_size gauge\n"
          "inference_extension_flow_control_queue_size{namespace=\"llm\",pod=\"gateway-epp-0\","
          "target_model_name=\"meta/llama-3.1-8b\",model_name=\"meta/llama-3.1-8b\",priority=\"0\"} " +
              std::to_string(queued_.load()) + "\n",
          "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~GatewayExporter() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  void set_queued(int n) { queued_ = n; }

 private:
  httplib::Server server_;
  std::atomic<int> queued_{0};
  int port_ = -1;
  std::thread thread_;
};

// The desired replicas of `variant` in the newest JSON decision line after `from`, if any.
std::optional<int> latest_desired(const std::string& out, std::size_t from, const std::string& variant) {
  std::istringstream lines(out.substr(std::min(from, out.size())));
  std::optional<int> found;
  for (std::string line; std::getline(lines, line);) {
    auto doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("decisions")) continue;
    for (const auto& d : doc["decisions"])
      if (d.value("variant", "") == variant) found = d.value("desired", -1);
  }
  return found;
}

TEST(ScaleFromZero, WaitingRequestsAtTheGatewayBringOneReplicaWithinFiveSeconds) {
  auto prometheus = wva::prometheus::testing::find_in_path("prometheus");
  ASSERT_TRUE(prometheus) << "the prometheus binary is not installed (scripts/install-deps.sh --test installs it)";
  char tmpl[] = "/tmp/wva-stz-e2e-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  for (const auto& e : fs::directory_iterator(WVA_SOURCE_DIR "/examples/scale-to-zero"))
    if (e.path().extension() == ".yaml") fs::copy(e.path(), dir / e.path().filename());

  GatewayExporter gateway;
  ASSERT_GT(gateway.port(), 0);
  RealPrometheus prom(*prometheus, {"127.0.0.1:" + std::to_string(gateway.port())});
  ASSERT_TRUE(prom.wait_ready(std::chrono::seconds(10))) << prom.log();
  {  // the example's pipeline, pointed at this Prometheus
    std::ifstream in(dir / "30-config.yaml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string from = "http://127.0.0.1:9090";
    ASSERT_NE(text.find(from), std::string::npos);
    text.replace(text.find(from), from.size(), prom.url());
    std::ofstream(dir / "30-config.yaml") << text;
  }

  Process run({WVA_BUILD_DIR "/bin/wva", "run", "--local", dir.string(), "--output", "json",
               "--health-probe-bind-address", "0"});
  // At zero and nothing waiting: both variants stay at 0 (the first cycle, then the idle checks).
  std::optional<int> h100, h200;
  const auto first_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((!h100 || !h200) && std::chrono::steady_clock::now() < first_deadline) {
    run.pump(std::chrono::milliseconds(200));
    h100 = latest_desired(run.out, 0, "llama-8b-h100");
    h200 = latest_desired(run.out, 0, "llama-8b-h200");
  }
  ASSERT_TRUE(h100 && h200) << "no first cycle\nstdout:\n" << run.out << "\nstderr:\n" << run.err;
  EXPECT_EQ(*h100, 0) << run.out;
  EXPECT_EQ(*h200, 0) << run.out;
  // Prometheus starts scraping a few seconds after it starts (target discovery batches its first update):
  // wait until it holds the gateway's (empty) queue, so the clock below measures the way to WVA.
  {
    httplib::Client api("127.0.0.1", prom.port());
    const auto scrape_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool scraped = false;
    while (!scraped && std::chrono::steady_clock::now() < scrape_deadline) {
      auto r = api.Get("/api/v1/query?query=inference_extension_flow_control_queue_size");
      scraped = r && r->status == 200 && r->body.find("\"value\"") != std::string::npos;
      if (!scraped) run.pump(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(scraped) << "Prometheus never scraped the gateway exporter\n" << prom.log();
  }

  // Requests wait at the gateway.
  const std::size_t seen = run.out.size();
  const auto start = std::chrono::steady_clock::now();
  gateway.set_queued(3);
  std::optional<int> up;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(20) && up.value_or(0) < 1) {
    run.pump(std::chrono::milliseconds(100));
    up = latest_desired(run.out, seen, "llama-8b-h100");
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(up.value_or(-1), 1) << "no scale from zero within 20 s\nstdout:\n"
                                << run.out.substr(seen) << "\nstderr:\n"
                                << run.err;
  EXPECT_LT(took, 5.0) << "scale from zero took " << took << " s (the interval is 60 s: the idle check acts)";
  EXPECT_EQ(latest_desired(run.out, seen, "llama-8b-h200").value_or(-1), 0) << "only the cheapest variant";
  EXPECT_NE(run.out.find("\"idleCheck\":true"), std::string::npos) << "decided by an idle check, not a cycle";
  EXPECT_NE(run.out.find("waiting at the router"), std::string::npos) << run.out.substr(seen);

  run.signal(SIGTERM);
  EXPECT_EQ(run.wait(std::chrono::seconds(10)), 0) << run.err;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
