// Tests of the log sink's logic: config validation, JSON and text rendering, output targets.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "log_plugin.h"
#include "wva/sdk/testing/fakes.h"
#include "wva/sdk/util/memory_cluster.h"

namespace wva::plugins::log_sink {
namespace {

sdk::Decision decision(std::string ns, std::string model, std::string variant, std::string accel, int current,
                       int desired, std::string reason, std::string analyzer) {
  sdk::Decision d;
  d.model = sdk::ModelKey{std::move(ns), std::move(model)};
  d.variant = std::move(variant);
  d.accelerator = std::move(accel);
  d.current = current;
  d.desired = desired;
  d.reason = std::move(reason);
  d.analyzer = std::move(analyzer);
  return d;
}

std::vector<sdk::Decision> two_decisions() {
  return {decision("llm", "meta/llama-3.1-8b", "llama-h100", "H100", 2, 3, "kv cache 0.92 > 0.80", "saturation"),
          decision("team-a", "qwen", "qwen-a100-long-name", "", 4, 1, "idle", "waiting-target")};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A minimal PluginContext; the log sink uses none of it.
class NullContext : public sdk::PluginContext {
 public:
  struct NullLogger : sdk::Logger {
    void log(sdk::LogLevel, std::string_view) override {}
  };
  struct FixedClock : sdk::Clock {
    sdk::TimePoint now() const override { return {}; }
    bool is_virtual() const override { return true; }
  };
  struct NullMetrics : sdk::MetricsRegistry {
    void set_gauge(std::string_view, std::string_view, const sdk::Labels&, double) override {}
    void add_counter(std::string_view, std::string_view, const sdk::Labels&, double) override {}
    void remove(std::string_view, const sdk::Labels&) override {}
    std::string render() const override { return {}; }
  };
  sdk::Logger& logger() override { return logger_; }
  const sdk::Clock& clock() override { return clock_; }
  sdk::ClusterView& cluster() override { return cluster_; }
  sdk::MetricsRegistry& metrics() override { return metrics_; }
  std::string instance_name() const override { return "log"; }

 private:
  NullLogger logger_;
  FixedClock clock_;
  sdk::InMemoryCluster cluster_;
  NullMetrics metrics_;
};

class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path();
    for (int i = 0; i < 100; ++i) {
      auto p = base / ("wva-log-sink-" + std::to_string(::getpid()) + "-" + std::to_string(i));
      if (std::filesystem::create_directory(p)) {
        path_ = p;
        return;
      }
    }
    ADD_FAILURE() << "no temp dir";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LogSinkSettings, DefaultsToTextOnStderr) {
  for (const auto& config : {nlohmann::json(), nlohmann::json::object()}) {
    auto c = parse_settings(config, "sinks.log");
    ASSERT_TRUE(c.ok()) << c.errors.front().to_string();
    EXPECT_EQ(c->format, Format::kText);
    EXPECT_EQ(c->output, "stderr");
  }
}

TEST(LogSinkSettings, ReadsFormatAndOutput) {
  auto c = parse_settings({{"format", "json"}, {"output", "/tmp/x.log"}}, "sinks.log");
  ASSERT_TRUE(c.ok()) << c.errors.front().to_string();
  EXPECT_EQ(c->format, Format::kJson);
  EXPECT_EQ(c->output, "/tmp/x.log");
}

TEST(LogSinkSettings, EveryErrorCarriesThePathOfTheBadKey) {
  auto bad_format = parse_settings({{"format", "xml"}}, "sinks.log");
  ASSERT_EQ(bad_format.errors.size(), 1u);
  EXPECT_EQ(bad_format.errors[0].code, sdk::ErrorCode::kInvalidConfig);
  EXPECT_EQ(bad_format.errors[0].to_string(), "sinks.log.format: must be one of text, json, got \"xml\"");

  auto bad_output = parse_settings({{"output", 3}}, "sinks.log");
  ASSERT_EQ(bad_output.errors.size(), 1u);
  EXPECT_EQ(bad_output.errors[0].path, "sinks.log.output");

  auto empty_output = parse_settings({{"output", ""}}, "sinks.log");
  ASSERT_EQ(empty_output.errors.size(), 1u);
  EXPECT_EQ(empty_output.errors[0].path, "sinks.log.output");

  auto unknown = parse_settings({{"formats", "json"}}, "sinks.log");
  ASSERT_EQ(unknown.errors.size(), 1u);
  EXPECT_EQ(unknown.errors[0].to_string(), "sinks.log.formats: unknown setting; did you mean \"format\"?");

  // All three at once: three errors, not the first.
  auto three = parse_settings({{"format", "xml"}, {"output", ""}, {"formats", 1}}, "sinks.log");
  EXPECT_EQ(three.errors.size(), 3u);

  auto not_a_map = parse_settings(nlohmann::json::array(), "sinks.log");
  ASSERT_FALSE(not_a_map.ok());
  EXPECT_EQ(not_a_map.errors[0].path, "sinks.log");
}

TEST(RenderJson, OneDocumentWithTheDecisionFieldsInOrder) {
  auto ds = two_decisions();
  const std::string out = render_json(ds);
  ASSERT_EQ(lines_of(out).size(), 1u) << out;
  ASSERT_EQ(out.back(), '\n');
  EXPECT_EQ(out.rfind("{\"decisions\":[{\"namespace\":\"llm\",\"model\":\"meta/llama-3.1-8b\",\"variant\":"
                      "\"llama-h100\",\"accelerator\":\"H100\",\"current\":2,\"desired\":3,\"reason\":",
                      0),
            0u)
      << out;
  auto doc = nlohmann::json::parse(out);
  ASSERT_EQ(doc.size(), 1u);
  ASSERT_EQ(doc["decisions"].size(), 2u);
  const auto& second = doc["decisions"][1];
  EXPECT_EQ(second["namespace"], "team-a");
  EXPECT_EQ(second["model"], "qwen");
  EXPECT_EQ(second["variant"], "qwen-a100-long-name");
  EXPECT_TRUE(second["accelerator"].is_null()) << "unknown accelerator must be null, not \"\"";
  EXPECT_EQ(second["current"], 4);
  EXPECT_EQ(second["desired"], 1);
  EXPECT_EQ(second["reason"], "idle");
  EXPECT_EQ(second["analyzer"], "waiting-target");
  EXPECT_EQ(second.size(), 8u);
}

TEST(RenderJson, EmptyBatchIsStillOneDocument) { EXPECT_EQ(render_json({}), "{\"decisions\":[]}\n"); }

TEST(RenderJson, InvalidUtf8InReasonDoesNotThrow) {
  auto d = decision("n", "m", "v", "H100", 1, 1, std::string("bad \xff byte"), "a");
  std::string out;
  ASSERT_NO_THROW(out = render_json(std::span<const sdk::Decision>(&d, 1)));
  EXPECT_TRUE(nlohmann::json::accept(out)) << out;
}

TEST(RenderText, OneAlignedLinePerDecision) {
  auto ds = two_decisions();
  ds[1].held = true;
  auto lines = lines_of(render_text(ds));
  ASSERT_EQ(lines.size(), 2u);
  for (const char* column : {"current=", "desired=", "analyzer=", "reason="}) {
    auto a = lines[0].find(column), b = lines[1].find(column);
    ASSERT_NE(a, std::string::npos) << column;
    EXPECT_EQ(a, b) << "column " << column << " is not aligned:\n" << lines[0] << "\n" << lines[1];
  }
  EXPECT_EQ(lines[0].rfind("llm     meta/llama-3.1-8b  llama-h100           H100  current=2  desired=3", 0), 0u)
      << lines[0];
  EXPECT_NE(lines[0].find("analyzer=saturation"), std::string::npos);
  EXPECT_NE(lines[0].find("reason=kv cache 0.92 > 0.80"), std::string::npos);
  // Unknown accelerator shows as "-"; a held decision says so.
  EXPECT_NE(lines[1].find("qwen-a100-long-name  -     current=4"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("(held"), std::string::npos);
  EXPECT_EQ(render_text({}), "");
}

TEST(LogSink, AppendsOneJsonDocumentPerPublishToAFile) {
  TempDir dir;
  const auto file = dir.path() / "decisions.log";
  LogSink sink;
  ASSERT_TRUE(
      sdk::testing::configure_as_host(sink, {{"format", "json"}, {"output", file.string()}}, "sinks.log").empty());
  NullContext ctx;
  ASSERT_TRUE(sink.start(ctx).ok());
  auto ds = two_decisions();
  sdk::PublishBatch batch;
  batch.decisions = ds;
  ASSERT_TRUE(sink.publish(batch).ok());
  batch.decisions = std::span<const sdk::Decision>(ds.data(), 1);
  ASSERT_TRUE(sink.publish(batch).ok());
  sink.stop();
  auto lines = lines_of(read_file(file));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["decisions"].size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["decisions"].size(), 1u);
  // After stop, publish is refused (not a crash), and a restart appends to the same file.
  EXPECT_FALSE(sink.publish(batch).ok());
  ASSERT_TRUE(sink.start(ctx).ok());
  ASSERT_TRUE(sink.publish(batch).ok());
  sink.stop();
  EXPECT_EQ(lines_of(read_file(file)).size(), 3u);
}

TEST(LogSink, TextToStdout) {
  LogSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, {{"format", "text"}, {"output", "stdout"}}, "sinks.log").empty());
  NullContext ctx;
  ASSERT_TRUE(sink.start(ctx).ok());
  auto ds = two_decisions();
  sdk::PublishBatch batch;
  batch.decisions = ds;
  ::testing::internal::CaptureStdout();
  auto r = sink.publish(batch);
  const std::string out = ::testing::internal::GetCapturedStdout();
  sink.stop();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(out, render_text(ds));
}

TEST(LogSink, UnopenableFileFailsStartWithOutputPath) {
  LogSink sink;
  ASSERT_TRUE(
      sdk::testing::configure_as_host(sink, {{"output", "/nonexistent-dir/x/decisions.log"}}, "sinks.log").empty());
  NullContext ctx;
  auto r = sink.start(ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().path, "sinks.log.output");
  EXPECT_NE(r.error().message.find("/nonexistent-dir/x/decisions.log"), std::string::npos);
}

TEST(LogSink, ConfigureDoesNoIo) {
  TempDir dir;
  const auto file = dir.path() / "never.log";
  LogSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, {{"output", file.string()}}, "sinks.log").empty());
  EXPECT_FALSE(std::filesystem::exists(file));
}

}  // namespace
}  // namespace wva::plugins::log_sink
