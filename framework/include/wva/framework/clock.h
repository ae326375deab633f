// The host's clocks, part of the framework's public API: the wall clock of a real run, and the virtual
// clock of a simulation, which the host advances from one scheduled cycle to the next and never sleeps on
// (a simulated hour costs what its cycles cost). Plugins read either through sdk::Clock.
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
  // Moves the clock forward to t; never backward (an earlier t is ignored).
  void advance_to(sdk::TimePoint t) {
    if (t > now()) now_ns_.store(t.time_since_epoch().count(), std::memory_order_release);
  }

 private:
  std::atomic<sdk::TimePoint::rep> now_ns_;
};

}  // namespace wva::framework
