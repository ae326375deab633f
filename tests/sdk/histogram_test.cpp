// wva/sdk/util/histogram.h: the prompt-length spread a source reads off vLLM's 1-2-5 token buckets.
#include "wva/sdk/util/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

using wva::sdk::util::add_buckets;
using wva::sdk::util::fraction_above;
using wva::sdk::util::histogram_cv;
using wva::sdk::util::HistogramBucket;
using wva::sdk::util::lognormal_cv_fit;

constexpr double kInf = std::numeric_limits<double>::infinity();
// vLLM's request_prompt_tokens buckets (build_1_2_5_buckets up to a 200k context).
const std::vector<double> kVllmBounds = {1,    2,    5,    10,    20,    50,    100,    200,    500,
                                         1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, kInf};

struct Sampled {
  std::vector<HistogramBucket> buckets;
  double mean = 0, cv = 0;  // of the samples themselves
};

// `n` lognormal lengths of the given mean and CV, rounded to tokens, into vLLM's cumulative buckets.
Sampled sample(double mean, double cv, int n, unsigned seed) {
  const double s2 = std::log1p(cv * cv);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(mean) - s2 / 2, std::sqrt(s2));
  Sampled out;
  for (double ub : kVllmBounds) out.buckets.push_back({ub, 0});
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = std::max(1.0, std::round(dist(rng)));
    sum += x, sq += x * x;
    for (auto& b : out.buckets)
      if (x <= b.upper_bound) b.count += 1;
  }
  out.mean = sum / n;
  out.cv = std::sqrt(sq / n - out.mean * out.mean) / out.mean;
  return out;
}

TEST(HistogramSpread, LognormalLengthsAreRecoveredFromWideBuckets) {
  struct Case {
    double mean, cv;
  };
  // Long context, chat, short prompts, a heavy tail (Azure conversation-like, CV ~1), very long prompts.
  for (const Case c : {Case{8000, 0.375}, Case{1000, 0.6}, Case{400, 0.6}, Case{1000, 1.0}, Case{12000, 1.0},
                       Case{3000, 1.8}, Case{200, 0.15}}) {
    const Sampled s = sample(c.mean, c.cv, 2000, 7);
    const auto fit = lognormal_cv_fit(s.buckets, s.mean);
    const auto cv = histogram_cv(s.buckets, s.mean);
    ASSERT_TRUE(fit && cv) << c.mean << " " << c.cv;
    // Within 10 %, or 0.025 for a narrow spread inside two buckets (200 +- 15 % spans (100, 500]).
    EXPECT_NEAR(*fit, s.cv, std::max(0.1 * s.cv, 0.025)) << "mean " << c.mean << ", cv " << c.cv;
    EXPECT_NEAR(*cv, s.cv, std::max(0.1 * s.cv, 0.025)) << "mean " << c.mean << ", cv " << c.cv;
  }
}

// `n` lengths drawn by `draw`, into vLLM's cumulative buckets.
template <class Draw>
Sampled sample_of(Draw draw, int n) {
  Sampled out;
  for (double ub : kVllmBounds) out.buckets.push_back({ub, 0});
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = std::max(1.0, std::round(draw(i)));
    sum += x, sq += x * x;
    for (auto& b : out.buckets)
      if (x <= b.upper_bound) b.count += 1;
  }
  out.mean = sum / n;
  out.cv = std::sqrt(sq / n - out.mean * out.mean) / out.mean;
  return out;
}

TEST(HistogramSpread, LengthsThatAreNotLognormalAreReadFromTheBucketsNotTheFit) {
  std::mt19937_64 rng(5);
  // Many short prompts and a bounded tail of long ones (the Azure code trace's shape: CV ~1, p99 ~4x the
  // mean): one lognormal must stretch over both and says a CV near 2.
  std::lognormal_distribution<double> shortp(std::log(150), 0.6), longp(std::log(4000), 0.35);
  const Sampled code = sample_of([&](int i) { return i % 2 ? shortp(rng) : std::min(9000.0, longp(rng)); }, 4000);
  // Two workloads on one model: 400-token chats and 6,000-token documents.
  std::lognormal_distribution<double> chat(std::log(400), 0.5), doc(std::log(6000), 0.4);
  const Sampled mix = sample_of([&](int i) { return i % 3 ? chat(rng) : doc(rng); }, 3000);
  // Uniform lengths.
  std::uniform_real_distribution<double> flat(100, 8000);
  const Sampled uniform = sample_of([&](int) { return flat(rng); }, 3000);
  for (const Sampled* s : {&code, &mix, &uniform}) {
    const double cv = *histogram_cv(s->buckets, s->mean);
    EXPECT_NEAR(cv, s->cv, 0.15 * s->cv) << "sample CV " << s->cv;
  }
  EXPECT_GT(*lognormal_cv_fit(code.buckets, code.mean), 1.4 * code.cv) << "why the fit alone is not used";
  EXPECT_GT(*lognormal_cv_fit(mix.buckets, mix.mean), 1.4 * mix.cv);
}

TEST(HistogramSpread, NaiveReadingsOfTheSameBucketsWouldBeFarOff) {
  // What the fit is for: the log-uniform-within-bucket second moment of the long-context case is
  // far above the truth, while the fit stays close.
  const Sampled s = sample(8000, 0.375, 5000, 3);
  double sq = 0, below = 0, lower = 0;
  for (const auto& b : s.buckets) {
    const double n = b.count - below;
    if (n > 0 && std::isfinite(b.upper_bound) && lower > 0)
      sq += n * (b.upper_bound * b.upper_bound - lower * lower) / (2 * std::log(b.upper_bound / lower));
    below = b.count, lower = b.upper_bound;
  }
  const double naive = std::sqrt(sq / below / (s.mean * s.mean) - 1);
  EXPECT_GT(naive, 1.4 * s.cv);
  EXPECT_LT(std::abs(*lognormal_cv_fit(s.buckets, s.mean) - s.cv), 0.05);
  EXPECT_LT(std::abs(*histogram_cv(s.buckets, s.mean) - s.cv), 0.05);
}

TEST(HistogramSpread, OrderAndDecreasingCountsAreTakenAsHistogramQuantileTakesThem) {
  const Sampled s = sample(1000, 0.6, 1000, 11);
  const double in_order = *histogram_cv(s.buckets, s.mean);
  std::vector<HistogramBucket> shuffled(s.buckets.rbegin(), s.buckets.rend());
  EXPECT_DOUBLE_EQ(*histogram_cv(shuffled, s.mean), in_order);
  // A cumulative count below the one before it (rates of separately scraped series) is raised to it.
  std::vector<HistogramBucket> dip = s.buckets;
  for (auto& b : dip)
    if (b.upper_bound == 1000) b.count -= 5;  // (500, 1000] looks 5 short and (1000, 2000] 5 long
  std::vector<HistogramBucket> raised = dip;
  for (std::size_t i = 1; i < raised.size(); ++i) raised[i].count = std::max(raised[i].count, raised[i - 1].count);
  EXPECT_DOUBLE_EQ(*histogram_cv(dip, s.mean), *histogram_cv(raised, s.mean));
}

TEST(HistogramSpread, NothingToFitIsNoValueNeverZero) {
  const Sampled s = sample(1000, 0.6, 100, 5);
  EXPECT_FALSE(histogram_cv({}, 1000));
  EXPECT_FALSE(lognormal_cv_fit({}, 1000));
  EXPECT_FALSE(lognormal_cv_fit(s.buckets, 0));
  EXPECT_FALSE(histogram_cv(s.buckets, 0)) << "no mean";
  EXPECT_FALSE(histogram_cv(s.buckets, -3));
  EXPECT_FALSE(histogram_cv(s.buckets, std::nan("")));
  std::vector<HistogramBucket> no_inf(s.buckets.begin(), s.buckets.end() - 1);
  EXPECT_FALSE(histogram_cv(no_inf, s.mean)) << "without +Inf the total is unknown";
  std::vector<HistogramBucket> empty = s.buckets;
  for (auto& b : empty) b.count = 0;
  EXPECT_FALSE(histogram_cv(empty, s.mean)) << "no observation";
  std::vector<HistogramBucket> nan_count = s.buckets;
  nan_count[10].count = std::nan("");
  EXPECT_FALSE(histogram_cv(nan_count, s.mean));
  std::vector<HistogramBucket> negative = s.buckets;
  negative[3].count = -1;
  EXPECT_FALSE(histogram_cv(negative, s.mean));
}

TEST(HistogramSpread, EqualLengthsFitANarrowSpread) {
  // Every prompt 700 tokens: all in (500, 1000]; the fit needs no spread to explain that.
  std::vector<HistogramBucket> b;
  for (double ub : kVllmBounds) b.push_back({ub, ub >= 1000 ? 400.0 : 0.0});
  const double cv = *histogram_cv(b, 700);
  EXPECT_LT(cv, 0.05);
  EXPECT_GE(cv, 0);
}

TEST(HistogramSpread, AddBucketsSumsByBoundAndKeepsTheUnion) {
  std::vector<HistogramBucket> into = {{10, 1}, {100, 4}, {kInf, 5}};
  const std::vector<HistogramBucket> from = {{kInf, 7}, {50, 2}, {10, 2}};
  add_buckets(into, from);
  ASSERT_EQ(into.size(), 4u);
  EXPECT_EQ(into[0].upper_bound, 10);
  EXPECT_EQ(into[0].count, 3);
  EXPECT_EQ(into[1].upper_bound, 50);
  EXPECT_EQ(into[1].count, 2);
  EXPECT_EQ(into[2].upper_bound, 100);
  EXPECT_EQ(into[2].count, 4);
  EXPECT_EQ(into[3].upper_bound, kInf);
  EXPECT_EQ(into[3].count, 12);
  // Two pods' histograms of one layout add up to the histogram of both: the fit of the sum is the fit of
  // the pooled samples.
  const Sampled a = sample(2000, 0.5, 800, 1), c = sample(2000, 0.5, 800, 2);
  std::vector<HistogramBucket> pooled;
  add_buckets(pooled, a.buckets);
  add_buckets(pooled, c.buckets);
  for (std::size_t i = 0; i < pooled.size(); ++i) EXPECT_EQ(pooled[i].count, a.buckets[i].count + c.buckets[i].count);
  EXPECT_NEAR(*histogram_cv(pooled, (a.mean + c.mean) / 2), 0.5, 0.05);
}

}  // namespace

TEST(HistogramExceedance, FractionAboveAThresholdFromCumulativeBuckets) {
  // vLLM's request_time_per_output_token_seconds layout (part): 10 requests <= 25 ms, 20 in (25, 50],
  // 8 in (50, 75], 2 beyond 1 s.
  const std::vector<HistogramBucket> b = {{0.01, 0}, {0.025, 10}, {0.05, 30}, {0.075, 38}, {1.0, 38}, {kInf, 40}};
  struct Case {
    double threshold, above;
  };
  for (const Case& c : std::vector<Case>{
           {0.05, 10},    // on a bound: exactly the buckets above it
           {0.025, 30},   // another bound
           {0.0625, 6},   // half of (50, 75] is above 62.5 ms, as histogram_quantile reads a bucket
           {0.0375, 20},  // half of (25, 50]: 10 of its 20, plus the 10 above 50 ms
           {0.0, 40},     // every request
           {2.0, 2},      // beyond the last finite bound: all of +Inf counts as above
           {0.5, 2},      // (75 ms, 1 s] is empty
       }) {
    const auto e = fraction_above(b, c.threshold);
    ASSERT_TRUE(e) << c.threshold;
    EXPECT_DOUBLE_EQ(e->total, 40) << c.threshold;
    EXPECT_NEAR(e->above, c.above, 1e-9) << c.threshold;
    EXPECT_NEAR(e->fraction(), c.above / 40, 1e-12) << c.threshold;
  }
  // Any order reads the same; rates work as counts.
  std::vector<HistogramBucket> shuffled(b.rbegin(), b.rend());
  for (auto& x : shuffled) x.count /= 60;
  const auto e = fraction_above(shuffled, 0.05);
  ASSERT_TRUE(e);
  EXPECT_NEAR(e->fraction(), 0.25, 1e-12);
  // Unknown, never "no request missed": no +Inf, no observation, NaN count, NaN threshold.
  EXPECT_FALSE(fraction_above(std::vector<HistogramBucket>(b.begin(), b.end() - 1), 0.05));
  EXPECT_FALSE(fraction_above(std::vector<HistogramBucket>{{0.05, 0}, {kInf, 0}}, 0.05));
  std::vector<HistogramBucket> nan_count = b;
  nan_count[2].count = std::nan("");
  EXPECT_FALSE(fraction_above(nan_count, 0.05));
  EXPECT_FALSE(fraction_above(b, std::nan("")));
}
