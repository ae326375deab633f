// Exponential back-off with full jitter in [delay/2, delay]: initial, doubled per failure, capped.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace wva::framework::kube {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), rng_(std::random_device{}()) {}

  std::chrono::milliseconds next() {
    const double base = std::min<double>(static_cast<double>(max_.count()), static_cast<double>(initial_.count()) *
                                                                                static_cast<double>(1ull << failures_));
    failures_ = std::min(failures_ + 1, 20);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return std::chrono::milliseconds(static_cast<long long>(base * jitter(rng_)));
  }
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  std::chrono::milliseconds initial_, max_;
  int failures_ = 0;
  std::mt19937 rng_;
};

}  // namespace wva::framework::kube
