// Plugin calls with a deadline (docs/architecture.md section 7). A source's collect(), an analyzer's
// prepare_cycle() and a sink's publish() run on a thread of their own while the host waits at most the
// call's budget (analyze() runs on the worker pool, which abandons the same way: host/worker_pool.h). A
// call that has not returned by then is abandoned: it goes on (or hangs) on its thread, which co-owns
// everything the call uses (the instance, its inputs), and the instance counts as hung until the call
// returns: the host does not call it again meanwhile (no pile-up of threads), reports it every cycle,
// restarts it after a back-off (host.h), and the other pipelines and the rest of this cycle go on.
//
// An instance is its name ("sources/metrics-a") and its object: a fresh object that replaced a hung
// one under the same name is not hung.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
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

// An instance with abandoned calls still running.
struct HungInstance {
  std::string name;
  const void* object = nullptr;
  std::chrono::steady_clock::time_point since;  // the first abandoned call still running
  std::size_t calls = 0;                        // abandoned calls still running
};

class CallWatchdog {
 public:
  CallWatchdog() : registry_(std::make_shared<Registry>()) {}

  // Runs `fn` (which must own, or co-own, everything it touches) as a call into `instance` (`object` tells
  // a fresh instance from a hung one of the same name; null: the name alone).
  template <class R>
  WatchedCall<R> call(const std::string& instance, std::chrono::milliseconds budget, std::function<sdk::Result<R>()> fn,
                      const void* object = nullptr) {
    if (auto busy = hung_message(instance, object))
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
    std::thread worker([state, registry, instance, object, fn = std::move(fn)] {
      auto r = guarded(instance, fn);
      bool abandoned = false;
      {
        std::lock_guard lock(state->mutex);
        state->result.emplace(std::move(r));
        state->done = true;
        abandoned = state->abandoned;
      }
      state->cv.notify_all();
      if (abandoned) registry->returned(instance, object);
    });
    std::unique_lock lock(state->mutex);
    if (state->cv.wait_for(lock, budget, [&] { return state->done; })) {
      lock.unlock();
      worker.join();
      return {std::move(*state->result), false};
    }
    state->abandoned = true;
    registry_->hung(instance, object);
    lock.unlock();
    worker.detach();
    return {sdk::Result<R>(sdk::make_error(sdk::ErrorCode::kTimeout, abandoned_message(instance, budget))), true};
  }

  static std::string abandoned_message(const std::string& instance, std::chrono::milliseconds budget) {
    return instance + " did not return within " + std::to_string(budget.count()) +
           " ms; the call is abandoned and the instance is not called again until it returns";
  }

  // For calls abandoned elsewhere (the worker pool): a call into `instance` is abandoned now, and later
  // it returned. Every abandoned() is followed by one returned() when the call returns.
  void abandoned(const std::string& instance, const void* object) { registry_->hung(instance, object); }
  // A callable the abandoned call's thread runs when it returns (it co-owns the registry).
  std::function<void()> on_return(const std::string& instance, const void* object) const {
    return [registry = registry_, instance, object] { registry->returned(instance, object); };
  }

  // Why `instance` (that object, or with null any object of that name) is not called now, or nullopt.
  std::optional<std::string> hung_message(const std::string& instance, const void* object = nullptr) const {
    return registry_->message(instance, object);
  }
  // Names of the instances with an abandoned call still running (one each, sorted).
  std::vector<std::string> hung_instances() const {
    std::set<std::string> names;
    for (auto& h : registry_->all()) names.insert(std::move(h.name));
    return {names.begin(), names.end()};
  }
  // Every hung object, with its abandoned calls.
  std::vector<HungInstance> hung_objects() const { return registry_->all(); }

 private:
  class Registry {
   public:
    void hung(const std::string& instance, const void* object) {
      std::lock_guard lock(mutex_);
      auto [it, fresh] = hung_.try_emplace({instance, object});
      if (fresh) it->second.since = std::chrono::steady_clock::now();
      ++it->second.calls;
    }
    void returned(const std::string& instance, const void* object) {
      std::lock_guard lock(mutex_);
      auto it = hung_.find({instance, object});
      if (it != hung_.end() && --it->second.calls == 0) hung_.erase(it);
    }
    std::optional<std::string> message(const std::string& instance, const void* object) const {
      std::lock_guard lock(mutex_);
      auto it = object ? hung_.find({instance, object}) : hung_.lower_bound({instance, nullptr});
      if (it == hung_.end() || it->first.first != instance) return std::nullopt;
      const auto age =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - it->second.since);
      return instance + " is hung: a call abandoned " + std::to_string(age.count()) +
             " s ago has not returned; not called again until it does";
    }
    std::vector<HungInstance> all() const {
      std::lock_guard lock(mutex_);
      std::vector<HungInstance> out;
      for (const auto& [key, entry] : hung_) out.push_back({key.first, key.second, entry.since, entry.calls});
      return out;
    }

   private:
    struct Entry {
      std::chrono::steady_clock::time_point since;
      std::size_t calls = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, const void*>, Entry> hung_;
  };
  // Shared with the abandoned threads, which clear their instance when they return.
  std::shared_ptr<Registry> registry_;
};

}  // namespace wva::framework
