// The hybrid combiner as the host calls it: settings, the chain check, combining by instance name.
#include <gtest/gtest.h>

#include "hybrid_plugin.h"

namespace wva::combiners::hybrid {
namespace {

struct SettingsCase {
  const char* name;
  nlohmann::json config;
  bool ok;
  std::string saturation;                // when ok
  std::string model;                     //
  std::vector<std::string> error_paths;  // when not ok: every error's path, in order
  std::string fragment;                  // and a piece of the first one's message
};

class HybridSettings : public ::testing::TestWithParam<SettingsCase> {};

TEST_P(HybridSettings, ParsesOrNamesEveryPath) {
  const auto& c = GetParam();
  auto s = parse_settings(c.config, "combiners.h");
  ASSERT_EQ(s.ok(), c.ok) << (s.ok() ? "accepted" : s.errors.front().to_string());
  if (c.ok) {
    EXPECT_EQ(s->saturation, c.saturation);
    EXPECT_EQ(s->model, c.model);
    return;
  }
  std::vector<std::string> paths;
  for (const auto& e : s.errors) {
    EXPECT_EQ(e.code, sdk::ErrorCode::kInvalidConfig);
    paths.push_back(e.path);
  }
  EXPECT_EQ(paths, c.error_paths);
  EXPECT_NE(s.errors.front().message.find(c.fragment), std::string::npos) << s.errors.front().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, HybridSettings,
    ::testing::Values(
        SettingsCase{"null_is_defaults", nullptr, true, "saturation", "queueing", {}, ""},
        SettingsCase{"empty_is_defaults", nlohmann::json::object(), true, "saturation", "queueing", {}, ""},
        SettingsCase{"both_named", {{"saturation", "sat-a"}, {"model", "q-b"}}, true, "sat-a", "q-b", {}, ""},
        SettingsCase{"one_named", {{"model", "q-b"}}, true, "saturation", "q-b", {}, ""},
        SettingsCase{"not_a_map", nlohmann::json::array({1}), false, "", "", {"combiners.h"}, "must be a map"},
        SettingsCase{"misspelt", {{"modle", "q"}}, false, "", "", {"combiners.h.modle"}, "did you mean \"model\""},
        SettingsCase{"not_a_name", {{"saturation", 3}}, false, "", "", {"combiners.h.saturation"}, "must be a string"},
        SettingsCase{"empty_name", {{"model", ""}}, false, "", "", {"combiners.h.model"}, "must be a string"},
        SettingsCase{"same_twice",
                     {{"saturation", "x"}, {"model", "x"}},
                     false,
                     "",
                     "",
                     {"combiners.h.model"},
                     "the same analyzer"},
        SettingsCase{"every_error",
                     {{"model", 1}, {"saturation", 2}, {"x", 3}},
                     false,
                     "",
                     "",
                     {"combiners.h.x", "combiners.h.saturation", "combiners.h.model"},
                     "unknown setting"}),
    [](const ::testing::TestParamInfo<SettingsCase>& info) { return std::string(info.param.name); });

// Configures `h` as the host does: the schema and the cross-field rules, then configure().
bool configure(HybridCombiner& h, const nlohmann::json& settings, const std::string& path) {
  auto prepared = sdk::prepare_settings(h, settings, path);
  return prepared.ok() && h.configure(prepared.values, path).ok();
}

TEST(HybridChain, NeedsExactlyItsTwoAnalyzersInOrder) {
  HybridCombiner h;
  ASSERT_TRUE(configure(h, nlohmann::json::object(), "combiners.hybrid"));
  const std::vector<std::string> good = {"saturation", "queueing"};
  EXPECT_TRUE(h.check_chain(good, "pipelines.p.combine").ok());
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"saturation"}, {"queueing", "saturation"}, {"saturation", "queueing", "capacity"}, {"a", "b"}}) {
    auto r = h.check_chain(bad, "pipelines.p.combine");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().path, "pipelines.p.combine");
    EXPECT_NE(r.error().message.find("hybrid needs exactly two analyzers"), std::string::npos) << r.error().message;
  }
  // Other instance names, from the settings.
  HybridCombiner named;
  ASSERT_TRUE(configure(named, {{"saturation", "sat-a"}, {"model", "q-b"}}, "combiners.h2"));
  const std::vector<std::string> renamed = {"sat-a", "q-b"};
  EXPECT_TRUE(named.check_chain(renamed, "pipelines.p.combine").ok());
  auto r = named.check_chain(good, "pipelines.p.combine");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("[sat-a, q-b]"), std::string::npos) << r.error().message;
}

sdk::ModelView one_variant(int current) {
  sdk::ModelView m;
  m.key = {"ns", "model"};
  sdk::Variant v;
  v.name = "v";
  v.current_replicas = current;
  m.variants = {v};
  return m;
}

TEST(HybridCombine, FindsItsAnalyzersByInstanceName) {
  HybridCombiner h;
  ASSERT_TRUE(configure(h, {{"saturation", "live"}, {"model", "planned"}}, "combiners.h"));
  sdk::Recommendation live;  // the analyzer left `analyzer` empty: the instance name is used
  live.targets = {{"v", 5, "saturated"}};
  sdk::Recommendation planned;
  planned.targets = {{"v", 2, "model down"}};
  // The host passes the chain in pipeline order; the combiner looks its two up by instance name.
  const std::vector<sdk::ChainLink> chain = {{"live", &live}, {"planned", &planned}};
  auto out = h.combine(one_variant(4), chain);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->analyzer, "hybrid");
  ASSERT_NE(out->target_for("v"), nullptr);
  EXPECT_EQ(out->target_for("v")->replicas, 5);  // row 2: saturation forces up
  EXPECT_NE(out->target_for("v")->reason.find("hybrid row 2 (live up to 5, planned down to 2, current 4)"),
            std::string::npos)
      << out->target_for("v")->reason;

  const std::vector<sdk::ChainLink> lacking = {{"live", &live}};
  auto missing = h.combine(one_variant(4), lacking);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("\"planned\""), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace wva::combiners::hybrid
