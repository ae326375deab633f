// Health probes on their own port (--health-probe-bind-address, default :8081), whatever sinks run:
//   /healthz  200 while the cycle loop is alive (it reported within its stall limit), else 503
//   /readyz   200 once the caches are synced and a valid configuration is loaded, else 503 with the reason
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "wva/sdk/result.h"

namespace httplib {
class Server;
}

namespace wva::framework {

class ProbeServer {
 public:
  // ready: "" when ready, else why not.
  ProbeServer(std::function<std::string()> ready, std::chrono::milliseconds stall_limit);
  ~ProbeServer();
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  // address: ":8081", "0.0.0.0:8081", "127.0.0.1:0" (0 = any free port). Error names the address.
  sdk::Result<void> start(const std::string& address);
  int port() const { return port_; }
  // The cycle loop calls this after every cycle (and once when it starts).
  void heartbeat();
  void set_stall_limit(std::chrono::milliseconds limit) { stall_limit_ns_ = limit.count() * 1000000; }
  void stop();

 private:
  std::function<std::string()> ready_;
  std::atomic<std::int64_t> stall_limit_ns_;
  std::atomic<std::int64_t> last_beat_ns_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace wva::framework
