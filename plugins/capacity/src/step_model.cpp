#include "step_model.h"

#include <algorithm>
#include <cmath>

namespace wva::capacity {

namespace {
constexpr double kMinCoef[4] = {0.5, 0.1, 0.0, 0.5};  // physical floors: every term costs something
}

double utilization(const Coefficients& c, const Work& w) {
  return 1e-6 * (c.a0_us * w.decode_tps + c.a1_us * w.decode_tps * w.context_tokens / 1000 + c.b_us * w.prefill_tps);
}

StepModel::StepModel(Coefficients prior, double prior_sd) : prior_(prior) {
  x_ = {prior.base_ms, prior.a0_us, prior.a1_us, prior.b_us};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) P_[i][j] = 0;
    const double sd = std::max(prior_sd * x_[i], 1.0);
    P_[i][i] = sd * sd;
  }
  sync();
}

void StepModel::sync() {
  for (int i = 0; i < 4; ++i) x_[i] = std::max(x_[i], kMinCoef[i]);
  x_c_ = {x_[0], x_[1], x_[2], x_[3]};
}

bool StepModel::observe(const Work& w, double y) {
  if (!(w.decode_tps > 0) || !(y > 0) || !std::isfinite(y)) return false;
  // y = base + y * 1e-6 * (a0 g + a1 g c/1000 + b p): H = [1, y g 1e-6, y g c 1e-9, y p 1e-6].
  const std::array<double, 4> H = {1, y * w.decode_tps * 1e-6, y * w.decode_tps * w.context_tokens * 1e-9,
                                   y * w.prefill_tps * 1e-6};
  // Process noise: the workload mix drifts (contexts, prompt lengths), so old evidence fades.
  for (int i = 0; i < 4; ++i) P_[i][i] += std::pow(0.01 * std::max(x_[i], 1.0), 2);
  double pred = 0;
  for (int i = 0; i < 4; ++i) pred += H[i] * x_[i];
  const double innovation = y - pred;
  const double R = std::pow(0.08 * y + 0.2, 2);  // measurement noise: ~8 % of a window's mean ITL
  std::array<double, 4> PH{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) PH[i] += P_[i][j] * H[j];
  double S = R;
  for (int i = 0; i < 4; ++i) S += H[i] * PH[i];
  // An observation far outside the model's reach (a pod still warming, a window with one request) is
  // discarded rather than allowed to wreck the estimate (a 5-sigma gate).
  if (innovation * innovation > 25 * S && n_ >= 3) return false;
  std::array<double, 4> K{};
  for (int i = 0; i < 4; ++i) K[i] = PH[i] / S;
  for (int i = 0; i < 4; ++i) x_[i] += K[i] * innovation;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) P_[i][j] -= K[i] * PH[j];
  // Keep P symmetric and positive on the diagonal despite rounding.
  for (int i = 0; i < 4; ++i) {
    for (int j = i + 1; j < 4; ++j) P_[i][j] = P_[j][i] = 0.5 * (P_[i][j] + P_[j][i]);
    P_[i][i] = std::max(P_[i][i], 1e-6);
  }
  ++n_;
  sync();
  return true;
}

std::optional<double> StepModel::itl_ms(const Work& w) const {
  const double rho = utilization(x_c_, w);
  if (rho >= 1) return std::nullopt;
  return x_c_.base_ms / (1 - rho);
}

}  // namespace wva::capacity
