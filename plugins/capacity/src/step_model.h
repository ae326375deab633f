// What one pod of a variant can serve, learned online. The engine-step law of a continuous-batching
// server (vLLM V1, chunked prefill): a step costs a fixed time (weights read, launches) plus a cost per
// decoded token, per cached token attended and per prompt token computed. Over one second of a pod
// that decodes g tokens/s over contexts of c tokens and computes p prompt tokens/s, the fraction of time
// spent on per-token work is
//     rho = 1e-6 * (a0 * g + a1 * g * c / 1000 + b * p)         (a0, a1, b in microseconds)
// and the mean step time, which is every decoding sequence's inter-token latency (chunked prefill in a
// step lengthens it for all of them), is
//     t = base / (1 - rho)                                        (base in ms)
// The coefficients x = [base, a0, a1, b] are estimated with a Kalman filter on the pod's own measured ITL:
// y = base + y*rho(x) is linear in x. A profile, when known, is the prior; else a generic one, wide.
#pragma once

#include <array>
#include <optional>
#include <string>

namespace wva::capacity {

struct Coefficients {
  double base_ms = 8;  // fixed step cost
  double a0_us = 15;   // per decoded token
  double a1_us = 45;   // per decoded token per 1000 tokens of context
  double b_us = 30;    // per prompt token
};

// A pod's operating point: decode and prefill tokens per second, mean context of a decoding sequence.
struct Work {
  double decode_tps = 0;
  double prefill_tps = 0;
  double context_tokens = 0;
};

double utilization(const Coefficients& c, const Work& w);

class StepModel {
 public:
  // prior_sd: relative standard deviation of the prior (0.5 = 50 %).
  explicit StepModel(Coefficients prior = {}, double prior_sd = 0.5);

  // One observation: at work w (per pod), the measured mean ITL was itl_ms. Skipped (false) when it
  // carries no information (no decode) or is an outlier far outside the model's reach.
  bool observe(const Work& w, double itl_ms);
  const Coefficients& coefficients() const { return x_c_; }
  const Coefficients& prior() const { return prior_; }
  std::size_t observations() const { return n_; }

  // Predicted mean ITL at w; nullopt when w saturates the pod (rho >= 1).
  std::optional<double> itl_ms(const Work& w) const;

 private:
  void sync();
  std::array<double, 4> x_{};
  std::array<std::array<double, 4>, 4> P_{};
  Coefficients x_c_;
  Coefficients prior_;
  std::size_t n_ = 0;
};

}  // namespace wva::capacity
