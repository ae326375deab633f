// Config of the `metrics` sink:
//   listen: "127.0.0.1:8443" | ":8443" | "0"
//   path: /metrics
//   tls: {certFile: /path/tls.crt, keyFile: /path/tls.key, reloadInterval: 10s}   # absent: plain HTTP
//   auth: {mode: none | tokenReview, reviewTimeout: 5s, cacheTTL: 1m}          # default: none
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wva/sdk/plugin.h"

namespace wva::plugins::metrics {

struct ListenAddress {
  std::string host;  // "0.0.0.0" for ":port", "::1" for "[::1]:port"
  int port = 0;      // 0: any free port (the bound one is logged and queryable)

  std::string to_string() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds reload_interval{10000};
};

struct AuthConfig {
  bool token_review = false;  // mode: tokenReview
  std::chrono::milliseconds review_timeout{5000};
  std::chrono::milliseconds cache_ttl{60000};
};

struct MetricsConfig {
  std::optional<ListenAddress> listen = ListenAddress{"0.0.0.0", 8443};  // nullopt: HTTP server disabled
  std::string path = "/metrics";
  std::optional<TlsConfig> tls;  // nullopt: plain HTTP
  AuthConfig auth;
};

// "0" (or 0) disables the server; ":8443" listens on every interface; "host:port" on one; port 0 picks a
// free port. Errors name `config_path`.
sdk::Result<std::optional<ListenAddress>> parse_listen(const nlohmann::json& value, const std::string& config_path);

// The settings as a schema the host validates before configure(); check_settings() checks `listen` and
// `path`. null or {} gives the defaults (listen ":8443", path "/metrics").
sdk::SettingsSchema settings_schema();
std::vector<sdk::Error> check_settings(const nlohmann::json& validated, const std::string& config_path);
MetricsConfig read_settings(const nlohmann::json& validated);
// The three steps at once, for tests: the settings or every error, each with its path.
sdk::ParsedSettings<MetricsConfig> parse_config(const sdk::Config& config, const std::string& config_path);

}  // namespace wva::plugins::metrics
