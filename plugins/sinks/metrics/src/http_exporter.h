// Serves a MetricsRegistry's rendering over HTTP (cpp-httplib): GET <path> and GET /healthz.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "metrics_config.h"
#include "wva/sdk/context.h"

namespace httplib {
class Server;
}

namespace wva::plugins::metrics {

class HttpExporter {
 public:
  HttpExporter(sdk::MetricsRegistry& registry, std::string path);
  ~HttpExporter();
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  // Binds (synchronously, so an address in use fails here) and serves on a thread. Returns the bound port.
  sdk::Result<int> start(const ListenAddress& address);
  // Idempotent; joins the serving thread.
  void stop() noexcept;
  int port() const { return port_; }

 private:
  sdk::MetricsRegistry& registry_;
  std::string path_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace wva::plugins::metrics
