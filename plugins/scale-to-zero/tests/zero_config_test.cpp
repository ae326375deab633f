// The ConfigMap wva-model-scale-to-zero-config: entries, precedence (namespace-specific, any namespace,
// default, code defaults) and every error with its path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "zero_config.h"

namespace wva::scale_to_zero {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const std::string kSource = "ConfigMap wva/wva-model-scale-to-zero-config";

TEST(ZeroConfig, ResolvesNamespaceEntryThenModelEntryThenDefault) {
  const auto cfg = parse_zero_config(
      kSource, {
                   {"default", "enable_scale_to_zero: false\nretention_period: 5m\n"},
                   {"llama-any", "model_id: meta/llama\nenable_scale_to_zero: true\n"},
                   {"llama-team-a",
                    "model_id: meta/llama\nnamespace: team-a\nretention_period: 30s\nenable_scale_to_zero: true\n"},
                   {"llama-team-b", "model_id: meta/llama\nnamespace: team-b\nenable_scale_to_zero: false\n"},
               });
  ASSERT_TRUE(cfg.errors.empty()) << cfg.errors.front().to_string();
  struct Case {
    sdk::ModelKey key;
    bool enabled;
    std::chrono::milliseconds retention;
    std::string from;
  };
  const Case cases[] = {
      {{"team-a", "meta/llama"}, true, 30s, "data.llama-team-a"},
      {{"team-b", "meta/llama"}, false, 5min, "data.llama-team-b"},  // retention from default
      {{"team-c", "meta/llama"}, true, 5min, "data.llama-any"},      // no team-c entry: the any-namespace one
      {{"team-a", "other/model"}, false, 5min, "data.default"},
  };
  for (const auto& c : cases) {
    const ZeroPolicy p = cfg.resolve(c.key);
    EXPECT_EQ(p.enabled, c.enabled) << c.key.to_string();
    EXPECT_EQ(p.retention, c.retention) << c.key.to_string();
    EXPECT_THAT(p.source, HasSubstr(c.from)) << c.key.to_string();
  }
}

TEST(ZeroConfig, NamespaceIsPartOfTheKeyUnlikeUpstream) {
  // Upstream keys entries by model_id only: team-b's entry would switch team-a's model too.
  const auto cfg = parse_zero_config(kSource, {{"b", "model_id: m\nnamespace: team-b\nenable_scale_to_zero: true\n"}});
  EXPECT_TRUE(cfg.resolve({"team-b", "m"}).enabled);
  EXPECT_FALSE(cfg.resolve({"team-a", "m"}).enabled);
}

TEST(ZeroConfig, CodeDefaultsAreOffWithTenMinutes) {
  const auto cfg = parse_zero_config(kSource, {});
  const auto p = cfg.resolve({"ns", "m"});
  EXPECT_FALSE(p.enabled);
  EXPECT_EQ(p.retention, 10min);
}

TEST(ZeroConfig, EveryErrorHasItsPath) {
  struct Case {
    std::string key, text, path, message;
  };
  const Case cases[] = {
      {"a", "model_id: m\nenable_scale_to_zero: yes please\n", "data.a.enable_scale_to_zero", "true or false"},
      {"b", "model_id: m\nretention_period: 10\n", "data.b.retention_period", "missing unit"},
      {"c", "model_id: m\nretention_period: 0s\n", "data.c.retention_period", "greater than 0"},
      {"d", "model_id: m\nretention_period: 200h\n", "data.d.retention_period", "at most 168h"},
      {"e", "model_id: m\nretention_perod: 5m\n", "data.e.retention_perod", "did you mean \"retention_period\""},
      {"f", "enable_scale_to_zero: true\n", "data.f.model_id", "model_id is required"},
      {"g", "[1, 2]", "data.g", "must be a YAML mapping"},
      {"h", "model_id: [m]\n", "data.h.model_id", "must be a scalar"},
      {"i", ",", "data.i", "invalid YAML: line 1, column 1: did not find expected node content"},
      {"j", "model_id: {\n", "data.j", "invalid YAML"},
      {"k", std::string(kMaxEntryBytes + 1, '#'), "data.k", "over the limit"},
  };
  for (const auto& c : cases) {
    const auto cfg = parse_zero_config(kSource, {{c.key, c.text}});
    ASSERT_EQ(cfg.errors.size(), 1u) << c.key;
    EXPECT_EQ(cfg.errors[0].path, kSource + ": " + c.path) << c.key;
    EXPECT_THAT(cfg.errors[0].message, HasSubstr(c.message)) << c.key;
    EXPECT_TRUE(cfg.entries.empty()) << c.key << ": an invalid entry is left out";
  }
}

TEST(ZeroConfig, DuplicateModelKeepsTheFirstKeyAndWarns) {
  const auto cfg = parse_zero_config(kSource, {{"a", "model_id: m\nenable_scale_to_zero: true\n"},
                                               {"b", "model_id: m\nenable_scale_to_zero: false\n"}});
  EXPECT_TRUE(cfg.resolve({"any", "m"}).enabled);
  ASSERT_EQ(cfg.warnings.size(), 1u);
  EXPECT_THAT(cfg.warnings[0], HasSubstr("data.b"));
}

}  // namespace
}  // namespace wva::scale_to_zero
