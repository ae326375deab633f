#include "cli/signals.h"

#include <pthread.h>

namespace wva::framework {

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGUSR1);  // internal: wakes the watcher at shutdown
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  thread_ = std::thread([this, on_signal = std::move(on_signal)] {
    int sig = 0;
    while (sigwait(&set_, &sig) == 0) {
      if (sig == SIGUSR1) return;
      on_signal(sig);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace wva::framework
