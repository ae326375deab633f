// Signal handling without global state: the handled signals are blocked in every thread and one
// watcher thread receives them with sigwait() and hands each to a callback.
//
// What each signal does is deliberate (see docs/reliability.md):
//   SIGTERM, SIGINT, SIGQUIT  graceful stop (release the lease, stop plugins, exit 0)
//   SIGHUP                    re-read the configuration now
//   SIGUSR1, SIGUSR2          ignored; SIGUSR1 also wakes the watcher at shutdown
//   SIGPIPE                   ignored: a peer closing a socket is an I/O error, never a process exit
#pragma once

#include <atomic>
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
  std::atomic<bool> closing_{false};
  std::thread thread_;
};

}  // namespace wva::framework
