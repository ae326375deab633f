#include <gtest/gtest.h>

#include "host/combine.h"

namespace wva::framework {
namespace {

sdk::Recommendation rec(const std::string& analyzer, std::vector<std::pair<std::string, int>> targets,
                        bool opinion = true) {
  sdk::Recommendation r;
  r.analyzer = analyzer;
  r.has_opinion = opinion;
  for (auto& [v, n] : targets) r.targets.push_back({v, n, analyzer + " reason"});
  return r;
}

TEST(Combine, FirstTakesTheFirstOpinionPerVariant) {
  sdk::ModelView m;
  auto out = combine_recommendations(CombineMode::kFirst, m, {rec("a", {{"x", 2}}), rec("b", {{"x", 5}, {"y", 7}})});
  EXPECT_EQ(out.at("x").replicas, 2);
  EXPECT_EQ(out.at("x").analyzer, "a");
  EXPECT_EQ(out.at("y").replicas, 7);  // a had no opinion on y
  EXPECT_EQ(out.at("y").analyzer, "b");
}

TEST(Combine, FirstSkipsAnalyzersWithoutOpinion) {
  sdk::ModelView m;
  auto out = combine_recommendations(CombineMode::kFirst, m, {rec("a", {{"x", 2}}, false), rec("b", {{"x", 5}})});
  EXPECT_EQ(out.at("x").replicas, 5);
}

TEST(Combine, MaxTakesTheLargestTarget) {
  sdk::ModelView m;
  auto out =
      combine_recommendations(CombineMode::kMax, m, {rec("a", {{"x", 2}, {"y", 9}}), rec("b", {{"x", 5}, {"y", 1}})});
  EXPECT_EQ(out.at("x").replicas, 5);
  EXPECT_EQ(out.at("x").analyzer, "b");
  EXPECT_EQ(out.at("y").replicas, 9);
  EXPECT_EQ(out.at("y").analyzer, "a");
}

TEST(Combine, LastTakesTheLastOpinionPerVariant) {
  sdk::ModelView m;
  // The enforcer last in the chain lowers x below what the first analyzer said; it has no opinion on y
  // and no opinion at all in the third entry.
  auto out = combine_recommendations(
      CombineMode::kLast, m, {rec("a", {{"x", 2}, {"y", 7}}), rec("b", {{"x", 0}}), rec("c", {{"x", 9}}, false)});
  EXPECT_EQ(out.at("x").replicas, 0);
  EXPECT_EQ(out.at("x").analyzer, "b");
  EXPECT_EQ(out.at("y").replicas, 7);
  EXPECT_EQ(out.at("y").analyzer, "a");
}

TEST(Combine, NoOpinionsMeansNoTargets) {
  sdk::ModelView m;
  EXPECT_TRUE(combine_recommendations(CombineMode::kMax, m, {rec("a", {{"x", 1}}, false)}).empty());
  EXPECT_TRUE(combine_recommendations(CombineMode::kFirst, m, {}).empty());
}

}  // namespace
}  // namespace wva::framework
