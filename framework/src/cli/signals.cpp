#include "cli/signals.h"

#include <pthread.h>

namespace wva::framework {

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, nullptr);

  sigemptyset(&set_);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&set_, sig);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  thread_ = std::thread([this, on_signal = std::move(on_signal)] {
    int sig = 0;
    while (sigwait(&set_, &sig) == 0) {
      // Only the destructor's SIGUSR1 ends the watcher; one sent from outside is passed on (and ignored).
      if (closing_.load()) return;
      on_signal(sig);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  closing_.store(true);
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace wva::framework
