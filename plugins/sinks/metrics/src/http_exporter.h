// Serves a MetricsRegistry's rendering over HTTP: GET <path> and GET /healthz, on a ScrapeServer (a
// poll() loop that slow clients cannot starve; limits in scrape_server.h).
#pragma once

#include <memory>
#include <string>

#include "metrics_config.h"
#include "scrape_server.h"
#include "wva/sdk/context.h"

namespace wva::plugins::metrics {

class HttpExporter {
 public:
  HttpExporter(sdk::MetricsRegistry& registry, std::string path, ScrapeServerLimits limits = {});
  ~HttpExporter();
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  // Binds (synchronously, so an address in use fails here) and serves on a thread. Returns the bound port.
  sdk::Result<int> start(const ListenAddress& address);
  // Idempotent; joins the serving thread.
  void stop() noexcept;
  int port() const { return port_; }
  std::size_t connections() const { return server_ ? server_->connections() : 0; }

 private:
  sdk::MetricsRegistry& registry_;
  std::string path_;
  ScrapeServerLimits limits_;
  std::unique_ptr<ScrapeServer> server_;
  int port_ = 0;
};

}  // namespace wva::plugins::metrics
