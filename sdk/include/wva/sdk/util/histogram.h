// The spread of a length distribution read from a Prometheus histogram's buckets (vLLM's
// request_prompt_tokens): what a source needs to fill sdk::Load::prompt_tokens_cv; and the share of
// observations above a bound (fraction_above: requests over a latency SLO). Header-only.
//
// vLLM's token histograms have 1-2-5 buckets (..., 1000, 2000, 5000, 10000, ...): too wide for moments
// read off them. Prompts of mean 8,000 tokens and CV 0.375 fall mostly in (5000, 10000] and (10000, 20000];
// taken as log-uniform within each bucket they read as CV 0.59, and histogram_quantile's p90 (linear in
// its bucket) implies 0.8. Nor is one lognormal enough: fitted to the Azure code trace's buckets (many
// short prompts, a tail bounded near 4x the mean) it says CV 2.0 where the prompts measure 0.96.
// histogram_cv() takes the buckets' counts as they are and only the shape within each bucket from the
// lognormal fitted to them (maximum likelihood, with the exact mean): within 5 % on lognormal prompts,
// 1.02 on the Azure code trace, 0.88 on the conversation trace (0.96), 1.39 on a 400/6,000-token mix
// (1.32).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "wva/sdk/types.h"

namespace wva::sdk::util {

using HistogramBucket = sdk::HistogramBucket;  // (types.h) defined there since 7.0: sdk::Load carries one

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

// The buckets that hold observations, as (lower, upper] cells over shared log bounds.
struct Cells {
  struct Cell {
    std::uint32_t lower, upper;  // into log_edges
    double n;                    // observations in the cell
  };
  std::vector<double> log_edges;  // ascending: -inf for 0, +inf for the +Inf bucket's bound
  std::vector<double> edges;      // the same bounds, not logged
  std::vector<Cell> cells;
  double total = 0;
};

// nullopt: no +Inf bucket, no observation, a count or bound that is not a number. Any order; decreasing
// cumulative counts are raised to the running maximum, as histogram_quantile does.
inline std::optional<Cells> cells_of(std::span<const HistogramBucket> cumulative) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (cumulative.empty()) return std::nullopt;
  std::vector<HistogramBucket> b(cumulative.begin(), cumulative.end());
  for (const HistogramBucket& x : b)
    if (std::isnan(x.upper_bound) || !std::isfinite(x.count) || x.count < 0) return std::nullopt;
  std::sort(b.begin(), b.end(),
            [](const HistogramBucket& x, const HistogramBucket& y) { return x.upper_bound < y.upper_bound; });
  if (b.back().upper_bound != kInf) return std::nullopt;
  Cells c;
  c.log_edges.reserve(b.size() + 1);
  c.edges.reserve(b.size() + 1);
  c.cells.reserve(b.size());
  auto edge = [&c](double bound) {
    const double bounded = std::max(bound, 0.0);
    if (c.edges.empty() || c.edges.back() != bounded) {
      c.edges.push_back(bounded);
      c.log_edges.push_back(bounded == kInf ? kInf : bounded > 0 ? std::log(bounded) : -kInf);
    }
    return static_cast<std::uint32_t>(c.edges.size() - 1);
  };
  double below = 0, lower = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const double cum = std::max(b[i].count, below);
    const double n = cum - below;
    if (n > 0) {
      const std::uint32_t lo = edge(i == 0 ? 0.0 : lower);
      c.cells.push_back({lo, edge(b[i].upper_bound), n});
      c.total += n;
    }
    below = cum;
    lower = b[i].upper_bound;
  }
  if (!(c.total > 0)) return std::nullopt;
  return c;
}

// P(lower < X <= upper) of a standard normal between the bounds' z values, from the side whose tail is
// small (both bounds in the upper tail: the difference of the complements), so a cell far out keeps its
// digits.
struct Tails {
  std::vector<double> z, v;  // per edge: z, and Phi(z) when z <= 0, 1 - Phi(z) when z > 0
  void at(std::span<const double> log_edges, double mu, double sigma) {
    z.resize(log_edges.size());
    v.resize(log_edges.size());
    for (std::size_t k = 0; k < log_edges.size(); ++k) {
      const double x = log_edges[k];
      z[k] = std::isinf(x) ? x : (x - mu) / sigma;
      v[k] = std::isinf(x) ? 0.0 : 0.5 * std::erfc(std::abs(z[k]) / std::sqrt(2.0));
    }
  }
  double prob(std::uint32_t lo, std::uint32_t hi) const {
    if (z[lo] >= 0) return v[lo] - v[hi];  // both in the upper tail (v = 1 - Phi; +inf: 0)
    if (z[hi] <= 0) return v[hi] - v[lo];  // both in the lower tail (v = Phi; -inf: 0)
    return 1 - v[lo] - v[hi];              // straddles the median
  }
};

// The lognormal sigma (of the lengths' logarithm) with mean `mean` that best explains the cells
// (maximum likelihood over their probabilities), searched in [0, 3] (a CV from 0 to about 90). The
// likelihood of a lognormal's sigma over binned counts is unimodal in practice; 26 golden-section steps
// narrow the interval to 1e-5.
inline double fit_sigma(const Cells& c, double mean) {
  const double log_mean = std::log(mean);
  Tails t;
  auto nll = [&](double sigma) {
    t.at(c.log_edges, log_mean - sigma * sigma / 2, sigma);
    double sum = 0;
    for (const auto& cell : c.cells) sum -= cell.n * std::log(std::max(t.prob(cell.lower, cell.upper), 1e-300));
    return sum;
  };
  constexpr double kPhi = 0.6180339887498949;
  double a = 1e-6, b = 3.0;
  double x1 = b - kPhi * (b - a), x2 = a + kPhi * (b - a);
  double f1 = nll(x1), f2 = nll(x2);
  for (int i = 0; i < 26; ++i) {
    if (f1 <= f2) {
      b = x2, x2 = x1, f2 = f1;
      x1 = b - kPhi * (b - a), f1 = nll(x1);
    } else {
      a = x1, x1 = x2, f1 = f2;
      x2 = a + kPhi * (b - a), f2 = nll(x2);
    }
  }
  return (a + b) / 2;
}

}  // namespace detail

// The coefficient of variation (standard deviation / mean) of the lognormal whose mean is `mean` and
// which best explains the bucket counts, or nullopt when the buckets cannot say: no +Inf bucket
// (Prometheus' histogram_quantile refuses those too), no observation, a count or bound that is not a
// number, a mean that is not positive. Exact when the lengths are lognormal; far off when they are not
// (see histogram_cv, which sources use).
inline std::optional<double> lognormal_cv_fit(std::span<const HistogramBucket> cumulative, double mean) {
  if (!(mean > 0) || !std::isfinite(mean)) return std::nullopt;
  const auto cells = detail::cells_of(cumulative);
  if (!cells) return std::nullopt;
  const double sigma = detail::fit_sigma(*cells, mean);
  return std::sqrt(std::expm1(sigma * sigma));
}

// The coefficient of variation of the lengths behind the histogram: E[L^2] summed over the buckets, each
// with its observed count and the second moment within it of the lognormal fitted to all of them (a
// bucket the fit gives no mass, or the +Inf one it gives none: log-uniform within it, or its bound), with
// the exact mean. nullopt as lognormal_cv_fit. Buckets in any order, decreasing counts raised.
inline std::optional<double> histogram_cv(std::span<const HistogramBucket> cumulative, double mean) {
  if (!(mean > 0) || !std::isfinite(mean)) return std::nullopt;
  const auto c = detail::cells_of(cumulative);
  if (!c) return std::nullopt;
  const double sigma = detail::fit_sigma(*c, mean);
  const double s2 = sigma * sigma;
  const double mu = std::log(mean) - s2 / 2;
  // L^2 of a lognormal(mu, s) weighs like exp(2 mu + 2 s^2) x the lognormal(mu + 2 s^2, s): the
  // conditional E[L^2 | cell] is that factor x P'(cell) / P(cell).
  detail::Tails base, shifted;
  base.at(c->log_edges, mu, sigma);
  shifted.at(c->log_edges, mu + 2 * s2, sigma);
  const double scale = std::exp(2 * mu + 2 * s2);
  double second = 0;
  for (const auto& cell : c->cells) {
    const double lo = c->edges[cell.lower], hi = c->edges[cell.upper];
    const double p = base.prob(cell.lower, cell.upper);
    double m2;
    if (p > 1e-12) {
      m2 = scale * shifted.prob(cell.lower, cell.upper) / p;
    } else if (std::isinf(hi)) {
      m2 = lo * lo;  // beyond the last bound, nothing says how far: its bound
    } else if (lo > 0) {
      m2 = (hi * hi - lo * lo) / (2 * std::log(hi / lo));  // log-uniform in (lo, hi]
    } else {
      m2 = hi * hi / 3;  // uniform in (0, hi]
    }
    if (std::isfinite(hi)) m2 = std::min(m2, hi * hi);
    m2 = std::max(m2, lo * lo);
    second += cell.n * m2;
  }
  const double cv2 = second / c->total / (mean * mean) - 1;
  if (!std::isfinite(cv2)) return std::nullopt;
  return std::sqrt(std::max(0.0, cv2));
}

// Observations above `threshold`, and all observations, in cumulative buckets (any order; decreasing
// counts raised to the running maximum): what share of requests missed a latency SLO. Within the bucket
// that holds the threshold the observations are taken as uniform, as histogram_quantile takes them; past
// the last finite bound every observation counts as above. nullopt: no +Inf bucket, no observation, a
// count or bound that is not a number.
struct Exceedance {
  double above = 0, total = 0;
  double fraction() const { return above / total; }
};
inline std::optional<Exceedance> fraction_above(std::span<const HistogramBucket> cumulative, double threshold) {
  const auto c = detail::cells_of(cumulative);
  if (!c || std::isnan(threshold)) return std::nullopt;
  Exceedance e{0, c->total};
  for (const auto& cell : c->cells) {
    const double lo = c->edges[cell.lower], hi = c->edges[cell.upper];
    if (threshold <= lo) e.above += cell.n;
    else if (threshold < hi) e.above += std::isinf(hi) ? cell.n : cell.n * (hi - threshold) / (hi - lo);
  }
  return e;
}

}  // namespace wva::sdk::util
