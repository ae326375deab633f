#include <cmath>

#include <gtest/gtest.h>

#include "queue_model.h"

namespace wva::queueing {
namespace {

// The sample profile of docs/upstream.md section 6.4.
ServiceParams sample() { return ServiceParams{20.58, 0.41, 5.2, 0.1, 4, 128, 128, 10}; }

TEST(QueueModel, ServiceRatesMatchUpstreamWorkedExample) {
  auto m = QueueModel::make(sample());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->capacity(), 44);  // K = N + 10 N
  EXPECT_NEAR(m->service_rate(1), 0.373, 0.001);
  EXPECT_NEAR(m->service_rate(2), 0.728, 0.001);
  EXPECT_NEAR(m->service_rate(3), 1.066, 0.001);
  EXPECT_NEAR(m->service_rate(4), 1.390, 0.001);
  EXPECT_DOUBLE_EQ(m->service_rate(9), m->service_rate(4));  // n > N served at mu(N)
  EXPECT_NEAR(m->lambda_max(), 1.388, 0.001);
}

TEST(QueueModel, MaxRateOfWorkedExampleIsAbout0_82AndTtftBound) {
  auto m = QueueModel::make(sample());
  ASSERT_TRUE(m.ok());
  auto r = max_rate(*m, SloTargets{500.0, 24.0, std::nullopt});
  ASSERT_TRUE(r.feasible) << r.reason;
  EXPECT_EQ(r.binding, "TTFT");
  EXPECT_NEAR(r.rate, 0.816, 0.01);
  EXPECT_LE(r.stats.ttft_ms, 500.0);
  EXPECT_NEAR(r.stats.ttft_ms, 500.0, 0.5);
  EXPECT_LE(r.stats.itl_ms, 24.0);
  EXPECT_EQ(static_cast<int>(std::ceil(5.0 / r.rate)), 7);
}

TEST(QueueModel, ItlRangeOfWorkedExampleStaysBelow24) {
  auto m = QueueModel::make(sample());
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(m->at(m->lambda_min()).itl_ms, 21.0, 0.1);
  EXPECT_NEAR(m->at(m->lambda_max()).itl_ms, 22.2, 0.1);
}

TEST(QueueModel, LittleLawAndProbabilitiesAreConsistent) {
  auto m = QueueModel::make(sample());
  ASSERT_TRUE(m.ok());
  for (double lambda : {0.01, 0.3, 0.8, 1.3, 5.0}) {
    auto s = m->at(lambda);
    EXPECT_NEAR(s.in_system, s.throughput / 1000.0 * s.response_ms, 1e-9 * std::max(1.0, s.in_system));
    EXPECT_LE(s.throughput, lambda * (1 + 1e-12));
    EXPECT_GE(s.response_ms, s.service_ms - 1e-9);
    EXPECT_GE(s.utilization, 0.0);
    EXPECT_LE(s.utilization, 1.0);
    EXPECT_LE(s.concurrency, 4.0);
  }
  // Far past saturation the replica is full: throughput tends to mu(N), blocking is large.
  auto over = m->at(50.0);
  EXPECT_NEAR(over.throughput, m->service_rate(4), 0.01);
  EXPECT_GT(over.blocking, 0.9);
}

TEST(QueueModel, HugeBatchAndOverloadStayFinite) {
  ServiceParams p{5.9, 0.03, 7.1, 0.0288, 4096, 2000, 500, 10};
  auto m = QueueModel::make(p);
  ASSERT_TRUE(m.ok());
  for (double lambda : {1e-9, 1e-3, m->lambda_max(), 1e3, 1e6}) {
    auto s = m->at(lambda);
    EXPECT_TRUE(std::isfinite(s.ttft_ms)) << lambda;
    EXPECT_TRUE(std::isfinite(s.itl_ms)) << lambda;
    EXPECT_TRUE(std::isfinite(s.throughput)) << lambda;
    EXPECT_GT(s.throughput, 0) << lambda;
  }
}

TEST(QueueModel, RejectsInvalidParameters) {
  auto p = sample();
  p.max_batch = 0;
  EXPECT_FALSE(QueueModel::make(p).ok());
  p = sample();
  p.alpha = std::nan("");
  EXPECT_FALSE(QueueModel::make(p).ok());
  p = sample();
  p.beta = -1;
  EXPECT_FALSE(QueueModel::make(p).ok());
  p = ServiceParams{0, 0, 0, 0, 4, 0, 1, 10};  // a request that costs nothing
  auto r = QueueModel::make(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("service time"), std::string::npos);
}

TEST(QueueModel, PrefillIsZeroWithoutInputTokensAndOneDecodeIsKept) {
  ServiceParams p{10, 1, 5, 0.1, 8, 0, 1, 10};
  auto m = QueueModel::make(p);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->prefill_ms(3), 0.0);
  EXPECT_NEAR(m->service_rate(1), 1000.0 / 11.0, 1e-9);  // one decode of ITL(1) = 11 ms
}

TEST(QueueModel, InfeasibleSloIsReportedNotZero) {
  auto m = QueueModel::make(sample());
  ASSERT_TRUE(m.ok());
  auto r = max_rate(*m, SloTargets{100.0, 24.0, std::nullopt});
  // one request's TTFT is prefill only (~18 ms); 100 ms is reachable. ITL 10 ms is not (alpha 20.58).
  EXPECT_TRUE(r.feasible);
  auto bad = max_rate(*m, SloTargets{500.0, 10.0, std::nullopt});
  EXPECT_FALSE(bad.feasible);
  EXPECT_EQ(bad.binding, "ITL");
  EXPECT_EQ(bad.rate, 0.0);
  EXPECT_NE(bad.reason.find("above the SLO of 10 ms"), std::string::npos) << bad.reason;
}

TEST(QueueModel, NoSloMeansTheStabilityLimitAndTpsKeepsAMargin) {
  auto m = QueueModel::make(sample());
  ASSERT_TRUE(m.ok());
  auto r = max_rate(*m, SloTargets{});
  EXPECT_EQ(r.binding, "stability");
  EXPECT_NEAR(r.lambda, m->lambda_max(), 1e-12);
  auto t = max_rate(*m, SloTargets{std::nullopt, std::nullopt, 100.0});
  EXPECT_EQ(t.binding, "TPS margin");
  EXPECT_NEAR(t.lambda, 0.9 * m->lambda_max(), 1e-12);
}

}  // namespace
}  // namespace wva::queueing
