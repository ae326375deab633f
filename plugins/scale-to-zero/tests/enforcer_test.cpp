// The enforcer: scale to zero after a quiet retention window (enabled), never to zero otherwise (the
// cheapest variant keeps 1), scale from zero on demand, and missing metrics that never cause a zero.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "enforcer.h"
#include "model_fixture.h"

namespace wva::scale_to_zero {
namespace {

using ::testing::HasSubstr;
using testing::make_model;
using testing::target_of;
using testing::upstream;
using testing::VariantSpec;
using namespace std::chrono_literals;

const sdk::TimePoint t0 = sdk::TimePoint{} + std::chrono::seconds(1'700'000'000);

ZeroPolicy on(std::chrono::milliseconds retention = 10min) { return ZeroPolicy{true, retention, "test"}; }
ZeroPolicy off() { return ZeroPolicy{false, 10min, "test"}; }

// Two variants, both idle at 1 replica; the upstream analyzer already wants the minimum everywhere.
sdk::ModelView idle_model() { return make_model({VariantSpec{"a-h100", 3.0, 1}, VariantSpec{"b-h200", 3.9, 1}}); }

TEST(Enforcer, CheapestVariantIsLowestKnownCostThenName) {
  auto m = make_model({VariantSpec{"z", std::nullopt, 1}, VariantSpec{"b", 2.0, 1}, VariantSpec{"a", 2.0, 1},
                       VariantSpec{"c", 1.5, 1}});
  EXPECT_EQ(cheapest_variant(m)->name, "c");
  m.variants[3].cost_per_replica = 2.0;
  EXPECT_EQ(cheapest_variant(m)->name, "a");
  auto unknown = make_model({VariantSpec{"y", std::nullopt, 1}, VariantSpec{"x", std::nullopt, 1}});
  EXPECT_EQ(cheapest_variant(unknown)->name, "x");
}

TEST(Enforcer, ScalesToZeroOnlyAfterAWholeQuietRetentionWindow) {
  Activity a;
  const auto up = upstream({{"a-h100", 1}, {"b-h200", 0}});
  struct Step {
    std::chrono::seconds at;
    int expect_a;
  };
  // Observed from t0: quiet until t0 + 10 min, then zero.
  const Step steps[] = {{0s, 1}, {300s, 1}, {599s, 1}, {600s, 0}, {900s, 0}};
  for (const auto& s : steps) {
    const auto rec = enforce(on(), idle_model(), &up, a, t0 + s.at);
    EXPECT_EQ(target_of(rec, "a-h100"), s.expect_a) << "at " << s.at.count() << "s: " << rec.reason;
    EXPECT_EQ(target_of(rec, "b-h200"), 0) << s.at.count();
  }
  const auto rec = enforce(on(), idle_model(), &up, a, t0 + 900s);
  EXPECT_THAT(rec.reason, HasSubstr("no demand for 15m"));
}

TEST(Enforcer, DemandRestartsTheWindow) {
  Activity a;
  const auto up = upstream({{"a-h100", 1}, {"b-h200", 0}});
  EXPECT_EQ(target_of(enforce(on(), idle_model(), &up, a, t0), "a-h100"), 1);
  auto busy = idle_model();
  busy.metrics.load.arrival_rate = 0.2;  // one request in the window
  EXPECT_EQ(target_of(enforce(on(), busy, &up, a, t0 + 500s), "a-h100"), 1);
  EXPECT_EQ(target_of(enforce(on(), idle_model(), &up, a, t0 + 700s), "a-h100"), 1) << "only 200 s quiet";
  EXPECT_EQ(target_of(enforce(on(), idle_model(), &up, a, t0 + 1100s), "a-h100"), 0) << "600 s quiet";
}

TEST(Enforcer, WaitingAtTheRouterIsDemandEvenWithIdlePods) {
  Activity a;
  const auto up = upstream({{"a-h100", 1}, {"b-h200", 0}});
  auto m = idle_model();
  m.metrics.load.router_queue = 3;
  for (auto at : {0s, 700s, 1400s}) EXPECT_EQ(target_of(enforce(on(), m, &up, a, t0 + at), "a-h100"), 1) << at.count();
}

TEST(Enforcer, MissingOrFailingMetricsNeverCauseAZero) {
  const auto up = upstream({{"a-h100", 1}, {"b-h200", 0}});
  struct Case {
    const char* name;
    sdk::ModelView model;
  };
  Case cases[] = {
      {"error",
       make_model({VariantSpec{"a-h100", 3.0, 1}, VariantSpec{"b-h200", 3.9, 1}}, 0.0, 0.0, sdk::MetricsState::kError)},
      {"no data", make_model({VariantSpec{"a-h100", 3.0, 1}, VariantSpec{"b-h200", 3.9, 1}}, 0.0, 0.0,
                             sdk::MetricsState::kNoData)},
      {"stale",
       make_model({VariantSpec{"a-h100", 3.0, 1}, VariantSpec{"b-h200", 3.9, 1}}, 0.0, 0.0, sdk::MetricsState::kStale)},
      {"running absent", make_model({VariantSpec{"a-h100", 3.0, 1}, VariantSpec{"b-h200", 3.9, 1}}, std::nullopt, 0.0)},
  };
  for (auto& c : cases) {
    Activity a;
    for (auto at : {0s, 700s, 1400s, 3000s}) {
      const auto rec = enforce(on(), c.model, &up, a, t0 + at);
      EXPECT_EQ(target_of(rec, "a-h100"), 1) << c.name << " at " << at.count();
    }
    // A gap in the metrics restarts the window: quiet data right after it does not count the gap.
    const auto rec = enforce(on(), idle_model(), &up, a, t0 + 3001s);
    EXPECT_EQ(target_of(rec, "a-h100"), 1) << c.name;
  }
}

TEST(Enforcer, HeldMetricsGapInTheMiddleRestartsTheWindow) {
  Activity a;
  const auto up = upstream({{"a-h100", 1}, {"b-h200", 0}});
  auto broken = idle_model();
  broken.metrics.state = sdk::MetricsState::kError;
  broken.metrics.replicas.clear();
  enforce(on(), idle_model(), &up, a, t0);
  enforce(on(), broken, &up, a, t0 + 300s);
  EXPECT_EQ(target_of(enforce(on(), idle_model(), &up, a, t0 + 600s), "a-h100"), 1);
  EXPECT_EQ(target_of(enforce(on(), idle_model(), &up, a, t0 + 900s), "a-h100"), 1) << "observed since 600 s only";
  EXPECT_EQ(target_of(enforce(on(), idle_model(), &up, a, t0 + 1200s), "a-h100"), 0);
}

TEST(Enforcer, DisabledKeepsTheCheapestAtOne) {
  Activity a;
  const auto up = upstream({{"a-h100", 0}, {"b-h200", 0}});
  for (auto at : {0s, 3600s, 86400s}) {
    const auto rec = enforce(off(), idle_model(), &up, a, t0 + at);
    EXPECT_EQ(target_of(rec, "a-h100"), 1) << at.count();
    EXPECT_EQ(target_of(rec, "b-h200"), 0) << at.count();
    EXPECT_THAT(rec.targets[0].reason, HasSubstr("scale to zero is off"));
  }
}

TEST(Enforcer, UpstreamTargetsPassThroughWhenAboveZero) {
  Activity a;
  const auto up = upstream({{"a-h100", 3}, {"b-h200", 2}});
  auto busy = idle_model();
  busy.metrics.load.arrival_rate = 5;
  const auto rec = enforce(on(), busy, &up, a, t0);
  EXPECT_EQ(target_of(rec, "a-h100"), 3);
  EXPECT_EQ(target_of(rec, "b-h200"), 2);
  EXPECT_EQ(rec.reason, "upstream reason");
}

TEST(Enforcer, AtZeroStaysThereWithoutDemandAndComesBackWithIt) {
  Activity a;
  auto zero = make_model({VariantSpec{"a-h100", 3.0, 0}, VariantSpec{"b-h200", 2.5, 0}});
  zero.metrics.load.router_queue = 0;
  sdk::Recommendation none;
  none.has_opinion = false;
  none.reason = "no pods";
  auto rec = enforce(on(), zero, &none, a, t0);
  EXPECT_EQ(target_of(rec, "a-h100"), 0);
  EXPECT_EQ(target_of(rec, "b-h200"), 0);

  zero.metrics.load.router_queue = 4;
  rec = enforce(on(), zero, &none, a, t0 + 2s);
  EXPECT_EQ(target_of(rec, "a-h100"), 0);
  EXPECT_EQ(target_of(rec, "b-h200"), 1) << "1 replica on the cheapest variant";
  EXPECT_THAT(rec.reason, HasSubstr("scale from zero: 4 request(s) waiting at the router"));

  // Scale from zero also when the policy is off (someone scaled it to 0).
  Activity b;
  rec = enforce(off(), zero, nullptr, b, t0);
  EXPECT_EQ(target_of(rec, "b-h200"), 1);
}

TEST(Enforcer, AtZeroWithScaleToZeroOffComesBackWithoutDemand) {
  Activity a;
  auto zero = make_model({VariantSpec{"a-h100", 3.0, 0}});
  sdk::Recommendation none;
  none.has_opinion = false;
  const auto rec = enforce(off(), zero, &none, a, t0);
  EXPECT_EQ(target_of(rec, "a-h100"), 1);
}

TEST(Enforcer, NoUpstreamOpinionWithPodsIsPassedOn) {
  Activity a;
  sdk::Recommendation none;
  none.has_opinion = false;
  none.reason = "metrics missing";
  auto m = idle_model();
  m.metrics.state = sdk::MetricsState::kError;
  const auto rec = enforce(on(), m, &none, a, t0);
  EXPECT_FALSE(rec.has_opinion);
  EXPECT_EQ(rec.reason, "metrics missing");
}

}  // namespace
}  // namespace wva::scale_to_zero
