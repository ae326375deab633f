#include "http_exporter.h"

#include <cctype>
#include <exception>

namespace wva::plugins::metrics {

namespace {
constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

ScrapeResponse render_metrics(const sdk::MetricsRegistry& registry) {
  try {
    return {200, kExpositionType, registry.render()};
  } catch (const std::exception& e) {
    return {500, "text/plain", std::string("rendering metrics failed: ") + e.what() + "\n"};
  }
}
}  // namespace

HttpExporter::HttpExporter(sdk::MetricsRegistry& registry, ExporterOptions options)
    : registry_(registry), options_(std::move(options)) {}

HttpExporter::HttpExporter(sdk::MetricsRegistry& registry, std::string path, ScrapeServerLimits limits)
    : registry_(registry) {
  options_.path = std::move(path);
  options_.limits = limits;
}

HttpExporter::~HttpExporter() { stop(); }

sdk::Result<int> HttpExporter::start(const ListenAddress& address) {
  stop();
  if (options_.reviewer) auth_ = std::make_unique<TokenAuth>(*options_.reviewer, options_.auth, options_.log);
  const sdk::MetricsRegistry* registry = &registry_;
  TokenAuth* auth = auth_.get();
  const std::string path = options_.path;
  auto server = std::make_unique<ScrapeServer>(
      ScrapeServer::AsyncHandler([registry, auth, path](const ScrapeRequest& req, ScrapeServer::Respond respond) {
        if (req.path == "/healthz") return respond({200, "text/plain", "ok\n"});
        if (req.path != path) return respond({404, "text/plain", "not found\n"});
        if (!auth) return respond(render_metrics(*registry));
        std::string verb = req.method;
        for (auto& c : verb) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auth->check(req.authorization, req.path, verb,
                    [registry, respond = std::move(respond)](std::optional<ScrapeResponse> refusal) {
                      respond(refusal ? std::move(*refusal) : render_metrics(*registry));
                    });
      }),
      options_.limits);
  if (options_.tls) server->set_tls(options_.tls, options_.log);
  auto port = server->start(address.host, address.port);
  if (!port) {
    auth_.reset();
    return sdk::make_error(sdk::ErrorCode::kUnavailable,
                           "cannot listen on " + address.to_string() + ": " + port.error().message);
  }
  server_ = std::move(server);
  port_ = *port;
  return *port;
}

void HttpExporter::stop() noexcept {
  if (server_) {
    server_->stop();  // first: no new checks start
    server_.reset();
  }
  auth_.reset();  // joins the review workers; their late answers find the server gone
  port_ = 0;
}

}  // namespace wva::plugins::metrics
