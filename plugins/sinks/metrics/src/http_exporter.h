// Serves a MetricsRegistry's rendering over HTTP or HTTPS: GET <path> and GET /healthz, on a ScrapeServer
// (a poll() loop that slow clients cannot starve; limits in scrape_server.h). With token auth, <path>
// needs a bearer token the API server accepts and authorizes; /healthz never does (it tells nothing).
#pragma once

#include <memory>
#include <string>

#include "scrape_server.h"
#include "settings.h"
#include "tls_credentials.h"
#include "token_auth.h"
#include "wva/sdk/context.h"

namespace wva::plugins::metrics {

struct ExporterOptions {
  std::string path = "/metrics";
  ScrapeServerLimits limits;
  std::shared_ptr<TlsCredentials> tls;      // null: plain HTTP
  sdk::AccessReviewer* reviewer = nullptr;  // null: no token auth
  TokenAuthOptions auth;
  std::function<void(sdk::LogLevel, const std::string&)> log;  // reloads, refused certificates, reviews
};

class HttpExporter {
 public:
  HttpExporter(sdk::MetricsRegistry& registry, ExporterOptions options);
  HttpExporter(sdk::MetricsRegistry& registry, std::string path, ScrapeServerLimits limits = {});
  ~HttpExporter();
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  // Binds (synchronously, so an address in use fails here) and serves on a thread. Returns the bound port.
  sdk::Result<int> start(const ListenAddress& address);
  // Idempotent; joins the serving thread and the review workers.
  void stop() noexcept;
  int port() const { return port_; }
  std::size_t connections() const { return server_ ? server_->connections() : 0; }
  std::size_t failed_handshakes() const { return server_ ? server_->failed_handshakes() : 0; }
  const TokenAuth* token_auth() const { return auth_.get(); }
  const TlsCredentials* tls() const { return options_.tls.get(); }

 private:
  sdk::MetricsRegistry& registry_;
  ExporterOptions options_;
  std::unique_ptr<TokenAuth> auth_;
  std::unique_ptr<ScrapeServer> server_;
  int port_ = 0;
};

}  // namespace wva::plugins::metrics
