// The capacity policy on SDK model views: SLO monotonicity (a property over random loads), backlog,
// prefill-bound load, forecast on a ramp, hold on the way down, the kept accelerator mix, the safety net,
// and the reasons it gives when it cannot decide.
#include <gtest/gtest.h>

#include <random>

#include "policy.h"
#include "settings.h"

namespace wva::capacity {
namespace {

struct Fleet {
  int h100 = 2, h200 = 1;
  double rate = 20, in = 1000, out = 200;
  double kv = 0.3, waiting = 0;
  std::optional<double> itl_ms;  // measured ITL; none: the policy runs on its prior (no learning)
  bool kv_capacity_known = true;
};

sdk::ModelView view(const Fleet& f) {
  sdk::ModelView m;
  m.key = {"llm", "meta/llama-3.1-8b"};
  m.va_name = "llama";
  auto variant = [&](const std::string& name, int n, double cost) {
    sdk::Variant v;
    v.name = name;
    v.current_replicas = n;
    v.ready_replicas = n;
    v.min_replicas = name == "h200" ? 0 : 1;
    v.max_replicas = 20;
    v.cost_per_replica = cost;
    m.variants.push_back(v);
    for (int i = 0; i < n; ++i) {
      sdk::ReplicaMetrics r;
      r.pod = name + "-" + std::to_string(i);
      r.variant = name;
      r.kv_cache_usage = f.kv;
      r.waiting = f.waiting / (f.h100 + f.h200);
      r.running = 10;
      if (f.kv_capacity_known) r.kv_capacity_tokens = name == "h100" ? 469252 : 916206;
      m.metrics.replicas.push_back(r);
    }
    sdk::Load l;
    const double share = static_cast<double>(n) / std::max(1, f.h100 + f.h200);
    l.arrival_rate = f.rate * share;
    l.avg_input_tokens = f.in;
    l.avg_output_tokens = f.out;
    l.itl_ms = f.itl_ms;
    l.generation_tokens_rate = f.rate * share * f.out;
    l.prompt_tokens_rate = f.rate * share * f.in;
    if (n > 0) m.metrics.load_by_variant[name] = l;
  };
  variant("h100", f.h100, 3.0);
  variant("h200", f.h200, 3.9);
  m.metrics.state = sdk::MetricsState::kOk;
  m.metrics.load.arrival_rate = f.rate;
  m.metrics.load.avg_input_tokens = f.in;
  m.metrics.load.avg_output_tokens = f.out;
  return m;
}

int total(const sdk::Recommendation& r) {
  int n = 0;
  for (const auto& t : r.targets) n += t.replicas;
  return n;
}

double cost(const sdk::Recommendation& r) {
  double c = 0;
  for (const auto& t : r.targets) c += t.replicas * (t.variant == "h100" ? 3.0 : 3.9);
  return c;
}

sdk::Recommendation once(const Settings& s, const sdk::ModelView& m) {
  ModelState st;
  return decide(s, m, st, 1000);
}

TEST(CapacityPolicy, LooserSloNeverCostsMoreAndStillMeetsItWithinTheStabilityBound) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 300; ++i) {
    Fleet f;
    f.rate = 1 + 80 * u(rng);
    f.in = 100 + 12000 * u(rng);
    f.out = 20 + 800 * u(rng);
    f.kv = u(rng);
    f.waiting = u(rng) < 0.3 ? 500 * u(rng) : 0;
    auto m = view(f);
    sdk::Slo tight{"", 1, 500 + 3000 * u(rng), 15 + 60 * u(rng), std::nullopt};
    sdk::Slo loose = tight;
    loose.ttft_ms = *tight.ttft_ms * (1 + 3 * u(rng));
    loose.itl_ms = *tight.itl_ms * (1 + 2 * u(rng));
    Settings s;
    // The safety net reacts to saturation, whatever the SLO (tested below); the property is the sizing's.
    s.safety_kv = 1;
    s.safety_waiting = 1e6;
    m.slo = tight;
    const auto a = once(s, m);
    m.slo = loose;
    const auto b = once(s, m);
    ASSERT_EQ(a.has_opinion, true) << a.reason;
    ASSERT_EQ(b.has_opinion, true) << b.reason;
    // Within the mix hysteresis (a cheaper mix is taken only when it saves > 5 %).
    EXPECT_LE(cost(b), 1.05 * cost(a) + 1e-9) << "case " << i << ": " << a.reason << " | " << b.reason;
    // The looser fleet is still sized within maxUtilization: it never runs into the queueing knee, so its
    // attainment against the looser SLO is not worse than the tight fleet's against the tight one.
    const Coefficients c = prior_for(m.variants[0]);
    Demand d{f.rate * f.out + f.waiting * f.out / s.drain_s, f.rate * f.in + f.waiting * f.in / s.drain_s,
             f.in + f.out / 2, f.in, 0};
    const auto n = need_for(c, 469252, d, Slo{*loose.ttft_ms, *loose.itl_ms}, s);
    EXPECT_LE(n.rho_target, s.max_utilization + 1e-12);
    EXPECT_LE(n.predicted_itl_ms, s.latency_margin * *loose.itl_ms + 1e-9);
  }
}

TEST(CapacityPolicy, BacklogAddsCapacityToDrainIt) {
  Settings s;
  Fleet f;
  const int base = total(once(s, view(f)));
  f.waiting = 3000;
  const auto r = once(s, view(f));
  EXPECT_GT(total(r), base) << r.reason;
  EXPECT_FALSE(r.scale_down_safe);
}

TEST(CapacityPolicy, PrefillBoundLoadAtLowKvScalesUp) {
  // Long prompts, short answers: KV use is low (0.15) and nobody waits, but prefill work saturates pods.
  Settings s;
  Fleet f;
  f.h100 = 2;
  f.h200 = 0;
  f.in = 12000;
  f.out = 40;
  f.rate = 6;
  f.kv = 0.15;
  const auto r = once(s, view(f));
  // 6 req/s x 12000 tokens x ~30 us = 2.1 pods of pure prefill work at 100 %.
  EXPECT_GE(total(r), 3) << r.reason;
}

TEST(CapacityPolicy, OrdersCapacityAheadOnARamp) {
  Settings s;
  ModelState ramping;
  sdk::Recommendation last;
  for (int k = 0; k <= 10; ++k) {
    Fleet f;
    f.rate = 10 + 4 * k;  // +4 req/s every 30 s
    last = decide(s, view(f), ramping, 30.0 * k);
  }
  Fleet now;
  now.rate = 50;
  const auto instant = once(s, view(now));
  EXPECT_GT(cost(last), cost(instant)) << "the forecast over the start-up horizon orders more: " << last.reason;
}

TEST(CapacityPolicy, HoldsOnTheWayDownWhileTheForecastNeedsIt) {
  Settings s;
  ModelState st;
  Fleet high;
  high.rate = 60;
  const int peak = total(decide(s, view(high), st, 0));
  decide(s, view(high), st, 30);
  // Demand falls: the smoothed level still needs the capacity within the horizon, then it goes.
  Fleet low;
  low.rate = 30;
  const int during = total(decide(s, view(low), st, 60));
  EXPECT_GE(during, total(once(s, view(low)))) << "never below what now needs";
  int last = during;
  for (int k = 3; k < 40; ++k) last = total(decide(s, view(low), st, 30.0 * k));
  EXPECT_LT(last, peak) << "past the horizon the fleet follows the lower demand";
  EXPECT_EQ(last, total(once(s, view(low))));
}

TEST(CapacityPolicy, KeepsItsMixUnlessTheSavingPaysTheColdStart) {
  Settings s;
  ModelState st;
  Fleet f;
  f.h100 = 6;
  f.h200 = 0;
  f.rate = 60;
  auto r = decide(s, view(f), st, 0);
  EXPECT_EQ(st.primary, "h100") << "the running mix is the incumbent";
  for (const auto& t : r.targets)
    if (t.variant == "h200") {
      EXPECT_EQ(t.replicas, 0);
    }
  // The same demand 10 minutes later: still H100.
  r = decide(s, view(f), st, 600);
  EXPECT_EQ(st.primary, "h100");
  // With a payback window of zero, no saving pays a cold start: the mix never moves.
  Settings never = s;
  never.swap_payback_s = 0;
  ModelState st2;
  decide(never, view(f), st2, 0);
  decide(never, view(f), st2, 30);
  EXPECT_EQ(st2.primary, "h100");
}

TEST(CapacityPolicy, SafetyNetOnlyAdds) {
  Settings s;
  Fleet f;
  f.rate = 1;  // almost no demand ...
  f.h100 = 3;
  f.h200 = 0;
  f.kv = 0.99;                  // ... but the pods are full (the model is wrong)
  f.kv_capacity_known = false;  // and the KV demand cannot be counted in tokens
  const auto r = once(s, view(f));
  int h100 = 0;
  for (const auto& t : r.targets)
    if (t.variant == "h100") h100 = t.replicas;
  EXPECT_GE(h100, 4) << r.reason;
  EXPECT_NE(r.reason.find("safety net"), std::string::npos);
}

TEST(CapacityPolicy, SaysWhyWhenItCannotDecide) {
  Settings s;
  Fleet f;
  auto m = view(f);
  m.metrics.load.arrival_rate.reset();
  auto r = once(s, m);
  EXPECT_FALSE(r.has_opinion);
  ASSERT_EQ(r.conditions.size(), 1u);
  EXPECT_EQ(r.conditions[0].type, "OptimizationReady");
  EXPECT_EQ(r.conditions[0].status, "False");
  EXPECT_EQ(r.conditions[0].reason, "DemandUnknown");
  m = view(f);
  m.slo = sdk::Slo{"", 1, 2000.0, 5.0, std::nullopt};  // 5 ms ITL: below any step floor
  r = once(s, m);
  EXPECT_FALSE(r.has_opinion);
  EXPECT_EQ(r.conditions.at(0).reason, "SloInfeasible");
  EXPECT_NE(r.reason.find("step floor"), std::string::npos);
  // No SLO class: it decides with the default and says so.
  r = once(s, view(f));
  EXPECT_TRUE(r.has_opinion);
  EXPECT_NE(r.reason.find("no SLO class"), std::string::npos);
}

TEST(CapacityPolicy, SettingsErrorsHavePathsAndSuggestions) {
  auto r = parse_settings(nlohmann::json{{"startupDelay", "2m"}, {"drainTime", 30}}, "analyzers.capacity");
  ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
  EXPECT_DOUBLE_EQ(r->startup_s, 120);
  EXPECT_DOUBLE_EQ(r->drain_s, 30);
  EXPECT_DOUBLE_EQ(r->swap_payback_s, 1800);  // the defaults are the policy's
  EXPECT_DOUBLE_EQ(r->default_ttft_ms, 2000);
  auto bad = parse_settings(nlohmann::json{{"startupDelya", "2m"}, {"maxUtilization", 1.5}}, "analyzers.capacity");
  ASSERT_EQ(bad.errors.size(), 2u);  // every error
  EXPECT_EQ(bad.errors[0].to_string(),
            "analyzers.capacity.startupDelya: unknown setting; did you mean \"startupDelay\"?");
  EXPECT_EQ(bad.errors[1].path, "analyzers.capacity.maxUtilization");
}

}  // namespace
}  // namespace wva::capacity
