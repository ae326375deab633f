// The HPA model against the Kubernetes algorithm, and the load generators (trace parsing, time
// compression and looping, rate profiles, token distributions).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "hpa.h"
#include "workload.h"

namespace wva::emulator {
namespace {

TEST(Hpa, ToleranceKeepsSmallChanges) {
  Hpa hpa(HpaConfig{});
  EXPECT_EQ(hpa.sync(0, 10, 10.9), 10) << "|1 - 10.9/10| = 0.09 <= 0.1";
  EXPECT_EQ(hpa.sync(15, 10, 11.2), 12) << "ceil(11.2) when outside the tolerance";
}

TEST(Hpa, ScaleUpRateIsMaxOfDoubleAndFourPodsPer15s) {
  Hpa hpa(HpaConfig{});
  EXPECT_EQ(hpa.sync(0, 1, 20), 5) << "max(1*2, 1+4) = 5";
  EXPECT_EQ(hpa.sync(15, 5, 20), 10) << "period start 5: max(10, 9) = 10";
  EXPECT_EQ(hpa.sync(30, 10, 20), 20) << "max(20, 14) = 20";
}

TEST(Hpa, ScaleUpPoliciesLookBackOverTheirPeriod) {
  HpaConfig c;
  c.scale_up.policies = {{HpaPolicy::Type::kPods, 2, 60}};
  Hpa hpa(c);
  EXPECT_EQ(hpa.sync(0, 1, 10), 3);
  EXPECT_EQ(hpa.sync(15, 3, 10), 3) << "2 pods already added in the last 60 s";
  EXPECT_EQ(hpa.sync(61, 3, 10), 5) << "the first event left the window";
}

TEST(Hpa, ScaleDownWaitsForTheWindowAndTakesTheMax) {
  Hpa hpa(HpaConfig{});
  EXPECT_EQ(hpa.sync(0, 8, 8), 8);
  EXPECT_EQ(hpa.sync(15, 8, 6), 8) << "the window still holds 8";
  EXPECT_EQ(hpa.sync(120, 8, 2), 8);
  EXPECT_EQ(hpa.sync(301, 8, 2), 6) << "at 301 s the max over (1 s, 301 s] is the 6 from t=15";
  EXPECT_EQ(hpa.sync(421, 6, 2), 2);
}

TEST(Hpa, SelectPolicyMinAndDisabledAndBounds) {
  HpaConfig c;
  c.scale_up.select = HpaRules::Select::kMin;  // min(+100%, +4) from 10 = 14
  c.max_replicas = 12;
  c.min_replicas = 2;
  Hpa hpa(c);
  EXPECT_EQ(hpa.sync(0, 10, 40), 12) << "min(20, 14) = 14, then maxReplicas 12";
  HpaConfig d;
  d.scale_down.select = HpaRules::Select::kDisabled;
  d.scale_down.stabilization_s = 0;
  Hpa off(d);
  EXPECT_EQ(off.sync(0, 5, 1), 5);
  EXPECT_EQ(off.sync(15, 5, 1), 5);
  HpaConfig e;
  e.scale_down.stabilization_s = 0;
  e.min_replicas = 2;
  Hpa floor(e);
  EXPECT_EQ(floor.sync(0, 5, 0), 2) << "no window: at once, but never below minReplicas";
}

TEST(Hpa, BehaviorParsesLikeKubernetes) {
  ConfigErrors errors;
  auto c = parse_hpa(nlohmann::json::parse(R"({"behavior": {"scaleDown": {"stabilizationWindowSeconds": 60,
      "selectPolicy": "Min", "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}]}}})"),
                     HpaConfig{}, "hpa", errors);
  ASSERT_TRUE(errors.empty()) << errors.to_error().to_string();
  EXPECT_EQ(c.scale_down.stabilization_s, 60);
  EXPECT_EQ(c.scale_down.select, HpaRules::Select::kMin);
  ASSERT_EQ(c.scale_down.policies.size(), 1u);
  EXPECT_EQ(c.scale_down.policies[0].period_s, 30);
  EXPECT_EQ(c.scale_up.policies.size(), 2u) << "scaleUp keeps its defaults";
}

TEST(Trace, ParsesAzureTimestampsAndRows) {
  auto t = parse_trace_timestamp("2023-11-16 18:15:46.6805900");
  ASSERT_TRUE(t);
  EXPECT_NEAR(std::fmod(*t, 86400.0), 18 * 3600 + 15 * 60 + 46.68059, 1e-6);
  auto t2 = parse_trace_timestamp("2024-05-12 00:00:00+00:00");
  ASSERT_TRUE(t2);
  EXPECT_DOUBLE_EQ(std::fmod(*t2, 86400.0), 0);
  EXPECT_FALSE(parse_trace_timestamp("yesterday"));
  auto rows = load_azure_trace(WVA_DATA_DIR "/traces/azure-llm-2023-conv.csv");
  ASSERT_TRUE(rows.ok()) << rows.error().to_string();
  EXPECT_EQ(rows->size(), 19366u);
  EXPECT_EQ(rows->front().prompt, 374);
  EXPECT_EQ(rows->front().output, 44);
  EXPECT_NEAR(rows->back().t / 60, 58.4, 0.1);
}

TEST(Trace, SpeedupCompressesTimeAndLoopRepeats) {
  auto rows = std::make_shared<const Trace>(Trace{{{0, 10, 1}, {10, 20, 2}, {30, 30, 3}}, {}});
  TraceOptions o;
  o.speedup = 10;
  o.loop = true;
  auto s = make_trace_stream(rows, o);
  std::vector<double> t;
  for (int i = 0; i < 7; ++i) t.push_back(s->next()->t);
  // span 30 s + mean gap 15 s = 45 s per loop, / 10.
  const std::vector<double> expected = {0, 1, 3, 4.5, 5.5, 7.5, 9};
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(t[i], expected[i], 1e-9) << i;
  TraceOptions once;
  once.duration = 15;
  auto s2 = make_trace_stream(rows, once);
  EXPECT_TRUE(s2->next());
  EXPECT_TRUE(s2->next());
  EXPECT_FALSE(s2->next()) << "t=30 is past the 15 s duration";
}

TEST(Trace, MalformedFileNamesLine) {
  const auto file = std::filesystem::temp_directory_path() / "wva-emulator-bad-trace.csv";
  std::ofstream(file)
      << "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,10,5\n2023-11-16 18:15:47.1,x,5\n";
  auto r = load_azure_trace(file.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(":3: bad ContextTokens"), std::string::npos) << r.error().message;
  std::filesystem::remove(file);
}

TEST(RateProfiles, ShapesAndPoissonRate) {
  ConfigErrors errors;
  auto steps = parse_rate_profile(
      nlohmann::json::parse(R"({"steps": [{"at": 0, "rate": 5}, {"at": "1m", "rate": 20}]})"), "r", errors);
  auto ramps = parse_rate_profile(
      nlohmann::json::parse(R"({"ramps": [{"at": 0, "rate": 0}, {"at": 100, "rate": 10}]})"), "r", errors);
  auto sine = parse_rate_profile(nlohmann::json::parse(R"({"sine": {"mean": 10, "amplitude": 5, "period": "4m"}})"),
                                 "r", errors);
  auto bursts = parse_rate_profile(
      nlohmann::json::parse(R"({"bursts": {"base": 1, "peak": 30, "every": "5m", "duration": "30s"}})"), "r", errors);
  ASSERT_TRUE(errors.empty()) << errors.to_error().to_string();
  EXPECT_EQ(steps->rate_at(59), 5);
  EXPECT_EQ(steps->rate_at(60), 20);
  EXPECT_DOUBLE_EQ(ramps->rate_at(25), 2.5);
  EXPECT_DOUBLE_EQ(ramps->rate_at(500), 10);
  EXPECT_NEAR(sine->rate_at(60), 15, 1e-9);
  EXPECT_EQ(bursts->rate_at(10), 30);
  EXPECT_EQ(bursts->rate_at(31), 1);
  EXPECT_EQ(bursts->rate_at(305), 30);

  RateOptions o;
  o.profile = *steps;
  o.input.a = 100;
  o.output.a = 10;
  o.duration = 600;
  auto stream = make_rate_stream(o);
  int before = 0, after = 0;
  while (auto a = stream->next()) (a->t < 60 ? before : after)++;
  EXPECT_NEAR(before / 60.0, 5, 1.5);
  EXPECT_NEAR(after / 540.0, 20, 1.5);
}

TEST(TokenDists, MeansAndClamps) {
  ConfigErrors errors;
  auto logn = parse_token_dist(nlohmann::json::parse(R"({"lognormal": {"mean": 1000, "stddev": 500}, "max": 4000})"),
                               "t", errors);
  auto uni = parse_token_dist(nlohmann::json::parse(R"({"uniform": [10, 20]})"), "t", errors);
  ASSERT_TRUE(errors.empty());
  std::mt19937_64 rng(1);
  double sum = 0;
  int over = 0;
  for (int i = 0; i < 20000; ++i) {
    const int v = logn->sample(rng);
    sum += v;
    over += v > 4000;
    const int u = uni->sample(rng);
    EXPECT_GE(u, 10);
    EXPECT_LE(u, 20);
  }
  EXPECT_NEAR(sum / 20000, 1000, 30);
  EXPECT_EQ(over, 0);
  ConfigErrors bad;
  EXPECT_FALSE(parse_token_dist(nlohmann::json::parse(R"({"normal": {"mean": 5}})"), "t", bad));
  EXPECT_NE(bad.to_error().to_string().find("t.normal.stddev: missing"), std::string::npos);
}

}  // namespace
}  // namespace wva::emulator
