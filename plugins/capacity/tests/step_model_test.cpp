// The step model learns a pod's coefficients from its own (ITL, throughput) observations.
#include <gtest/gtest.h>

#include <random>

#include "step_model.h"

namespace wva::capacity {
namespace {

// The emulator's llama-3.1-8b/H100 step law (data/profiles): base 7.395 ms, per seq 11.7 us, per KV token
// 0.0422 us (42.2 us per 1000 tokens), prefill 29.55 us per token.
const Coefficients kTrue{7.395, 11.7, 42.2, 29.55};

TEST(StepModel, UtilizationAndItlFollowTheStepLaw) {
  const Work w{3000, 15000, 1200};
  const double rho = utilization(kTrue, w);
  EXPECT_NEAR(rho, 1e-6 * (11.7 * 3000 + 42.2 * 3000 * 1.2 + 29.55 * 15000), 1e-12);
  StepModel m(kTrue, 0.01);
  ASSERT_TRUE(m.itl_ms(w));
  EXPECT_NEAR(*m.itl_ms(w), 7.395 / (1 - rho), 1e-9);
  EXPECT_FALSE(m.itl_ms(Work{3000, 40000, 1200})) << "past saturation there is no steady ITL";
}

TEST(StepModel, LearnsFromAWrongPriorAtVaryingLoad) {
  StepModel m(Coefficients{12, 30, 20, 15}, 0.8);  // generic and wrong by ~2x
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> load(0.1, 1.0);
  std::normal_distribution<double> noise(0, 0.03);
  for (int i = 0; i < 400; ++i) {
    const double f = load(rng);
    const double ctx = 800 + 1200 * load(rng);
    const Work w{4000 * f, 12000 * f * (0.5 + load(rng)), ctx};
    const double rho = utilization(kTrue, w);
    if (rho >= 0.95) continue;
    m.observe(w, 7.395 / (1 - rho) * (1 + noise(rng)));
  }
  // What matters is the prediction at loads it will be sized at: within 5 %.
  for (double f : {0.3, 0.6, 0.9}) {
    const Work w{4000 * f, 10000 * f, 1300};
    const double truth = 7.395 / (1 - utilization(kTrue, w));
    ASSERT_TRUE(m.itl_ms(w));
    EXPECT_NEAR(*m.itl_ms(w), truth, 0.05 * truth) << "load " << f;
  }
  EXPECT_NEAR(m.coefficients().base_ms, 7.395, 1.0);
}

TEST(StepModel, IgnoresObservationsWithoutDecodeAndOutliers) {
  StepModel m(kTrue, 0.05);
  EXPECT_FALSE(m.observe(Work{0, 1000, 100}, 9));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(m.observe(Work{2000, 8000, 1000}, *m.itl_ms(Work{2000, 8000, 1000})));
  const auto before = m.coefficients();
  EXPECT_FALSE(m.observe(Work{2000, 8000, 1000}, 5000)) << "a 5 s ITL window is a warming pod, not the law";
  EXPECT_DOUBLE_EQ(m.coefficients().base_ms, before.base_ms);
}

}  // namespace
}  // namespace wva::capacity
