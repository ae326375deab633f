// The spread of a length distribution read from a Prometheus histogram's buckets (vLLM's
// request_prompt_tokens): what a source needs to fill sdk::Load::prompt_tokens_cv. Header-only.
//
// vLLM's token histograms have 1-2-5 buckets (..., 1000, 2000, 5000, 10000, ...): too wide for moments
// read off them. Prompts of mean 8,000 tokens and CV 0.375 fall mostly in (5000, 10000] and (10000, 20000];
// taken as log-uniform within each bucket they read as CV 0.59, and histogram_quantile's p90 (linear in
// its bucket) implies 0.8. A lognormal with the exact mean (the histogram's sum / count) fitted to the
// bucket counts by maximum likelihood recovers 0.375 within a few percent when the lengths are lognormal,
// which request lengths of LLM traffic roughly are; when they are not it is still the lognormal closest
// to the counts, which sizes the tail on what the buckets show.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

namespace wva::sdk::util {

struct HistogramBucket {
  double upper_bound = 0;  // the bucket's `le`; +infinity for the last
  double count = 0;        // cumulative: observations <= upper_bound (a rate of them works the same)
};

// Adds `from` into `into` bucket by bucket (same upper bound); a bound only one side has is kept as it is.
// Cumulative counts of histograms with the same layout add up to the histogram of the union, which is
// how a model's buckets are its pods' and its variants'. `into` stays sorted by upper bound.
inline void add_buckets(std::vector<HistogramBucket>& into, std::span<const HistogramBucket> from) {
  for (const HistogramBucket& b : from) {
    auto it = std::lower_bound(into.begin(), into.end(), b.upper_bound,
                               [](const HistogramBucket& x, double ub) { return x.upper_bound < ub; });
    if (it != into.end() && it->upper_bound == b.upper_bound) it->count += b.count;
    else into.insert(it, b);
  }
}

namespace detail {

// Standard normal CDF.
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace detail

// The coefficient of variation (standard deviation / mean) of the lognormal whose mean is `mean` and
// which best explains the bucket counts (maximum likelihood over the buckets' probabilities), or nullopt
// when the buckets cannot say: no +Inf bucket (Prometheus' histogram_quantile refuses those too), no
// observation, a count or bound that is not a number, a mean that is not positive. Buckets may come in
// any order; cumulative counts that decrease (rates of separately scraped series) are raised to the
// running maximum, as histogram_quantile does. The fit searches sigma (of the lengths' logarithm) in
// [0, 3]: a CV from 0 to about 90.
inline std::optional<double> lognormal_cv_fit(std::span<const HistogramBucket> cumulative, double mean) {
  if (!(mean > 0) || !std::isfinite(mean) || cumulative.empty()) return std::nullopt;
  std::vector<HistogramBucket> b(cumulative.begin(), cumulative.end());
  for (const HistogramBucket& x : b)
    if (std::isnan(x.upper_bound) || !std::isfinite(x.count) || x.count < 0) return std::nullopt;
  std::sort(b.begin(), b.end(),
            [](const HistogramBucket& x, const HistogramBucket& y) { return x.upper_bound < y.upper_bound; });
  if (b.back().upper_bound != std::numeric_limits<double>::infinity()) return std::nullopt;
  // Per-bucket counts over (lower, upper], only the buckets that hold observations; adjacent ones share
  // a bound, whose normal CDF each step of the search computes once.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> edges;  // log bounds, ascending: -inf for 0, +inf for the last bucket's
  struct Cell {
    std::uint32_t lower, upper;  // into edges
    double n;
  };
  std::vector<Cell> cells;
  edges.reserve(b.size() + 1);
  cells.reserve(b.size());
  auto edge = [&edges](double bound) {
    const double e = bound == kInf ? kInf : bound > 0 ? std::log(bound) : -kInf;
    if (edges.empty() || edges.back() != e) edges.push_back(e);
    return static_cast<std::uint32_t>(edges.size() - 1);
  };
  double below = 0, lower = 0, total = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const double cum = std::max(b[i].count, below);
    const double n = cum - below;
    if (n > 0) {
      const std::uint32_t lo = edge(i == 0 ? 0.0 : lower);
      cells.push_back({lo, edge(b[i].upper_bound), n});
      total += n;
    }
    below = cum;
    lower = b[i].upper_bound;
  }
  if (!(total > 0)) return std::nullopt;
  const double log_mean = std::log(mean);
  std::vector<double> cdf(edges.size());
  // Negative log-likelihood of the counts under the lognormal of sigma with the given mean.
  auto nll = [&](double sigma) {
    const double mu = log_mean - sigma * sigma / 2;
    for (std::size_t k = 0; k < edges.size(); ++k)
      cdf[k] = std::isinf(edges[k]) ? (edges[k] > 0 ? 1.0 : 0.0) : detail::normal_cdf((edges[k] - mu) / sigma);
    double sum = 0;
    for (const Cell& c : cells) sum -= c.n * std::log(std::max(cdf[c.upper] - cdf[c.lower], 1e-300));
    return sum;
  };
  // Golden-section search; the likelihood of a lognormal's sigma over binned counts is unimodal in
  // practice, and 26 steps narrow [0, 3] to 1e-5 (a CV within 1e-5 x 2 sigma of the optimum's).
  constexpr double kPhi = 0.6180339887498949;
  double a = 1e-6, c = 3.0;
  double x1 = c - kPhi * (c - a), x2 = a + kPhi * (c - a);
  double f1 = nll(x1), f2 = nll(x2);
  for (int i = 0; i < 26; ++i) {
    if (f1 <= f2) {
      c = x2, x2 = x1, f2 = f1;
      x1 = c - kPhi * (c - a), f1 = nll(x1);
    } else {
      a = x1, x1 = x2, f1 = f2;
      x2 = a + kPhi * (c - a), f2 = nll(x2);
    }
  }
  const double sigma = (a + c) / 2;
  return std::sqrt(std::expm1(sigma * sigma));
}

}  // namespace wva::sdk::util
