// The metrics sink end to end: real HTTP on 127.0.0.1 (port 0), the exposition parsed back, promtool.
#include <gtest/gtest.h>
#include <httplib.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "metrics_plugin.h"
#include "prerequisite.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::metrics {
namespace {

using nlohmann::json;
using sdk::Decision;
using sdk::testing::FakeContext;

struct Sample {
  std::string name;
  sdk::Labels labels;
  double value = 0;
};

// Parses the Prometheus text format 0.0.4 (samples only; # lines are checked by the caller).
std::vector<Sample> parse_exposition(const std::string& text, std::string& error) {
  std::vector<Sample> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) {
      error = "last line has no newline";
      return out;
    }
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key;
        while (i < line.size() && line[i] != '=') key += line[i++];
        if (i + 1 >= line.size() || line[i + 1] != '"') {
          error = "bad label in: " + line;
          return out;
        }
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      error = "no value in: " + line;
      return out;
    }
    s.value = std::stod(line.substr(i + 1));
    out.push_back(std::move(s));
  }
  return out;
}

const Sample* find(const std::vector<Sample>& samples, const std::string& name, const std::string& variant) {
  for (const auto& s : samples)
    if (s.name == name && s.labels.count("variant_name") && s.labels.at("variant_name") == variant) return &s;
  return nullptr;
}

Decision decision(const std::string& variant, int current, int desired, const std::string& acc = "H100") {
  Decision d;
  d.model = sdk::ModelKey{"llm", "meta/llama-3.1-8b"};
  d.va_name = "llama";
  d.variant = variant;
  d.accelerator = acc;
  d.current = current;
  d.desired = desired;
  return d;
}

sdk::Result<void> publish(MetricsSink& sink, const std::vector<Decision>& ds) {
  sdk::PublishBatch b;
  b.pipeline = "default";
  b.time = sdk::testing::ManualClock::default_start();
  b.decisions = ds;
  return sink.publish(b);
}

class MetricsSinkHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sdk::testing::configure_as_host(sink_, json{{"listen", "127.0.0.1:0"}}, "sinks.metrics").empty());
    auto r = sink_.start(ctx_);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_TRUE(sink_.bound_port().has_value());
    port_ = *sink_.bound_port();
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { sink_.stop(); }

  httplib::Result get(const std::string& path) {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    return client.Get(path);
  }

  FakeContext ctx_{"metrics"};
  MetricsSink sink_;
  int port_ = 0;
};

TEST_F(MetricsSinkHttpTest, ServesPublishedGaugesAndHostMetrics) {
  EXPECT_TRUE(ctx_.fake_logger().contains("127.0.0.1:" + std::to_string(port_))) << ctx_.fake_logger().dump();
  ctx_.metrics().add_counter("wva_cycles_total", "Cycles run by the controller", {{"pipeline", "default"}}, 3);
  ASSERT_TRUE(publish(sink_, {decision("llama-h100", 4, 6), decision("llama-l40s", 0, 2, "L40S")}).ok());

  auto res = get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
  std::string error;
  auto samples = parse_exposition(res->body, error);
  ASSERT_TRUE(error.empty()) << error << "\n" << res->body;

  const Sample* desired = find(samples, "inferno_desired_replicas", "llama-h100");
  ASSERT_NE(desired, nullptr) << res->body;
  EXPECT_EQ(desired->value, 6);
  EXPECT_EQ(desired->labels.at("namespace"), "llm");
  EXPECT_EQ(desired->labels.at("accelerator_type"), "H100");
  EXPECT_EQ(desired->labels.at("model_name"), "meta/llama-3.1-8b");
  ASSERT_NE(find(samples, "inferno_current_replicas", "llama-h100"), nullptr);
  EXPECT_EQ(find(samples, "inferno_current_replicas", "llama-h100")->value, 4);
  ASSERT_NE(find(samples, "inferno_desired_ratio", "llama-h100"), nullptr);
  EXPECT_EQ(find(samples, "inferno_desired_ratio", "llama-h100")->value, 1.5);
  ASSERT_NE(find(samples, "inferno_desired_ratio", "llama-l40s"), nullptr);
  EXPECT_EQ(find(samples, "inferno_desired_ratio", "llama-l40s")->value, 2) << "current 0: ratio = desired";
  EXPECT_NE(res->body.find("# TYPE inferno_desired_replicas gauge"), std::string::npos);
  EXPECT_NE(res->body.find("wva_cycles_total{pipeline=\"default\"} 3"), std::string::npos)
      << "the host's own metrics are served too";
}

TEST_F(MetricsSinkHttpTest, DeletedVariantDisappearsFromTheEndpoint) {
  ASSERT_TRUE(publish(sink_, {decision("a", 1, 1), decision("b", 1, 2)}).ok());
  ASSERT_TRUE(publish(sink_, {decision("a", 1, 1)}).ok());
  auto res = get("/metrics");
  ASSERT_TRUE(res);
  std::string error;
  auto samples = parse_exposition(res->body, error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_NE(find(samples, "inferno_desired_replicas", "a"), nullptr);
  EXPECT_EQ(find(samples, "inferno_desired_replicas", "b"), nullptr) << res->body;
  EXPECT_EQ(find(samples, "inferno_current_replicas", "b"), nullptr);
  EXPECT_EQ(find(samples, "inferno_desired_ratio", "b"), nullptr);
}

TEST_F(MetricsSinkHttpTest, HealthzAndUnknownPath) {
  auto ok = get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok\n");
  auto missing = get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(MetricsSinkHttpTest, PromtoolAcceptsTheServedText) {
  const char* promtool = "/usr/bin/promtool";
  WVA_REQUIRE(access(promtool, X_OK) == 0) << "promtool not installed (Debian package prometheus)";
  ctx_.metrics().set_gauge("wva_up", "Whether the controller runs", {}, 1);
  ASSERT_TRUE(publish(sink_, {decision("llama-h100", 4, 6), decision("with\"quote", 1, 1, "A\\100")}).ok());
  auto res = get("/metrics");
  ASSERT_TRUE(res);

  char file[] = "/tmp/wva-metrics-XXXXXX";
  const int fd = mkstemp(file);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, res->body.data(), res->body.size()), static_cast<ssize_t>(res->body.size()));
  close(fd);
  const std::string cmd = std::string(promtool) + " check metrics < " + file + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) output += buf;
  const int status = pclose(p);
  unlink(file);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "promtool exit " << WEXITSTATUS(status) << ":\n"
                                                             << output << "\n"
                                                             << res->body;
  EXPECT_EQ(output, "") << res->body;
}

TEST_F(MetricsSinkHttpTest, StopClosesThePortAndRemovesTheSeries) {
  ASSERT_TRUE(publish(sink_, {decision("a", 1, 1)}).ok());
  sink_.stop();
  EXPECT_FALSE(sink_.bound_port().has_value());
  EXPECT_FALSE(get("/healthz")) << "server still answering after stop()";
  EXPECT_EQ(ctx_.fake_metrics().series_count("inferno_desired_replicas"), 0u);
  sink_.stop();  // idempotent
}

TEST(MetricsSink, PortInUseFailsStartWithThePath) {
  FakeContext ctx("metrics");
  MetricsSink first;
  ASSERT_TRUE(sdk::testing::configure_as_host(first, json{{"listen", "127.0.0.1:0"}}, "sinks.metrics").empty());
  ASSERT_TRUE(first.start(ctx).ok());
  const int port = *first.bound_port();
  MetricsSink second;
  ASSERT_TRUE(
      sdk::testing::configure_as_host(second, json{{"listen", "127.0.0.1:" + std::to_string(port)}}, "sinks.other")
          .empty());
  auto r = second.start(ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().path, "sinks.other.listen");
  EXPECT_NE(r.error().message.find(std::to_string(port)), std::string::npos) << r.error().message;
  second.stop();
  first.stop();
}

TEST(MetricsSink, DisabledServerStillSetsGauges) {
  FakeContext ctx("metrics");
  MetricsSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, json{{"listen", "0"}}, "sinks.metrics").empty());
  ASSERT_TRUE(sink.start(ctx).ok());
  EXPECT_FALSE(sink.bound_port().has_value());
  ASSERT_TRUE(publish(sink, {decision("a", 2, 3)}).ok());
  EXPECT_EQ(ctx.fake_metrics().value("inferno_desired_replicas", {{"variant_name", "a"},
                                                                  {"namespace", "llm"},
                                                                  {"accelerator_type", "H100"},
                                                                  {"model_name", "meta/llama-3.1-8b"}}),
            3.0);
  sink.stop();
}

TEST(MetricsSink, PublishBeforeStartIsAnError) {
  MetricsSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, json::object(), "sinks.metrics").empty());
  auto r = publish(sink, {decision("a", 1, 1)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "sinks.metrics");
}

}  // namespace
}  // namespace wva::plugins::metrics
