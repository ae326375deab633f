#include "host/probe_server.h"

#include <httplib.h>

namespace wva::framework {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ProbeServer::ProbeServer(std::function<std::string()> ready, std::chrono::milliseconds stall_limit)
    : ready_(std::move(ready)), stall_limit_ns_(stall_limit.count() * 1000000), last_beat_ns_(steady_ns()) {}

ProbeServer::~ProbeServer() { stop(); }

void ProbeServer::heartbeat() { last_beat_ns_ = steady_ns(); }

sdk::Result<void> ProbeServer::start(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           "--health-probe-bind-address \"" + address + "\": expected HOST:PORT or :PORT");
  std::string host = address.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           "--health-probe-bind-address \"" + address + "\": the port must be 0..65535");
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const auto age = std::chrono::nanoseconds(steady_ns() - last_beat_ns_.load());
    if (age.count() > stall_limit_ns_.load()) {
      res.status = 503;
      res.set_content("cycle loop stalled: no cycle for " +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(age).count()) + "s\n",
                      "text/plain");
    } else {
      res.set_content("ok\n", "text/plain");
    }
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const std::string why = ready_ ? ready_() : std::string();
    if (why.empty()) {
      res.set_content("ok\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content(why + "\n", "text/plain");
    }
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0)
    return sdk::make_error(sdk::ErrorCode::kUnavailable,
                           "--health-probe-bind-address \"" + address + "\": cannot listen (port in use?)");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // A stop() before the loop runs would be lost; wait (bounded) until it does.
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return sdk::ok();
}

void ProbeServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace wva::framework
