// Where the API server is and how to authenticate: the in-cluster service account or a kubeconfig.
//
// In-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, the token, CA and namespace files of the
// mounted service account (the token file is re-read by the client when it changes: projected tokens
// rotate).
//
// Kubeconfig: the file named by --kubeconfig, else every file of $KUBECONFIG (':'-separated; the first
// file that defines a name wins, as kubectl merges them), else ~/.kube/config. The context is --context or
// current-context. Supported: server, certificate-authority(-data), insecure-skip-tls-verify (honoured only
// when the file says so, with a warning), client-certificate(-data) / client-key(-data), token, tokenFile.
// Relative file paths resolve against the kubeconfig's folder. exec / auth-provider users are refused
// with a message saying so.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "wva/sdk/result.h"

namespace wva::framework::kube {

struct Connection {
  std::string server;  // "https://10.0.0.1:443", no trailing slash
  std::string ca_file;
  std::string ca_pem;  // certificate-authority-data, decoded
  std::string client_cert_file, client_cert_pem;
  std::string client_key_file, client_key_pem;
  std::string token;       // static bearer token
  std::string token_file;  // re-read when it changes
  bool insecure_skip_tls_verify = false;
  std::string default_namespace;  // the context's / the service account's namespace ("" when none)
  std::string source;             // "in-cluster" or "kubeconfig FILE, context NAME"
  std::vector<std::string> warnings;
};

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
// The process environment.
std::optional<std::string> process_env(const std::string& name);

// True when KUBERNETES_SERVICE_HOST is set (running in a pod).
bool in_cluster(const EnvLookup& env = process_env);
sdk::Result<Connection> load_in_cluster(const EnvLookup& env = process_env,
                                        const std::filesystem::path& service_account_dir = kServiceAccountDir);
// kubeconfig_flag / context_flag: empty when not given.
sdk::Result<Connection> load_kubeconfig(const std::string& kubeconfig_flag, const std::string& context_flag,
                                        const EnvLookup& env = process_env);
// In-cluster when in a pod and no --kubeconfig was given, else the kubeconfig.
sdk::Result<Connection> resolve_connection(const std::string& kubeconfig_flag, const std::string& context_flag,
                                           const EnvLookup& env = process_env);

// RFC 4648 base64 (padding optional, whitespace ignored); nullopt on any other character.
std::optional<std::string> base64_decode(const std::string& text);

}  // namespace wva::framework::kube
