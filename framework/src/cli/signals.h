// SIGTERM/SIGINT handling without global state: the signals are blocked in every thread and one
// watcher thread receives them with sigwait() and requests a graceful stop.
#pragma once

#include <csignal>
#include <functional>
#include <thread>

namespace wva::framework {

class SignalWatcher {
 public:
  // Must be constructed before any other thread starts, so all threads inherit the blocked mask.
  explicit SignalWatcher(std::function<void(int)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  sigset_t set_{};
  std::thread thread_;
};

}  // namespace wva::framework
