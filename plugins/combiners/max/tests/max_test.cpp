// The `max` combiner, table-driven: a chain in, the per-variant targets (and whose they are) out.
#include <gtest/gtest.h>

#include "max_plugin.h"

namespace wva::combiners::max {
namespace {

struct Link {
  std::string analyzer;  // what the recommendation calls itself (may be empty)
  std::vector<std::pair<std::string, int>> targets;
  bool opinion = true;
};

Link R(std::string analyzer, std::vector<std::pair<std::string, int>> targets, bool opinion = true) {
  return Link{std::move(analyzer), std::move(targets), opinion};
}

struct Expected {
  std::string variant;
  int replicas;
  std::string analyzer;
};

struct Case {
  const char* name;
  std::vector<Link> chain;
  std::vector<Expected> expected;  // every target, in no particular order
};

class MaxTable : public ::testing::TestWithParam<Case> {};

TEST_P(MaxTable, TargetsAndWhoseTheyAre) {
  const Case& c = GetParam();
  std::vector<sdk::Recommendation> recs;
  for (const auto& l : c.chain) {
    sdk::Recommendation r;
    r.analyzer = l.analyzer;
    r.has_opinion = l.opinion;
    r.reason = "summary of " + l.analyzer;
    for (const auto& [v, n] : l.targets) r.targets.push_back({v, n, v == "x" ? l.analyzer + " on x" : ""});
    recs.push_back(std::move(r));
  }
  std::vector<sdk::ChainLink> links;
  for (std::size_t i = 0; i < recs.size(); ++i) links.push_back({"inst" + std::to_string(i), &recs[i]});
  const auto out = combine_chain(sdk::ModelView{}, links);
  EXPECT_EQ(out.has_opinion, !c.expected.empty());
  ASSERT_EQ(out.targets.size(), c.expected.size());
  for (const auto& e : c.expected) {
    const auto* t = out.target_for(e.variant);
    ASSERT_NE(t, nullptr) << e.variant;
    EXPECT_EQ(t->replicas, e.replicas) << e.variant;
    EXPECT_EQ(t->analyzer, e.analyzer) << e.variant;
    // The target's own reason, else its recommendation's summary.
    const std::string who = e.analyzer.rfind("inst", 0) == 0 ? "" : e.analyzer;
    EXPECT_EQ(t->reason, e.variant == "x" ? who + " on x" : "summary of " + who) << e.variant;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Chains, MaxTable,
    ::testing::Values(Case{"largest_per_variant",
                           {R("a", {{"x", 2}, {"y", 9}}), R("b", {{"x", 5}, {"y", 1}})},
                           {{"x", 5, "b"}, {"y", 9, "a"}}},
                      // A tie keeps the earlier analyzer's target.
                      Case{"tie_keeps_the_earlier", {R("a", {{"x", 4}}), R("b", {{"x", 4}})}, {{"x", 4, "a"}}},
                      Case{"skips_no_opinion", {R("a", {{"x", 9}}, false), R("b", {{"x", 5}})}, {{"x", 5, "b"}}},
                      Case{"no_opinions_no_targets", {R("a", {{"x", 1}}, false)}, {}}, Case{"empty_chain", {}, {}}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(MaxSettings, NoneAccepted) {
  MaxCombiner c;
  EXPECT_TRUE(sdk::prepare_settings(c, nullptr, "combiners.max").ok());
  EXPECT_TRUE(sdk::prepare_settings(c, nlohmann::json::object(), "combiners.max").ok());
  // Every unknown key is refused, each with its path.
  auto bad = sdk::prepare_settings(c, {{"mode", 1}, {"window", "1m"}}, "combiners.max");
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_EQ(bad.errors[0].path, "combiners.max.mode");
  EXPECT_EQ(bad.errors[1].path, "combiners.max.window");
  EXPECT_NE(bad.errors[0].message.find("unknown setting"), std::string::npos) << bad.errors[0].message;
  auto odd = sdk::prepare_settings(c, nlohmann::json::array(), "combiners.max");
  ASSERT_EQ(odd.errors.size(), 1u);
  EXPECT_EQ(odd.errors[0].path, "combiners.max");
}

}  // namespace
}  // namespace wva::combiners::max
