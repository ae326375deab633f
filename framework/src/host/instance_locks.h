// Pipelines run at once (host.h), and several may share an instance (one metrics source, one status
// sink). A plugin is called by one pipeline at a time: each call, and an analyzer's preparation together
// with the analyze() calls of that cycle, holds the instance's lock. Waits are bounded by the waiting
// call's own deadline, and the lock is never held by an abandoned call (the cycle that abandoned it lets
// go; the hung instance is refused by the watchdog instead).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace wva::framework {

class InstanceLocks {
  // A lock one may wait for until a time point (a flag under a mutex: std::timed_mutex's clocklock is
  // invisible to ThreadSanitizer).
  class Lock {
   public:
    bool try_lock_until(std::chrono::steady_clock::time_point until) {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, until, [&] { return !held_; })) return false;
      held_ = true;
      return true;
    }
    void unlock() {
      {
        std::lock_guard lock(mutex_);
        held_ = false;
      }
      cv_.notify_one();
    }

   private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool held_ = false;
  };

 public:
  // Holds the locks of some instances, taken in one global order (no deadlock between pipelines).
  class Held {
   public:
    Held() = default;
    Held(Held&&) = default;
    Held& operator=(Held&&) = delete;
    ~Held() { release(); }
    void release() {
      for (auto it = held_.rbegin(); it != held_.rend(); ++it) (*it)->unlock();
      held_.clear();
    }
    // Empty when every lock was taken, else the instance that stayed busy.
    const std::string& busy() const { return busy_; }

   private:
    friend class InstanceLocks;
    std::vector<std::shared_ptr<Lock>> held_;
    std::string busy_;
  };

  // Takes the locks of `instances` ({name, object}; a null object is skipped), waiting at most `budget` in
  // all. On a timeout nothing stays held and busy() names the instance.
  Held lock(std::vector<std::pair<std::string, const void*>> instances, std::chrono::milliseconds budget) {
    std::sort(instances.begin(), instances.end(),
              [](const auto& a, const auto& b) { return std::less<const void*>()(a.second, b.second); });
    instances.erase(std::unique(instances.begin(), instances.end(),
                                [](const auto& a, const auto& b) { return a.second == b.second; }),
                    instances.end());
    const auto until = std::chrono::steady_clock::now() + budget;
    Held held;
    for (const auto& [name, object] : instances) {
      if (object == nullptr) continue;
      auto mutex = of(object);
      if (!mutex->try_lock_until(until)) {
        Held failed;
        failed.busy_ = name;
        return failed;  // `held` unlocks what it took
      }
      held.held_.push_back(std::move(mutex));
    }
    return held;
  }

 private:
  std::shared_ptr<Lock> of(const void* object) {
    std::lock_guard lock(mutex_);
    auto& m = locks_[object];
    if (!m) m = std::make_shared<Lock>();
    return m;
  }
  std::mutex mutex_;
  // One per object ever called (a few per configuration; a restart adds one).
  std::map<const void*, std::shared_ptr<Lock>> locks_;
};

}  // namespace wva::framework
