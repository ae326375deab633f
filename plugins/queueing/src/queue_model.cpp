#include "queue_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wva::queueing {

namespace {

constexpr double kEpsilon = 0.001;       // stability margin of the search range (upstream)
constexpr double kRescaleAbove = 1e150;  // running rescaling keeps every term finite
constexpr double kNegligible = 1e-20;    // a term this small relative to the sum ends the sum
constexpr int kMaxIterations = 100;
constexpr double kRelTolerance = 1e-6;
constexpr double kTpsSafetyFraction = 0.1;  // upstream StabilitySafetyFraction

bool finite_non_negative(double v) { return std::isfinite(v) && v >= 0; }

std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

}  // namespace

sdk::Result<QueueModel> QueueModel::make(const ServiceParams& p) {
  auto bad = [](std::string m) { return sdk::make_error(sdk::ErrorCode::kInvalidConfig, std::move(m)); };
  if (!finite_non_negative(p.alpha) || !finite_non_negative(p.beta) || !finite_non_negative(p.gamma) ||
      !finite_non_negative(p.delta))
    return bad("alpha, beta, gamma and delta must be finite and >= 0");
  if (p.max_batch < 1) return bad("max batch size must be >= 1, got " + std::to_string(p.max_batch));
  if (p.max_batch > 1'000'000) return bad("max batch size " + std::to_string(p.max_batch) + " is implausible");
  if (!finite_non_negative(p.in_tokens) || !std::isfinite(p.out_tokens) || p.out_tokens <= 0)
    return bad("mean input tokens must be >= 0 and mean output tokens > 0");
  if (p.queue_to_batch_ratio < 0 || p.queue_to_batch_ratio > 1000)
    return bad("queue-to-batch ratio must be in 0..1000");
  QueueModel m(p);
  const double s1 = m.prefill_ms(1) + m.decodes_ * m.itl_ms(1);
  if (!(s1 > 0) || !std::isfinite(s1))
    return bad("the service time of one request is " + fmt("%g", s1) + " ms; it must be > 0");
  return m;
}

QueueModel::QueueModel(const ServiceParams& p) : p_(p) {
  k_ = p_.max_batch + p_.max_batch * p_.queue_to_batch_ratio;
  decodes_ = std::max(p_.out_tokens - 1.0, 0.0);
  // Upstream's special case (in = 0, out = 1 -> one decode), generalised: a request is never free.
  if (p_.in_tokens <= 0 && decodes_ < 1.0) decodes_ = 1.0;
}

double QueueModel::prefill_ms(double n) const {
  if (p_.in_tokens <= 0) return 0.0;
  return p_.gamma + p_.delta * p_.in_tokens * n;
}

double QueueModel::service_rate(int n) const {
  const int m = std::clamp(n, 1, p_.max_batch);
  const double service_ms = prefill_ms(m) + decodes_ * itl_ms(m);
  return 1000.0 * m / service_ms;
}

double QueueModel::lambda_min() const { return service_rate(1) * kEpsilon; }
double QueueModel::lambda_max() const { return service_rate(p_.max_batch) * (1.0 - kEpsilon); }

QueueStats QueueModel::at(double lambda) const {
  QueueStats s;
  s.arrival_rate = lambda;
  if (!(lambda > 0) || !std::isfinite(lambda)) return s;
  const int n_max = p_.max_batch;
  const double lam = lambda / 1000.0;  // req/ms
  // Unnormalised birth-death terms t_n, p_n = t_n / sum; t_0 = 1, t_n = t_{n-1} * lam / mu(min(n, N)).
  double t = 1.0, sum = 1.0, sum_n = 0.0, body = 1.0, body_n = 0.0, t_last = 0.0;
  bool reached_k = false;
  for (int n = 1; n <= k_; ++n) {
    const double mu = service_rate(std::min(n, n_max)) / 1000.0;
    const double ratio = lam / mu;
    t *= ratio;
    sum += t;
    sum_n += n * t;
    if (n <= n_max) {
      body += t;
      body_n += n * t;
    }
    if (n == k_) {
      reached_k = true;
      t_last = t;
    }
    if (t > kRescaleAbove) {  // keep every accumulator finite; ratios of them are unchanged
      t /= kRescaleAbove;
      sum /= kRescaleAbove;
      sum_n /= kRescaleAbove;
      body /= kRescaleAbove;
      body_n /= kRescaleAbove;
      t_last /= kRescaleAbove;
    }
    // mu(n) grows with n, so ratios only fall: once below 1 and the term is negligible, the rest is too.
    if (ratio < 1.0 && t < kNegligible * sum) break;
  }
  const double p_k = reached_k ? t_last / sum : 0.0;
  const double l = sum_n / sum;
  const double p_body = body / sum;
  const double ls = body_n / sum + n_max * std::max(0.0, 1.0 - p_body);
  const double x = lam * (1.0 - p_k);  // req/ms
  s.blocking = p_k;
  s.throughput = x * 1000.0;
  s.in_system = l;
  s.in_service = ls;
  if (x > 0) {
    s.response_ms = l / x;
    s.service_ms = ls / x;
  }
  s.wait_ms = std::max(0.0, s.response_ms - s.service_ms);
  const double base = prefill_ms(0) + decodes_ * p_.alpha;  // service time without the batch slope
  const double slope = (p_.in_tokens > 0 ? p_.delta * p_.in_tokens : 0.0) + decodes_ * p_.beta;
  const double n_star = slope > 0 ? (s.service_ms - base) / slope : ls;
  s.concurrency = std::clamp(n_star, 0.0, static_cast<double>(n_max));
  s.ttft_ms = s.wait_ms + prefill_ms(s.concurrency);
  s.itl_ms = itl_ms(s.concurrency);
  s.utilization = std::clamp(ls / n_max, 0.0, 1.0);
  return s;
}

namespace {

// Largest lambda in [lo, hi] with metric(lambda) <= target; lo is known feasible, hi infeasible.
template <class Metric>
double bisect(const QueueModel& model, double lo, double hi, double target, Metric metric) {
  for (int i = 0; i < kMaxIterations && (hi - lo) > kRelTolerance * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (metric(model.at(mid)) <= target) lo = mid;
    else hi = mid;
  }
  return lo;
}

}  // namespace

MaxRate max_rate(const QueueModel& model, const SloTargets& slo) {
  MaxRate out;
  const double lo = model.lambda_min();
  const double hi = model.lambda_max();
  const QueueStats at_lo = model.at(lo);
  const QueueStats at_hi = model.at(hi);
  double best = hi;
  out.binding = "stability";

  struct Target {
    const char* name;
    std::optional<double> slo;
    double (*metric)(const QueueStats&);
  };
  const Target targets[] = {
      {"TTFT", slo.ttft_ms, [](const QueueStats& s) { return s.ttft_ms; }},
      {"ITL", slo.itl_ms, [](const QueueStats& s) { return s.itl_ms; }},
  };
  for (const auto& target : targets) {
    if (!target.slo) continue;
    const double goal = *target.slo;
    if (!(goal > 0) || !std::isfinite(goal)) {
      out.feasible = false;
      out.reason = std::string(target.name) + " SLO " + fmt("%g", goal) + " ms is not a positive number";
      return out;
    }
    if (target.metric(at_lo) > goal) {
      out.feasible = false;
      out.binding = target.name;
      out.reason = std::string(target.name) + " is " + fmt("%.1f", target.metric(at_lo)) +
                   " ms even at the lowest load (" + fmt("%.4g", lo) + " req/s), above the SLO of " + fmt("%g", goal) +
                   " ms";
      out.stats = at_lo;
      return out;
    }
    const double lambda = target.metric(at_hi) <= goal ? hi : bisect(model, lo, hi, goal, target.metric);
    if (lambda < best) {
      best = lambda;
      out.binding = target.name;
    }
  }
  if (slo.tps) {
    const double lambda = hi * (1.0 - kTpsSafetyFraction);
    if (lambda < best) {
      best = lambda;
      out.binding = "TPS margin";
    }
  }
  out.feasible = true;
  out.lambda = best;
  out.stats = model.at(best);
  out.rate = out.stats.throughput;
  out.reason = "max " + fmt("%.3f", out.rate) + " req/s per replica (" + out.binding + "-bound; TTFT " +
               fmt("%.1f", out.stats.ttft_ms) + " ms" +
               (slo.ttft_ms ? " <= " + fmt("%g", *slo.ttft_ms) : std::string()) + ", ITL " +
               fmt("%.2f", out.stats.itl_ms) + " ms" + (slo.itl_ms ? " <= " + fmt("%g", *slo.itl_ms) : std::string()) +
               ")";
  return out;
}

}  // namespace wva::queueing
