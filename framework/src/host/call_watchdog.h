// Plugin calls with a deadline (docs/architecture.md section 7). A source's collect(), an analyzer's
// prepare_cycle() and a sink's publish() run on a thread of their own while the host waits at most the
// call's budget. A call that has not returned by then is abandoned: it goes on (or hangs) on its thread,
// which co-owns everything the call uses (the instance, its inputs), and the instance counts as hung
// until the call returns: the host does not call it again meanwhile (no pile-up of threads), reports it
// every cycle, and the other pipelines and the rest of this cycle go on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/guard.h"
#include "wva/sdk/result.h"

namespace wva::framework {

template <class R>
struct WatchedCall {
  sdk::Result<R> result;
  // True when the call did not return within its budget and goes on without the host: what it uses must
  // stay untouched (callers copy shared inputs instead of moving them back).
  bool abandoned = false;
};

class CallWatchdog {
 public:
  CallWatchdog() : registry_(std::make_shared<Registry>()) {}

  // Runs `fn` (which must own, or co-own, everything it touches) under `instance`'s name.
  template <class R>
  WatchedCall<R> call(const std::string& instance, std::chrono::milliseconds budget,
                      std::function<sdk::Result<R>()> fn) {
    if (auto busy = hung_message(instance))
      return {sdk::Result<R>(sdk::make_error(sdk::ErrorCode::kTimeout, *busy)), false};
    struct State {
      std::mutex mutex;
      std::condition_variable cv;
      bool done = false;
      bool abandoned = false;
      std::optional<sdk::Result<R>> result;
    };
    auto state = std::make_shared<State>();
    auto registry = registry_;
    std::thread worker([state, registry, instance, fn = std::move(fn)] {
      auto r = guarded(instance, fn);
      bool abandoned = false;
      {
        std::lock_guard lock(state->mutex);
        state->result.emplace(std::move(r));
        state->done = true;
        abandoned = state->abandoned;
      }
      state->cv.notify_all();
      if (abandoned) registry->returned(instance);
    });
    std::unique_lock lock(state->mutex);
    if (state->cv.wait_for(lock, budget, [&] { return state->done; })) {
      lock.unlock();
      worker.join();
      return {std::move(*state->result), false};
    }
    state->abandoned = true;
    registry_->hung(instance);
    lock.unlock();
    worker.detach();
    return {sdk::Result<R>(sdk::make_error(sdk::ErrorCode::kTimeout,
                                           instance + " did not return within " + std::to_string(budget.count()) +
                                               " ms; the call is abandoned and the instance is not called again "
                                               "until it returns")),
            true};
  }

  // Why `instance` is not called now ("... hung for 42 s"), or nullopt.
  std::optional<std::string> hung_message(const std::string& instance) const { return registry_->message(instance); }
  // Instances with an abandoned call still running.
  std::vector<std::string> hung_instances() const { return registry_->names(); }

 private:
  class Registry {
   public:
    void hung(const std::string& instance) {
      std::lock_guard lock(mutex_);
      since_.emplace(instance, std::chrono::steady_clock::now());
    }
    void returned(const std::string& instance) {
      std::lock_guard lock(mutex_);
      since_.erase(instance);
    }
    std::optional<std::string> message(const std::string& instance) const {
      std::lock_guard lock(mutex_);
      auto it = since_.find(instance);
      if (it == since_.end()) return std::nullopt;
      const auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - it->second);
      return instance + " is hung: a call abandoned " + std::to_string(age.count()) +
             " s ago has not returned; not called again until it does";
    }
    std::vector<std::string> names() const {
      std::lock_guard lock(mutex_);
      std::vector<std::string> out;
      for (const auto& [name, since] : since_) out.push_back(name);
      return out;
    }

   private:
    mutable std::mutex mutex_;
    std::map<std::string, std::chrono::steady_clock::time_point> since_;
  };
  // Shared with the abandoned threads, which clear their instance when they return.
  std::shared_ptr<Registry> registry_;
};

}  // namespace wva::framework
