#include <gtest/gtest.h>

#include "analyzer.h"
#include "test_helpers.h"

namespace wva::queueing {
namespace {

using namespace wva::queueing::test;

const sdk::Condition* find_condition(const sdk::Recommendation& r, const std::string& type) {
  for (const auto& c : r.conditions)
    if (c.type == type) return &c;
  return nullptr;
}

sdk::ModelView worked_example() {
  auto m = model("default/default", {variant("vllme", "A100", 1.0, 1, sample_profile())}, slo(500, 24));
  m.metrics.load_by_variant["vllme"] = load(5.0, 128, 128);
  return m;
}

TEST(Analyzer, WorkedExampleGivesSevenReplicas) {
  auto rec = analyze_model(worked_example(), Snapshot{}, Settings{});
  ASSERT_TRUE(rec.has_opinion) << rec.reason;
  ASSERT_EQ(rec.targets.size(), 1u);
  EXPECT_EQ(rec.targets[0].replicas, 7);
  EXPECT_NE(rec.targets[0].reason.find("max 0.81"), std::string::npos) << rec.targets[0].reason;
  EXPECT_NE(rec.targets[0].reason.find("TTFT-bound"), std::string::npos);
  auto* c = find_condition(rec, "OptimizationReady");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "True");
}

TEST(Analyzer, ModelLevelLoadIsUsedWhenPerVariantLoadIsMissing) {
  auto m = worked_example();
  m.metrics.load_by_variant.clear();
  m.metrics.load = load(5.0, 128, 128);
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(rec.has_opinion);
  EXPECT_EQ(rec.targets[0].replicas, 7);
  EXPECT_NE(rec.reason.find("model-level load"), std::string::npos) << rec.reason;
}

TEST(Analyzer, NoProfileNoSloNoLoadGiveNoOpinionWithReason) {
  auto m = worked_example();
  m.variants[0].profile.reset();
  auto r1 = analyze_model(m, Snapshot{}, Settings{});
  EXPECT_FALSE(r1.has_opinion);
  EXPECT_EQ(find_condition(r1, "OptimizationReady")->reason, "NoProfile");

  m = worked_example();
  m.slo.reset();
  auto r2 = analyze_model(m, Snapshot{}, Settings{});
  EXPECT_FALSE(r2.has_opinion);
  EXPECT_EQ(find_condition(r2, "OptimizationReady")->reason, "NoSLO");

  m = worked_example();
  m.metrics.load_by_variant.clear();
  auto r3 = analyze_model(m, Snapshot{}, Settings{});
  EXPECT_FALSE(r3.has_opinion);
  EXPECT_EQ(find_condition(r3, "OptimizationReady")->reason, "NoLoad");
  EXPECT_NE(r3.reason.find("vllme"), std::string::npos) << r3.reason;

  m = worked_example();
  m.metrics.state = sdk::MetricsState::kError;
  m.metrics.message = "prometheus down";
  auto r4 = analyze_model(m, Snapshot{}, Settings{});
  EXPECT_FALSE(r4.has_opinion);
  EXPECT_NE(r4.reason.find("prometheus down"), std::string::npos);
}

TEST(Analyzer, SloAndProfileComeFromSnapshotWhenTheHostHasNone) {
  auto m = worked_example();
  m.slo.reset();
  m.variants[0].profile.reset();
  Snapshot snap;
  auto classes = sdk::util::parse_service_classes(
      {{"c.yaml", "name: Premium\npriority: 1\ndata:\n  - {model: default/default, slo-tpot: 24, slo-ttft: 500}\n"}},
      "ConfigMap service-classes-config");
  snap.service_classes = classes.classes;
  snap.profiles[ProfileKey{"default/default", "A100"}] = ProfileEntry{"A100", sample_profile(), 1};
  auto rec = analyze_model(m, snap, Settings{});
  ASSERT_TRUE(rec.has_opinion) << rec.reason;
  EXPECT_EQ(rec.targets[0].replicas, 7);
  EXPECT_NE(rec.targets[0].reason.find("ConfigMap"), std::string::npos) << rec.targets[0].reason;
}

// The host parses spec.modelProfile (the one parser, wva/sdk/util/model_profile.h); the plugin has no raw
// VA spec to re-parse: a variant the host gave no profile has none unless the profiles ConfigMap has one.
TEST(Analyzer, VariantWithoutHostProfileOrConfigMapProfileIsNotSized) {
  auto m = worked_example();
  m.variants[0].profile.reset();
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  EXPECT_FALSE(rec.has_opinion);
  auto* c = find_condition(rec, "OptimizationReady");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->reason, "NoProfile");
}

TEST(Analyzer, InfeasibleSloIsAConditionAndNeverZeroReplicas) {
  auto m = worked_example();
  m.slo = slo(500, 10);  // ITL 10 ms < alpha 20.58
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(rec.has_opinion);
  auto* c = find_condition(rec, "OptimizationReady");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "False");
  EXPECT_EQ(c->reason, "SLOInfeasible");
  EXPECT_NE(c->message.find("above the SLO of 10 ms"), std::string::npos) << c->message;
  // Sized for stability: ceil(5 / 1.388) = 4 replicas, not 0.
  EXPECT_EQ(rec.targets[0].replicas, 4);
}

TEST(Analyzer, ZeroLoadGivesMinimumOneOrZeroWithScaleToZero) {
  auto m = worked_example();
  m.metrics.load_by_variant["vllme"] = load(0.0, 128, 128);
  m.variants[0].current_replicas = 5;
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(rec.has_opinion);
  EXPECT_EQ(rec.targets[0].replicas, 1);
  m.scale_to_zero = true;
  auto rec0 = analyze_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(rec0.has_opinion);
  EXPECT_EQ(rec0.targets[0].replicas, 0);
  EXPECT_NE(rec0.reason.find("scale-to-zero"), std::string::npos);
}

TEST(Analyzer, MaxReplicasCapsAndSaysSo) {
  auto m = worked_example();
  m.variants[0].max_replicas = 5;
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(rec.has_opinion);
  EXPECT_EQ(rec.targets[0].replicas, 5);
  EXPECT_EQ(find_condition(rec, "OptimizationReady")->reason, "MaxReplicasLimit");
}

TEST(Analyzer, LoadOfTwoVariantsIsSummedAndPlacedOnTheCheaperPerRequest) {
  // Same profile, one variant twice as expensive: all load goes to the cheap one, the other keeps min 1.
  auto m = model(
      "m", {variant("cheap", "A100", 1.0, 3, sample_profile()), variant("dear", "H100", 2.0, 3, sample_profile())},
      slo(500, 24));
  m.metrics.load_by_variant["cheap"] = load(2.5, 128, 128);
  m.metrics.load_by_variant["dear"] = load(2.5, 128, 128);
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(rec.has_opinion);
  ASSERT_EQ(rec.targets.size(), 2u);
  // 5 req/s needs 7 x 0.816; 'dear' keeps its min 1 replica (0.816), so cheap needs ceil(4.18/0.816) = 6.
  EXPECT_EQ(rec.target_for("dear")->replicas, 1);
  EXPECT_EQ(rec.target_for("cheap")->replicas, 6);
}

TEST(Analyzer, UnknownCostIsPricedPessimisticallyNotZero) {
  auto m = model(
      "m",
      {variant("known", "A100", 1.0, 0, sample_profile()), variant("unknown", "X1", std::nullopt, 0, sample_profile())},
      slo(500, 24));
  m.scale_to_zero = true;
  m.metrics.load_by_variant["known"] = load(5.0, 128, 128);
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(rec.has_opinion);
  EXPECT_EQ(rec.target_for("known")->replicas, 7);
  EXPECT_EQ(rec.target_for("unknown")->replicas, 0);
  EXPECT_NE(rec.reason.find("cost unknown"), std::string::npos) << rec.reason;
}

TEST(Analyzer, PicksH200ForLlama8bWithMeasuredProfilesAndSaysWhyInNumbers) {
  // Generation-heavy mix with a tight ITL: ITL <= 10 ms, TTFT <= 1000 ms; 128 in / 512 out; 110 req/s.
  const double in = 128, out = 512;
  auto h100 = measured_profile("llama-3.1-8b", "H100", in, out, 256);
  auto h200 = measured_profile("llama-3.1-8b", "H200", in, out, 256);
  ASSERT_TRUE(h100 && h200) << "profiles.json not found under " WVA_DATA_DIR;
  auto m =
      model("meta/llama-3.1-8b",
            {variant("llama-h100", "H100", 1.0, 0, h100), variant("llama-h200", "H200", 1.3, 0, h200)}, slo(1000, 10));
  m.scale_to_zero = true;  // neither variant is forced to keep a replica
  m.metrics.load = load(110.0, in, out);
  auto plan = plan_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(plan.sizable);
  const double r100 = plan.problem.variants[0].rate_per_replica;
  const double r200 = plan.problem.variants[1].rate_per_replica;
  // Cost per (req/s): H200 must be cheaper per request despite 1.3x the price per GPU-hour.
  EXPECT_LT(1.3 / r200, 1.0 / r100) << "H100 " << r100 << " req/s, H200 " << r200 << " req/s";
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  ASSERT_TRUE(rec.has_opinion) << rec.reason;
  EXPECT_EQ(rec.target_for("llama-h100")->replicas, 0);
  EXPECT_EQ(rec.target_for("llama-h200")->replicas, 4);  // 4 x 27.8 = 111 req/s for 5.2; 7 x H100 = 7.0
  EXPECT_NE(rec.reason.find("4 x llama-h200"), std::string::npos);
  // At 40 req/s whole replicas make a mix cheapest: 1 H100 + 1 H200 (2.3) beats 2 H200 (2.6) and 3 H100 (3.0).
  m.metrics.load = load(40.0, in, out);
  auto mix = analyze_model(m, Snapshot{}, Settings{});
  EXPECT_EQ(mix.target_for("llama-h100")->replicas, 1);
  EXPECT_EQ(mix.target_for("llama-h200")->replicas, 1);
  std::printf("H100: %.3f req/s per replica, %.4f per req/s; H200: %.3f req/s, %.4f per req/s\n%s\n%s\n%s\n", r100,
              1.0 / r100, r200, 1.3 / r200, rec.reason.c_str(), rec.targets[0].reason.c_str(),
              rec.targets[1].reason.c_str());
}

TEST(Analyzer, TransitionPenaltyKeepsTheCurrentAcceleratorForASmallSaving) {
  // Running on 'a' (cost 1.0); 'b' is the same speed at 0.9: a 10% saving is less than the penalty.
  auto m = model("m", {variant("a", "A100", 1.0, 7, sample_profile()), variant("b", "L40", 0.9, 0, sample_profile())},
                 slo(500, 24));
  m.scale_to_zero = true;
  m.metrics.load_by_variant["a"] = load(5.0, 128, 128);
  auto rec = analyze_model(m, Snapshot{}, Settings{});
  EXPECT_EQ(rec.target_for("a")->replicas, 7);
  EXPECT_EQ(rec.target_for("b")->replicas, 0);
  // Without the penalty the cheaper one wins.
  Settings no_penalty;
  no_penalty.transition_penalty = 0;
  auto rec2 = analyze_model(m, Snapshot{}, no_penalty);
  EXPECT_EQ(rec2.target_for("a")->replicas, 0);
  EXPECT_EQ(rec2.target_for("b")->replicas, 7);
}

}  // namespace
}  // namespace wva::queueing
