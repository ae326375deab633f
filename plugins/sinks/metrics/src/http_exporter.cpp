#include "http_exporter.h"

#include <httplib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>

namespace wva::plugins::metrics {

namespace {
constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";
}

HttpExporter::HttpExporter(sdk::MetricsRegistry& registry, std::string path)
    : registry_(registry), path_(std::move(path)) {}

HttpExporter::~HttpExporter() { stop(); }

sdk::Result<int> HttpExporter::start(const ListenAddress& address) {
  stop();
  auto server = std::make_unique<httplib::Server>();
  // cpp-httplib sets SO_REUSEPORT by default, which lets a second process bind the same port and silently
  // share the scrapes. Only SO_REUSEADDR (restart while old connections sit in TIME_WAIT).
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->set_keep_alive_timeout(2);
  server->set_read_timeout(5, 0);
  server->set_write_timeout(5, 0);
  sdk::MetricsRegistry* registry = &registry_;
  server->Get(path_, [registry](const httplib::Request&, httplib::Response& res) {
    try {
      res.set_content(registry->render(), kExpositionType);
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("rendering metrics failed: ") + e.what() + "\n", "text/plain");
    }
  });
  server->Get("/healthz",
              [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });

  int port = address.port;
  errno = 0;
  if (address.port == 0) {
    port = server->bind_to_any_port(address.host);
    if (port <= 0) port = -1;
  } else if (!server->bind_to_port(address.host, address.port)) {
    port = -1;
  }
  if (port < 0) {
    const int err = errno;
    return sdk::make_error(sdk::ErrorCode::kUnavailable, "cannot listen on " + address.to_string() +
                                                             (err ? ": " + std::string(std::strerror(err)) : ""));
  }

  httplib::Server* raw = server.get();
  thread_ = std::thread([raw] { raw->listen_after_bind(); });
  // stop() only works once the accept loop runs (cpp-httplib 0.11): wait for it, bounded.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!raw->is_running() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  if (!raw->is_running()) {
    server_ = std::move(server);
    stop();
    return sdk::make_error(sdk::ErrorCode::kInternal, "HTTP server on " + address.to_string() + " did not start");
  }
  server_ = std::move(server);
  port_ = port;
  return port;
}

void HttpExporter::stop() noexcept {
  if (!server_) return;
  try {
    // Bounded: the accept loop may still be starting; stop() is a no-op until it runs.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_->is_running() && thread_.joinable() && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    server_->stop();
    if (thread_.joinable()) thread_.join();
  } catch (...) {
    // Never throws; a failed join leaves the thread detached rather than terminating the process.
    if (thread_.joinable()) thread_.detach();
  }
  server_.reset();
  port_ = 0;
}

}  // namespace wva::plugins::metrics
