// Wall clock for real runs; virtual clock for `wva simulate`, advanced by the host, never slept on.
#pragma once

#include <atomic>

#include "wva/sdk/context.h"

namespace wva::framework {

class WallClock final : public sdk::Clock {
 public:
  sdk::TimePoint now() const override { return sdk::Clock_t::now(); }
  bool is_virtual() const override { return false; }
};

class VirtualClock final : public sdk::Clock {
 public:
  explicit VirtualClock(sdk::TimePoint start) : now_ns_(start.time_since_epoch().count()) {}
  sdk::TimePoint now() const override {
    return sdk::TimePoint(sdk::TimePoint::duration(now_ns_.load(std::memory_order_acquire)));
  }
  bool is_virtual() const override { return true; }
  void advance_to(sdk::TimePoint t) {
    if (t > now()) now_ns_.store(t.time_since_epoch().count(), std::memory_order_release);
  }

 private:
  std::atomic<sdk::TimePoint::rep> now_ns_;
};

}  // namespace wva::framework
