// The host's side of combining: the chain goes to the combiner with each analyzer's instance name, the
// result is read per variant, and a failing or throwing combiner is an error, never a target.
#include <gtest/gtest.h>

#include "host/combine.h"
#include "in_process_plugins.h"

namespace wva::framework {
namespace {

sdk::Recommendation rec(const std::string& analyzer, std::vector<std::pair<std::string, int>> targets,
                        bool opinion = true) {
  sdk::Recommendation r;
  r.analyzer = analyzer;
  r.has_opinion = opinion;
  r.reason = analyzer + " summary";
  for (auto& [v, n] : targets) r.targets.push_back({v, n, v == "x" ? analyzer + " reason" : ""});
  return r;
}

// Records what the host hands over and returns a scripted result.
class ScriptedCombiner : public sdk::Combiner {
 public:
  std::function<sdk::Result<sdk::Recommendation>()> result;
  std::vector<std::string> instances_seen;
  std::vector<std::string> analyzers_seen;
  sdk::Result<sdk::Recommendation> combine(const sdk::ModelView&, std::span<const sdk::ChainLink> chain) override {
    for (const auto& link : chain) {
      instances_seen.push_back(link.instance);
      analyzers_seen.push_back(link.recommendation->analyzer);
    }
    return result();
  }
};

const std::vector<std::pair<std::string, sdk::Analyzer*>> kAnalyzers = {{"inst-a", nullptr}, {"inst-b", nullptr}};

TEST(CombineChain, HandsOverInstanceNamesInChainOrder) {
  ScriptedCombiner c;
  c.result = [] { return sdk::Recommendation{}; };
  auto out = combine_chain(c, "c", sdk::ModelView{}, kAnalyzers, {rec("a", {{"x", 1}}), rec("b", {})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(c.instances_seen, (std::vector<std::string>{"inst-a", "inst-b"}));
  EXPECT_EQ(c.analyzers_seen, (std::vector<std::string>{"a", "b"}));
}

TEST(CombineChain, TargetsCarryTheirAnalyzerAndReasonElseTheResults) {
  sdk::Recommendation combined;
  combined.analyzer = "comb";
  combined.reason = "comb summary";
  combined.targets = {{"x", 3, "x because", "a"}, {"y", 4, "", ""}};
  const auto targets = targets_of(combined);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets.at("x").replicas, 3);
  EXPECT_EQ(targets.at("x").analyzer, "a");
  EXPECT_EQ(targets.at("x").reason, "x because");
  EXPECT_EQ(targets.at("y").analyzer, "comb");
  EXPECT_EQ(targets.at("y").reason, "comb summary");
  combined.has_opinion = false;
  EXPECT_TRUE(targets_of(combined).empty());
}

TEST(CombineChain, AFailingOrThrowingCombinerIsAnError) {
  ScriptedCombiner failing;
  failing.result = [] { return sdk::make_error(sdk::ErrorCode::kInternal, "cannot"); };
  auto failed = combine_chain(failing, "c", sdk::ModelView{}, kAnalyzers, {rec("a", {{"x", 1}})});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "cannot");
  ScriptedCombiner throwing;
  throwing.result = []() -> sdk::Result<sdk::Recommendation> { throw std::runtime_error("boom"); };
  auto thrown = combine_chain(throwing, "c", sdk::ModelView{}, kAnalyzers, {rec("a", {{"x", 1}})});
  ASSERT_FALSE(thrown.ok());
  EXPECT_NE(thrown.error().message.find("combiner c threw an exception: boom"), std::string::npos)
      << thrown.error().message;
}

// Through the `first` and `max` plugins' own classes: what the host made of each before combining became
// a plugin kind (the same numbers and attributions).
TEST(CombineChain, FirstAndMaxDecideAsBefore) {
  auto first = testing::first_combiner();
  auto out = combine_chain(*first.second, first.first, sdk::ModelView{}, kAnalyzers,
                           {rec("a", {{"x", 2}}), rec("b", {{"x", 5}, {"y", 7}})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->at("x").replicas, 2);
  EXPECT_EQ(out->at("x").analyzer, "a");
  EXPECT_EQ(out->at("x").reason, "a reason");
  EXPECT_EQ(out->at("y").replicas, 7);  // a had no opinion on y
  EXPECT_EQ(out->at("y").analyzer, "b");
  EXPECT_EQ(out->at("y").reason, "b summary");
  auto max = testing::max_combiner();
  auto biggest = combine_chain(*max.second, max.first, sdk::ModelView{}, kAnalyzers,
                               {rec("a", {{"x", 2}, {"y", 9}}), rec("b", {{"x", 5}, {"y", 1}})});
  ASSERT_TRUE(biggest.ok());
  EXPECT_EQ(biggest->at("x").replicas, 5);
  EXPECT_EQ(biggest->at("x").analyzer, "b");
  EXPECT_EQ(biggest->at("y").replicas, 9);
  EXPECT_EQ(biggest->at("y").analyzer, "a");
}

}  // namespace
}  // namespace wva::framework
