// Settings of the `keda-scaler` sink (sinks.<name> in pipelines.yaml) and their validation:
//   {listen: "127.0.0.1:9091", tls: {certFile, keyFile, clientCAFile}, maxStreams: 64}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"
#include "wva/sdk/settings_schema.h"

namespace wva::plugins::keda {

struct ListenAddress {
  std::string host;  // "0.0.0.0" for ":port", "::1" for "[::1]:port"
  int port = 0;      // 0: any free port (the bound one is logged and queryable)

  // "host:port" as gRPC takes it ("[::1]:port" for IPv6).
  std::string to_string() const;
};

struct TlsFiles {
  std::string cert_file;                      // PEM server certificate (chain)
  std::string key_file;                       // PEM private key of cert_file
  std::optional<std::string> client_ca_file;  // set: clients must present a certificate this CA signed
};

struct ScalerConfig {
  ListenAddress listen{"127.0.0.1", 9091};
  std::optional<TlsFiles> tls;  // nullopt: plaintext
  int max_streams = 64;         // concurrent StreamIsActive streams; more are refused (RESOURCE_EXHAUSTED)
};

inline constexpr int kMaxStreamsLimit = 4096;

// "host:port", ":port" (every interface), "[v6]:port"; port 0 picks a free port. Errors name `path`.
sdk::Result<ListenAddress> parse_listen(const nlohmann::json& value, const std::string& path);

// The settings as a schema the host validates before configure(); check_settings() checks `listen` and the
// TLS file names. No I/O: the TLS files are read by start().
sdk::SettingsSchema settings_schema();
std::vector<sdk::Error> check_settings(const nlohmann::json& validated, const std::string& config_path);
ScalerConfig read_settings(const nlohmann::json& validated);
// The three steps at once, for tests: the settings or every error, each with its path.
sdk::ParsedSettings<ScalerConfig> parse_config(const nlohmann::json& config, const std::string& config_path);

}  // namespace wva::plugins::keda
