#include <gtest/gtest.h>

#include "emulator_plugin.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::emulator {
namespace {

sdk::ModelView model_with(std::string ns, std::string id, std::vector<std::string> variants) {
  sdk::ModelView m;
  m.key = {std::move(ns), std::move(id)};
  for (auto& v : variants) {
    sdk::Variant var;
    var.name = v;
    m.variants.push_back(var);
  }
  return m;
}

const char* kFixed = R"({
  "fixedMetrics": {
    "a-l4": [{"kvCacheUsage": 0.5, "waiting": 2, "running": 10}, {"kvCacheUsage": 0.9}],
    "a-h100": [{"waiting": 0, "running": 3, "kvCacheUsage": 0.1}]
  },
  "fixedLoad": {
    "a-l4": {"arrivalRate": 4, "inputTokens": 100, "outputTokens": 50},
    "a-h100": {"arrivalRate": 1, "inputTokens": 600, "outputTokens": 300}
  }
})";

TEST(FixedMode, ReportsPodsAndLoadPerVariant) {
  EmulatorPlugin plugin;
  ASSERT_TRUE(plugin.configure(nlohmann::json::parse(kFixed), "sources.emulator").ok());
  sdk::testing::FakeContext ctx("emulator");
  ASSERT_TRUE(plugin.start(ctx).ok());
  std::vector<sdk::ModelView> models{model_with("ns", "a", {"a-h100", "a-l4"}), model_with("ns", "b", {"b-x"})};
  auto result = plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const auto& a = result->at(sdk::ModelKey{"ns", "a"});
  EXPECT_EQ(a.state, sdk::MetricsState::kOk);
  EXPECT_EQ(a.collected_at, ctx.clock().now());
  ASSERT_EQ(a.replicas.size(), 3u);
  EXPECT_EQ(a.replicas[0].pod, "a-h100-0");
  EXPECT_EQ(a.replicas[0].variant, "a-h100");
  EXPECT_EQ(a.replicas[1].pod, "a-l4-0");
  EXPECT_DOUBLE_EQ(*a.replicas[1].kv_cache_usage, 0.5);
  EXPECT_DOUBLE_EQ(*a.replicas[1].waiting, 2);
  EXPECT_DOUBLE_EQ(*a.replicas[1].running, 10);
  EXPECT_EQ(a.replicas[2].pod, "a-l4-1");
  EXPECT_DOUBLE_EQ(*a.replicas[2].kv_cache_usage, 0.9);
  EXPECT_FALSE(a.replicas[2].waiting.has_value()) << "absent keys stay absent, never 0";
  EXPECT_FALSE(a.replicas[2].running.has_value());
  ASSERT_EQ(a.load_by_variant.size(), 2u);
  EXPECT_DOUBLE_EQ(*a.load_by_variant.at("a-l4").arrival_rate, 4);
  EXPECT_DOUBLE_EQ(*a.load.arrival_rate, 5);
  EXPECT_DOUBLE_EQ(*a.load.avg_input_tokens, (4 * 100 + 1 * 600) / 5.0);
  EXPECT_DOUBLE_EQ(*a.load.avg_output_tokens, (4 * 50 + 1 * 300) / 5.0);

  const auto& b = result->at(sdk::ModelKey{"ns", "b"});
  EXPECT_EQ(b.state, sdk::MetricsState::kNoData);
  EXPECT_NE(b.message.find("b-x"), std::string::npos);
  EXPECT_TRUE(b.replicas.empty());
}

TEST(FixedMode, NamespaceQualifiedKeyWins) {
  EmulatorPlugin plugin;
  auto cfg = nlohmann::json::parse(R"({"fixedMetrics": {"prod/d": [{"waiting": 7}], "d": [{"waiting": 1}]}})");
  ASSERT_TRUE(plugin.configure(cfg, "sources.emulator").ok());
  sdk::testing::FakeContext ctx("emulator");
  ASSERT_TRUE(plugin.start(ctx).ok());
  std::vector<sdk::ModelView> models{model_with("prod", "m", {"d"}), model_with("dev", "m", {"d"})};
  auto result = plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1)));
  ASSERT_TRUE(result.ok());
  EXPECT_DOUBLE_EQ(*result->at({"prod", "m"}).replicas.at(0).waiting, 7);
  EXPECT_DOUBLE_EQ(*result->at({"dev", "m"}).replicas.at(0).waiting, 1);
}

TEST(FixedMode, PublishDoesNothing) {
  EmulatorPlugin plugin;
  ASSERT_TRUE(plugin.configure(nlohmann::json::parse(kFixed), "sources.emulator").ok());
  sdk::testing::FakeContext ctx("emulator");
  ASSERT_TRUE(ctx.fake_cluster()
                  .put({{"kind", "Deployment"},
                        {"metadata", {{"name", "a-l4"}, {"namespace", "ns"}}},
                        {"spec", {{"replicas", 2}}}})
                  .ok());
  ASSERT_TRUE(plugin.start(ctx).ok());
  sdk::Decision d;
  d.model = {"ns", "a"};
  d.variant = "a-l4";
  d.current = 2;
  d.desired = 5;
  std::vector<sdk::Decision> decisions{d};
  sdk::PublishBatch batch;
  batch.decisions = decisions;
  EXPECT_TRUE(plugin.publish(batch).ok());
  auto dep = ctx.cluster().get("Deployment", "ns", "a-l4");
  ASSERT_TRUE(dep.ok() && dep->has_value());
  EXPECT_EQ((**dep)["spec"]["replicas"], 2);
  EXPECT_TRUE(ctx.fake_cluster().patches().empty());
}

struct BadCase {
  const char* json;
  const char* expected;  // Error::to_string() must contain this
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.json; }

class FixedModeErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(FixedModeErrors, AreRejectedWithPath) {
  EmulatorPlugin plugin;
  auto r = plugin.configure(nlohmann::json::parse(GetParam().json), "sources.emulator");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kInvalidConfig);
  EXPECT_NE(r.error().to_string().find(GetParam().expected), std::string::npos) << r.error().to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FixedModeErrors,
    ::testing::Values(BadCase{R"({"fixedMetrics": {"a-l4": [{"kvCacheUsage": 0.5}, {"kvCacheUsage": 1.5}]}})",
                              "sources.emulator.fixedMetrics.a-l4[1].kvCacheUsage: must be in [0,1]"},
                      BadCase{R"({"fixedMetrics": {"a-l4": [{"waiting": -1}]}})",
                              "sources.emulator.fixedMetrics.a-l4[0].waiting: must be >= 0"},
                      BadCase{R"({"fixedMetrics": {"a-l4": [{"runing": 3}]}})",
                              "sources.emulator.fixedMetrics.a-l4[0].runing: unknown key (did you mean \"running\"?)"},
                      BadCase{R"({"fixedMetrics": {"a-l4": {"waiting": 1}}})",
                              "sources.emulator.fixedMetrics.a-l4: must be a list"},
                      BadCase{R"({"fixedMetrics": [1]})", "sources.emulator.fixedMetrics: must be a map"},
                      BadCase{R"({"fixedLoad": {"a": {"arrivalRate": "fast"}}})",
                              "sources.emulator.fixedLoad.a.arrivalRate: must be a number, got string"},
                      BadCase{R"({"fixedLoad": {"a": {"arrivalRate": 1, "inputTokens": -3}}})",
                              "sources.emulator.fixedLoad.a.inputTokens: must be >= 0"},
                      BadCase{R"({"fixdMetrics": {}})",
                              "sources.emulator.fixdMetrics: unknown setting; did you mean \"fixedMetrics\"?"},
                      BadCase{R"([1, 2])", "sources.emulator: must be a map"}));

TEST(FixedMode, AllErrorsAreReported) {
  EmulatorPlugin plugin;
  auto r = plugin.configure(nlohmann::json::parse(R"({"fixedMetrics": {"a": [{"kvCacheUsage": 2}, {"waiting": -1}]}})"),
                            "s.e");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().path, "s.e.fixedMetrics.a[0].kvCacheUsage");
  EXPECT_NE(r.error().message.find("s.e.fixedMetrics.a[1].waiting: must be >= 0"), std::string::npos);
}

TEST(FixedMode, CollectBeforeStartIsAnError) {
  EmulatorPlugin plugin;
  ASSERT_TRUE(plugin.configure(nlohmann::json::object(), "s").ok());
  std::vector<sdk::ModelView> models;
  EXPECT_FALSE(plugin.collect(models, sdk::Deadline::in(std::chrono::seconds(1))).ok());
}

}  // namespace
}  // namespace wva::emulator
