// Settings of the `keda-scaler` sink (sinks.<name> in pipelines.yaml) and their validation:
//   {listen: "127.0.0.1:9091", tls: {certFile, keyFile, clientCAFile}, maxStreams: 64}
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"

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

// null or {} gives the defaults. Every problem is reported with its path under `config_path` (unknown keys
// with a did-you-mean); the error lists them all. No I/O: the TLS files are read by start().
sdk::Result<ScalerConfig> parse_config(const nlohmann::json& config, const std::string& config_path);

}  // namespace wva::plugins::keda
