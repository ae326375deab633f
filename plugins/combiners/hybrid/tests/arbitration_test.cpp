// The hybrid matrix (src/arbitration.cpp), row by row; see README "The matrix".
#include <gtest/gtest.h>

#include "arbitration.h"

namespace wva::combiners::hybrid {
namespace {

sdk::VariantTarget t(int r) { return sdk::VariantTarget{"v", r, "why"}; }

struct Row {
  const char* row;
  int current;
  std::optional<int> saturation;
  std::optional<int> model;
  bool safe;
  int expected;
  const char* winner;
};

class HybridMatrix : public ::testing::TestWithParam<Row> {};

TEST_P(HybridMatrix, RowFiresWithItsResult) {
  const Row& r = GetParam();
  auto s = r.saturation ? std::optional<sdk::VariantTarget>(t(*r.saturation)) : std::nullopt;
  auto m = r.model ? std::optional<sdk::VariantTarget>(t(*r.model)) : std::nullopt;
  auto o = arbitrate_variant(r.current, s ? &*s : nullptr, m ? &*m : nullptr, r.safe);
  EXPECT_EQ(o.row, r.row);
  EXPECT_EQ(o.replicas, r.expected);
  EXPECT_EQ(o.winner, r.winner);
  EXPECT_NE(o.reason.find(std::string("row ") + r.row), std::string::npos) << o.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Rows, HybridMatrix,
    ::testing::Values(Row{"0a", 4, std::nullopt, 6, true, 6, "queueing"},    // saturation silent: model only
                      Row{"0b", 4, 5, std::nullopt, true, 5, "saturation"},  // model silent: saturation only
                      Row{"1", 4, 5, 7, true, 7, "queueing"},                // both up: the larger (model)
                      Row{"1", 4, 8, 5, true, 8, "saturation"},  // both up: the larger (saturation) - upstream took 5
                      Row{"2", 4, 5, 2, true, 5, "saturation"},  // saturated, model down: scale up - upstream held 4
                      Row{"2", 4, 5, 4, true, 5, "saturation"},  // saturated, model holds: scale up
                      Row{"3", 4, 4, 2, false, 4, "hold"},       // model down, not safe: veto
                      Row{"3", 4, 3, 2, false, 4, "hold"},       // even when saturation also goes down
                      Row{"4", 4, 4, 6, true, 6, "queueing"},    // model up ahead of saturation
                      Row{"4", 4, 3, 6, false, 6, "queueing"},   // model up, saturation down
                      Row{"5", 4, 4, 2, true, 2, "queueing"},    // model down, safe
                      Row{"5", 4, 3, 1, true, 1, "queueing"},    // both down: the model's target
                      Row{"6", 4, 3, 4, true, 4, "hold"},        // saturation down, model holds
                      Row{"7", 4, 4, 4, true, 4, "hold"}),       // both hold
    [](const ::testing::TestParamInfo<Row>& info) {
      return std::string("row_") + info.param.row + "_" + std::to_string(info.index);
    });

sdk::ModelView two_variants() {
  sdk::ModelView m;
  m.key = {"ns", "model"};
  sdk::Variant a;
  a.name = "a";
  a.current_replicas = 2;
  sdk::Variant b;
  b.name = "b";
  b.current_replicas = 3;
  m.variants = {a, b};
  return m;
}

TEST(Hybrid, PerVariantRowsAndModelLevelFields) {
  sdk::Recommendation sat;
  sat.analyzer = "saturation";
  sat.scale_down_safe = true;
  sat.targets = {{"a", 3, "a saturated"}, {"b", 3, "b fine"}};
  sat.conditions = {{"MetricsAvailable", "True", "Ok", "fresh"}};
  sdk::Recommendation q;
  q.analyzer = "queueing";
  q.confidence = 0.5;
  q.targets = {{"a", 2, "model holds"}, {"b", 1, "model down"}};
  q.conditions = {{"OptimizationReady", "True", "Optimized", "ok"}};
  auto out = combine_hybrid(two_variants(), sat, q);
  ASSERT_TRUE(out.has_opinion);
  EXPECT_EQ(out.analyzer, "hybrid");
  ASSERT_EQ(out.targets.size(), 2u);
  EXPECT_EQ(out.target_for("a")->replicas, 3);  // row 2
  EXPECT_NE(out.target_for("a")->reason.find("row 2"), std::string::npos);
  EXPECT_EQ(out.target_for("b")->replicas, 1);  // row 5
  EXPECT_NE(out.reason.find("a: row 2 -> 3 (saturation)"), std::string::npos) << out.reason;
  EXPECT_DOUBLE_EQ(out.confidence, 0.5);
  EXPECT_EQ(out.conditions.size(), 2u);

  sat.scale_down_safe = false;  // now b's scale-down is vetoed
  auto vetoed = combine_hybrid(two_variants(), sat, q);
  EXPECT_EQ(vetoed.target_for("b")->replicas, 3);
  EXPECT_NE(vetoed.target_for("b")->reason.find("row 3"), std::string::npos);
  EXPECT_FALSE(vetoed.scale_down_safe);
}

TEST(Hybrid, NoOpinionOnEitherSide) {
  sdk::Recommendation sat;
  sat.analyzer = "saturation";
  sat.has_opinion = false;
  sat.reason = "no metrics";
  sdk::Recommendation q;
  q.analyzer = "queueing";
  q.targets = {{"a", 5, "sized"}};
  auto only_model = combine_hybrid(two_variants(), sat, q);
  ASSERT_TRUE(only_model.has_opinion);
  EXPECT_EQ(only_model.target_for("a")->replicas, 5);
  EXPECT_EQ(only_model.target_for("b"), nullptr);  // nobody has an opinion on b
  q.has_opinion = false;
  auto none = combine_hybrid(two_variants(), sat, q);
  EXPECT_FALSE(none.has_opinion);
  EXPECT_NE(none.reason.find("no metrics"), std::string::npos);
}

}  // namespace
}  // namespace wva::combiners::hybrid
