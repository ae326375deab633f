// The plugin object with the SDK fakes: settings errors with paths, the ConfigMap read each cycle, an
// invalid new version keeping the last good policy, and activity kept across cycles on the host clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model_fixture.h"
#include "scale_to_zero_plugin.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::scale_to_zero {
namespace {

using nlohmann::json;
using sdk::testing::FakeContext;
using ::testing::HasSubstr;
using testing::make_model;
using testing::target_of;
using testing::upstream;
using testing::VariantSpec;
using namespace std::chrono_literals;

const std::string kSystem = "workload-variant-autoscaler-system";

json config_map(const std::map<std::string, std::string>& data) {
  json cm{
      {"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", kConfigMapName}, {"namespace", kSystem}}}};
  cm["data"] = json::object();
  for (const auto& [k, v] : data) cm["data"][k] = v;
  return cm;
}

struct Started {
  FakeContext ctx{"scale-to-zero"};
  ScaleToZeroAnalyzer plugin;
  explicit Started(const json& cfg = json::object()) {
    auto c = sdk::testing::configure_as_host(plugin, cfg, "analyzers.scale-to-zero");
    EXPECT_TRUE(c.empty()) << sdk::testing::errors_text(c);
    EXPECT_TRUE(plugin.start(ctx).ok());
  }
  // One cycle of one idle model (1 replica on a-h100), upstream at the minimum.
  std::optional<int> cycle() {
    const auto m = make_model({VariantSpec{"a-h100", 3.0, 1}});
    std::vector<sdk::ModelView> models{m};
    EXPECT_TRUE(plugin.prepare_cycle(models).ok());
    const auto up = upstream({{"a-h100", 1}});
    auto r = plugin.analyze(m, &up);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? target_of(r.value(), "a-h100") : std::nullopt;
  }
};

TEST(ScaleToZeroPlugin, SettingsErrorsHaveTheirPaths) {
  struct Case {
    json settings;
    std::string path, message;
  };
  const Case cases[] = {
      {{{"retention", "ten minutes"}}, "analyzers.scale-to-zero.retention", "invalid duration"},
      {{{"retention", 600}}, "analyzers.scale-to-zero.retention", "must be a duration"},
      {{{"retention", "169h"}}, "analyzers.scale-to-zero.retention", "in (0s, 168h]"},
      {{{"enabled", "yes"}}, "analyzers.scale-to-zero.enabled", "true or false"},
      {{{"configMap", ""}}, "analyzers.scale-to-zero.configMap", "must be a string at least 1 long"},
      {{{"retension", "5m"}}, "analyzers.scale-to-zero.retension", "unknown setting; did you mean \"retention\""},
      {json::array(), "analyzers.scale-to-zero", "must be a map"},
  };
  for (const auto& c : cases) {
    ScaleToZeroAnalyzer p;
    auto r = sdk::testing::configure_as_host(p, c.settings, "analyzers.scale-to-zero");
    ASSERT_EQ(r.size(), 1u) << c.settings.dump();
    EXPECT_EQ(r[0].path, c.path) << c.settings.dump();
    EXPECT_THAT(r[0].message, HasSubstr(c.message)) << c.settings.dump();
  }
  ScaleToZeroAnalyzer p;
  auto two = sdk::testing::configure_as_host(p, {{"enabled", 1}, {"retention", "x"}}, "analyzers.z");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].path, "analyzers.z.enabled");
  EXPECT_EQ(two[1].path, "analyzers.z.retention");
}

TEST(ScaleToZeroPlugin, OffByDefault) {
  Started s;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(s.cycle(), 1);
    s.ctx.fake_clock().advance(1h);
  }
}

TEST(ScaleToZeroPlugin, SettingsEnableItWhenNoConfigMapExists) {
  Started s({{"enabled", true}, {"retention", "1m"}});
  EXPECT_EQ(s.cycle(), 1);
  s.ctx.fake_clock().advance(61s);
  EXPECT_EQ(s.cycle(), 0);
}

TEST(ScaleToZeroPlugin, ConfigMapDefaultOverridesTheSettings) {
  Started s({{"enabled", true}, {"retention", "1m"}});
  ASSERT_TRUE(s.ctx.fake_cluster().put(config_map({{"default", "enable_scale_to_zero: false\n"}})).ok());
  EXPECT_EQ(s.cycle(), 1);
  s.ctx.fake_clock().advance(10min);
  EXPECT_EQ(s.cycle(), 1);
  EXPECT_FALSE(s.plugin.policy_for({"llm", "meta/llama"}).enabled);
  EXPECT_EQ(s.plugin.policy_for({"llm", "meta/llama"}).retention, 1min) << "retention still from the settings";
}

TEST(ScaleToZeroPlugin, InvalidNewVersionKeepsTheLastGoodPolicy) {
  Started s;
  ASSERT_TRUE(s.ctx.fake_cluster()
                  .put(config_map({{"llama",
                                    "model_id: meta/llama\nnamespace: llm\nenable_scale_to_zero: true\n"
                                    "retention_period: 2m\n"}}))
                  .ok());
  EXPECT_EQ(s.cycle(), 1);
  ASSERT_TRUE(s.ctx.fake_cluster()
                  .put(config_map({{"llama", "model_id: meta/llama\nnamespace: llm\nenable_scale_to_zero: maybe\n"}}))
                  .ok());
  s.ctx.fake_clock().advance(3min);
  EXPECT_EQ(s.cycle(), 0) << "the last good entry (enabled, 2m) stays in force";
  EXPECT_TRUE(s.ctx.fake_logger().contains("data.llama.enable_scale_to_zero"));
  EXPECT_TRUE(s.ctx.fake_logger().contains("keeping the last good"));
}

TEST(ScaleToZeroPlugin, UnreadableConfigMapKeepsThePolicyReadBefore) {
  Started s;
  ASSERT_TRUE(
      s.ctx.fake_cluster().put(config_map({{"default", "enable_scale_to_zero: true\nretention_period: 1m\n"}})).ok());
  EXPECT_EQ(s.cycle(), 1);
  s.ctx.fake_cluster().fail_next("get", sdk::make_error(sdk::ErrorCode::kUnavailable, "API down"));
  s.ctx.fake_clock().advance(2min);
  EXPECT_EQ(s.cycle(), 0);
  EXPECT_TRUE(s.ctx.fake_logger().contains("API down"));
}

}  // namespace
}  // namespace wva::scale_to_zero
