#include "http_exporter.h"

#include <exception>

namespace wva::plugins::metrics {

namespace {
constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";
}

HttpExporter::HttpExporter(sdk::MetricsRegistry& registry, std::string path, ScrapeServerLimits limits)
    : registry_(registry), path_(std::move(path)), limits_(limits) {}

HttpExporter::~HttpExporter() { stop(); }

sdk::Result<int> HttpExporter::start(const ListenAddress& address) {
  stop();
  sdk::MetricsRegistry* registry = &registry_;
  const std::string path = path_;
  auto server = std::make_unique<ScrapeServer>(
      [registry, path](const ScrapeRequest& req) -> ScrapeResponse {
        if (req.path == path) {
          try {
            return {200, kExpositionType, registry->render()};
          } catch (const std::exception& e) {
            return {500, "text/plain", std::string("rendering metrics failed: ") + e.what() + "\n"};
          }
        }
        if (req.path == "/healthz") return {200, "text/plain", "ok\n"};
        return {404, "text/plain", "not found\n"};
      },
      limits_);
  auto port = server->start(address.host, address.port);
  if (!port)
    return sdk::make_error(sdk::ErrorCode::kUnavailable,
                           "cannot listen on " + address.to_string() + ": " + port.error().message);
  server_ = std::move(server);
  port_ = *port;
  return *port;
}

void HttpExporter::stop() noexcept {
  if (!server_) return;
  server_->stop();
  server_.reset();
  port_ = 0;
}

}  // namespace wva::plugins::metrics
