// The analyzer's settings in pipelines.yaml, validated with their paths.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "settings.h"

namespace wva::saturation {
namespace {

using nlohmann::json;

const std::string kPath = "analyzers.saturation";

TEST(Options, EmptyOrNullIsCompatible) {
  for (const json& cfg : {json::object(), json(nullptr)}) {
    auto o = parse_settings(cfg, kPath);
    ASSERT_TRUE(o.ok()) << o.errors.front().to_string();
    EXPECT_EQ(o->mode, Mode::kCompatible);
    EXPECT_FALSE(o->unblock_transitions || o->pending_as_capacity || o->proportional_steps || o->count_saturated ||
                 o->hysteresis);
    EXPECT_EQ(o->config_map, "capacity-scaling-config");
    EXPECT_TRUE(o->namespace_config_maps);
  }
}

TEST(Options, ImprovedTurnsEveryOptionOn) {
  auto o = parse_settings(json{{"mode", "improved"}}, kPath);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->mode, Mode::kImproved);
  EXPECT_TRUE(o->unblock_transitions && o->pending_as_capacity && o->proportional_steps && o->count_saturated &&
              o->hysteresis);
  EXPECT_FALSE(o->max_scale_up_step);
}

TEST(Options, EachOptionCanBeSetEitherWayWhateverTheKeyOrder) {
  auto o = parse_settings(json{{"proportionalSteps", false}, {"mode", "improved"}, {"kvHysteresis", 0.08}}, kPath);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->proportional_steps);
  EXPECT_TRUE(o->hysteresis);
  EXPECT_EQ(o->kv_hysteresis, 0.08);
  auto c = parse_settings(json{{"mode", "compatible"},
                               {"countSaturated", true},
                               {"maxScaleUpStep", 4},
                               {"queueHysteresis", 2},
                               {"hysteresis", true},
                               {"configMap", "my-thresholds"},
                               {"namespaceConfigMaps", false}},
                          kPath);
  ASSERT_TRUE(c.ok()) << c.errors.front().to_string();
  EXPECT_TRUE(c->count_saturated);
  EXPECT_FALSE(c->unblock_transitions);
  EXPECT_EQ(c->max_scale_up_step, 4);
  EXPECT_EQ(c->queue_hysteresis, 2.0);
  EXPECT_TRUE(c->hysteresis);
  EXPECT_EQ(c->config_map, "my-thresholds");
  EXPECT_FALSE(c->namespace_config_maps);
}

struct Bad {
  json config;
  const char* error;
};

class OptionValidation : public ::testing::TestWithParam<Bad> {};

TEST_P(OptionValidation, RejectsWithPath) {
  auto o = parse_settings(GetParam().config, kPath);
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].code, sdk::ErrorCode::kInvalidConfig);
  EXPECT_EQ(o.errors[0].to_string(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Settings, OptionValidation,
    ::testing::Values(
        Bad{json{{"mode", "improvd"}},
            "analyzers.saturation.mode: must be one of compatible, improved, got \"improvd\"; did you mean "
            "\"improved\"?"},
        Bad{json{{"mode", 3}}, "analyzers.saturation.mode: must be one of compatible, improved, got 3"},
        Bad{json{{"hysteresis", "yes"}}, "analyzers.saturation.hysteresis: must be true or false, got \"yes\""},
        Bad{json{{"hysteresis", "true"}}, "analyzers.saturation.hysteresis: must be true or false, got \"true\""},
        Bad{json{{"maxScaleUpStep", 0}}, "analyzers.saturation.maxScaleUpStep: must be a whole number >= 1, got 0"},
        Bad{json{{"maxScaleUpStep", 2.5}}, "analyzers.saturation.maxScaleUpStep: must be a whole number >= 1, got 2.5"},
        Bad{json{{"kvHysteresis", 1.5}}, "analyzers.saturation.kvHysteresis: must be a number in [0, 1], got 1.5"},
        Bad{json{{"queueHysteresis", -1}}, "analyzers.saturation.queueHysteresis: must be a number >= 0, got -1"},
        Bad{json{{"queueHysteresis", "x"}}, "analyzers.saturation.queueHysteresis: must be a number >= 0, got \"x\""},
        Bad{json{{"configMap", ""}}, "analyzers.saturation.configMap: must be a string not empty, got \"\""},
        Bad{json::array({1}), "analyzers.saturation: must be a map of settings, got [1]"}));

TEST(Options, UnknownSettingSuggestsTheName) {
  auto o = parse_settings(json{{"countSaturate", true}}, kPath);
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0].path, "analyzers.saturation.countSaturate");
  EXPECT_EQ(o.errors[0].message, "unknown setting; did you mean \"countSaturated\"?");
}

TEST(Options, EveryErrorIsReported) {
  const json cfg{{"mode", "fast"}, {"hysteresis", 1}, {"bogus", 1}};
  auto o = parse_settings(cfg, kPath);
  ASSERT_EQ(o.errors.size(), 3u);
  EXPECT_EQ(o.errors[0].path, "analyzers.saturation.bogus");
  EXPECT_EQ(o.errors[1].path, "analyzers.saturation.mode");
  EXPECT_EQ(o.errors[2].to_string(), "analyzers.saturation.hysteresis: must be true or false, got 1");
}

}  // namespace
}  // namespace wva::saturation
