#include <gtest/gtest.h>

#include "threshold_plugin.h"

namespace wva::threshold {
namespace {

sdk::ModelView model(std::vector<std::pair<double, double>> pods) {
  sdk::ModelView m;
  m.key = {"llm", "m"};
  sdk::Variant v;
  v.name = "m-h100";
  v.current_replicas = static_cast<int>(pods.size());
  m.variants.push_back(v);
  int i = 0;
  for (auto [running, waiting] : pods) {
    sdk::ReplicaMetrics r;
    r.pod = "m-h100-" + std::to_string(i++);
    r.variant = "m-h100";
    r.running = running;
    r.waiting = waiting;
    r.kv_cache_usage = running / 100;
    m.metrics.replicas.push_back(r);
  }
  return m;
}

TEST(Threshold, DesiredIsCeilOfSumOverTarget) {
  Settings s;
  s.target = 32;
  auto rec = recommend(s, model({{30, 10}, {20, 5}}));  // 65 / 32 -> 3
  ASSERT_TRUE(rec.has_opinion);
  ASSERT_EQ(rec.targets.size(), 1u);
  EXPECT_EQ(rec.targets[0].replicas, 3);
  rec = recommend(s, model({{32, 0}, {32, 0}}));  // exactly 2
  EXPECT_EQ(rec.targets[0].replicas, 2);
  s.signal = Signal::kKvCache;
  s.target = 0.5;
  rec = recommend(s, model({{90, 0}, {80, 0}}));  // 1.7 / 0.5 -> 4
  EXPECT_EQ(rec.targets[0].replicas, 4);
}

TEST(Threshold, MissingSignalIsNoOpinionWithReason) {
  Settings s;
  auto m = model({{10, 0}});
  m.metrics.replicas[0].waiting.reset();
  auto rec = recommend(s, m);
  EXPECT_FALSE(rec.has_opinion);
  EXPECT_NE(rec.reason.find("m-h100"), std::string::npos);
  ASSERT_FALSE(rec.conditions.empty());
  EXPECT_EQ(rec.conditions[0].status, "False");
}

TEST(Threshold, SettingsErrorsCarryPathAndSuggestion) {
  auto r = parse_settings(nlohmann::json{{"targt", 3}, {"signal", "qps"}}, "analyzers.t");
  ASSERT_EQ(r.errors.size(), 2u);  // every error, not the first
  EXPECT_EQ(r.errors[0].path, "analyzers.t.targt");
  EXPECT_EQ(r.errors[0].message, "unknown setting; did you mean \"target\"?");
  EXPECT_EQ(r.errors[1].path, "analyzers.t.signal");
  EXPECT_FALSE(parse_settings(nlohmann::json{{"target", 0}}, "a").ok());
  auto kv = parse_settings(nlohmann::json{{"signal", "kvCache"}, {"target", 2}}, "a");
  ASSERT_EQ(kv.errors.size(), 1u);
  EXPECT_EQ(kv.errors[0].to_string(), "a.target: a kvCache target is a fraction in (0, 1]");
  auto ok = parse_settings(nlohmann::json{{"signal", "waiting"}}, "a");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->signal, Signal::kWaiting);
  EXPECT_EQ(ok->target, 5);  // the default follows the signal
  EXPECT_EQ(parse_settings(nlohmann::json(), "a")->target, 64);
  EXPECT_EQ(parse_settings(nlohmann::json{{"signal", "kvCache"}}, "a")->target, 0.8);
}

}  // namespace
}  // namespace wva::threshold
