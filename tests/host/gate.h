// A gate a test plugin's call waits on until the test opens it, so a "hung" call ends when the test
// says (bounded: 30 s at most, so a failing test still ends).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace wva::testing {

struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> entered{0};
  std::atomic<int> left{0};
  void wait() {
    ++entered;
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return open; });
    ++left;
  }
  void release() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};

}  // namespace wva::testing
