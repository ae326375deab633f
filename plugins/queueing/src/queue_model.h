// The state-dependent M/M/1/K model of one inference-server replica (docs/upstream.md sections 6.2, 6.3).
//
// Units: times in milliseconds, rates in requests per SECOND at this interface (the model works in
// requests per millisecond inside, as upstream does).
#pragma once

#include <optional>
#include <string>

#include "wva/sdk/result.h"

namespace wva::queueing {

// Performance of one replica for one request mix.
struct ServiceParams {
  double alpha = 0;  // decode ITL(n) = alpha + beta * n   (ms)
  double beta = 0;
  double gamma = 0;  // prefill(n) = gamma + delta * in_tokens * n   (ms; 0 when in_tokens == 0)
  double delta = 0;
  int max_batch = 0;              // N: requests in service at once
  double in_tokens = 0;           // mean input tokens per request
  double out_tokens = 1;          // mean output tokens per request (>= 1)
  int queue_to_batch_ratio = 10;  // queue limit Q = ratio * N; states 0..K, K = N + Q
};

// What one replica looks like at a given arrival rate.
struct QueueStats {
  double arrival_rate = 0;  // lambda, req/s
  double throughput = 0;    // X = lambda * (1 - p_K), req/s
  double in_system = 0;     // L
  double in_service = 0;    // Ls
  double response_ms = 0;   // T = L / X
  double service_ms = 0;    // S = Ls / X
  double wait_ms = 0;       // W = max(0, T - S)
  double concurrency = 0;   // n*: the batch size whose service time equals S
  double ttft_ms = 0;       // W + prefill(n*)
  double itl_ms = 0;        // alpha + beta * n*
  double utilization = 0;   // Ls / N in [0, 1]
  double blocking = 0;      // p_K
};

class QueueModel {
 public:
  // Validates the parameters (finite, non-negative, max_batch >= 1, a positive service time).
  static sdk::Result<QueueModel> make(const ServiceParams& params);

  const ServiceParams& params() const { return p_; }
  int max_batch() const { return p_.max_batch; }
  int capacity() const { return k_; }  // K

  double prefill_ms(double n) const;
  double itl_ms(double n) const { return p_.alpha + p_.beta * n; }
  // mu(n) in req/s for n requests in service (n >= 1; n > N is served at mu(N)).
  double service_rate(int n) const;

  // Stability range of the search (req/s): mu(1) * eps .. mu(N) * (1 - eps), eps = 0.001.
  double lambda_min() const;
  double lambda_max() const;

  // The steady state at arrival rate `lambda` req/s (> 0). Computed with running rescaling, no overflow,
  // and O(states that matter) work.
  QueueStats at(double lambda) const;

 private:
  explicit QueueModel(const ServiceParams& p);
  ServiceParams p_;
  int k_ = 0;
  double decodes_ = 0;
};

struct SloTargets {
  std::optional<double> ttft_ms;
  std::optional<double> itl_ms;
  std::optional<double> tps;  // tokens/s the model must deliver; a set target keeps a 10% stability margin
};

// The largest arrival rate per replica that meets every SLO (docs/upstream.md section 6.3).
struct MaxRate {
  bool feasible = false;
  double lambda = 0;    // req/s offered to one replica
  double rate = 0;      // X(lambda): req/s one replica carries within the SLOs
  std::string binding;  // "TTFT", "ITL", "TPS margin", or "stability" (lambda_max)
  std::string reason;   // human, with numbers
  QueueStats stats;     // the model at lambda
};

// Bisection: at most 100 iterations, relative tolerance 1e-6, and the returned lambda always on the
// feasible side (TTFT(lambda) <= SLO and ITL(lambda) <= SLO), so the result is monotone in each SLO.
MaxRate max_rate(const QueueModel& model, const SloTargets& slo);

}  // namespace wva::queueing
