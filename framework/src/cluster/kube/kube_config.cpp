#include "cluster/kube/kube_config.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "wva/sdk/util/yaml.h"

namespace wva::framework::kube {
namespace {

using sdk::ErrorCode;
using sdk::make_error;

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::string scalar(const sdk::yaml::Node& n, const char* key) {
  if (!n || !n.is_mapping()) return {};
  const sdk::yaml::Node v = n[key];
  return v && v.is_scalar() ? v.scalar() : std::string();
}

bool truthy(const sdk::yaml::Node& n, const char* key) {
  const std::string v = scalar(n, key);
  return v == "true" || v == "True" || v == "TRUE";
}

// A named entry of a kubeconfig list (clusters, users, contexts) and the file it came from.
struct Named {
  sdk::yaml::Node body;
  std::filesystem::path file;
};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> base64_decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = value(c);
    if (v < 0 || padding) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

bool in_cluster(const EnvLookup& env) { return env("KUBERNETES_SERVICE_HOST").has_value(); }

sdk::Result<Connection> load_in_cluster(const EnvLookup& env, const std::filesystem::path& sa_dir) {
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port)
    return make_error(ErrorCode::kInvalidConfig,
                      "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set");
  Connection c;
  c.source = "in-cluster";
  // An IPv6 service address needs brackets in a URL.
  const std::string h = host->find(':') != std::string::npos ? "[" + *host + "]" : *host;
  c.server = "https://" + h + ":" + *port;
  c.token_file = (sa_dir / "token").string();
  if (::access(c.token_file.c_str(), R_OK) != 0)
    return make_error(ErrorCode::kNotFound, "in-cluster config: cannot read the service-account token " + c.token_file +
                                                " (is automountServiceAccountToken off?)");
  c.ca_file = (sa_dir / "ca.crt").string();
  if (::access(c.ca_file.c_str(), R_OK) != 0)
    return make_error(ErrorCode::kNotFound, "in-cluster config: cannot read the cluster CA " + c.ca_file);
  if (auto ns = read_file(sa_dir / "namespace")) c.default_namespace = trim(*ns);
  return c;
}

sdk::Result<Connection> load_kubeconfig(const std::string& kubeconfig_flag, const std::string& context_flag,
                                        const EnvLookup& env) {
  std::vector<std::filesystem::path> files;
  std::string origin;
  if (!kubeconfig_flag.empty()) {
    files.push_back(kubeconfig_flag);
    origin = "--kubeconfig";
  } else if (auto list = env("KUBECONFIG")) {
    std::istringstream parts(*list);
    for (std::string p; std::getline(parts, p, ':');)
      if (!p.empty()) files.push_back(p);
    origin = "KUBECONFIG";
  } else if (auto home = env("HOME")) {
    files.push_back(std::filesystem::path(*home) / ".kube" / "config");
    origin = "default";
  }
  if (files.empty())
    return make_error(ErrorCode::kNotFound, "no kubeconfig: not in a pod, no --kubeconfig, KUBECONFIG or $HOME");

  std::map<std::string, Named> clusters, users, contexts;
  std::string current_context;
  std::vector<std::filesystem::path> read;
  for (const auto& f : files) {
    auto text = read_file(f);
    if (!text) {
      // kubectl skips missing entries of KUBECONFIG; a named file must exist.
      if (origin == "KUBECONFIG" && files.size() > 1) continue;
      if (origin == "default")
        return make_error(ErrorCode::kNotFound,
                          "no cluster to talk to: not in a pod (KUBERNETES_SERVICE_HOST unset), no --kubeconfig or "
                          "KUBECONFIG, and " +
                              f.string() + " cannot be read (" + std::strerror(errno) +
                              "); or use --local DIR for a folder of YAML");
      return make_error(ErrorCode::kNotFound, "kubeconfig " + f.string() + " (" + origin +
                                                  "): cannot read the file: " + std::strerror(errno));
    }
    auto parsed = sdk::yaml::load(*text);
    if (!parsed.ok())
      return make_error(ErrorCode::kInvalidConfig, "kubeconfig " + f.string() + ": " + parsed.error().message);
    const sdk::yaml::Node doc = parsed.value();
    if (!doc.is_mapping()) return make_error(ErrorCode::kInvalidConfig, "kubeconfig " + f.string() + ": not a mapping");
    read.push_back(f);
    for (auto [key, target, inner] : {std::tuple{"clusters", &clusters, "cluster"}, std::tuple{"users", &users, "user"},
                                      std::tuple{"contexts", &contexts, "context"}}) {
      const sdk::yaml::Node list = doc[key];
      if (!list || !list.is_sequence()) continue;
      for (const auto& item : list.items()) {
        const std::string name = scalar(item, "name");
        if (name.empty() || target->count(name)) continue;
        (*target)[name] = Named{item[inner], f};
      }
    }
    if (current_context.empty()) current_context = scalar(doc, "current-context");
  }
  if (read.empty()) return make_error(ErrorCode::kNotFound, "kubeconfig: none of the KUBECONFIG files can be read");
  const std::string where = "kubeconfig " + read.front().string();

  std::vector<std::string> context_names;
  for (const auto& [n, _] : contexts) context_names.push_back(n);
  const std::string context_name = context_flag.empty() ? current_context : context_flag;
  if (context_name.empty())
    return make_error(ErrorCode::kInvalidConfig,
                      where + ": no current-context and no --context (contexts: " + join(context_names) + ")");
  auto ctx = contexts.find(context_name);
  if (ctx == contexts.end())
    return make_error(ErrorCode::kNotFound,
                      where + ": context \"" + context_name + "\" not found (contexts: " + join(context_names) + ")");
  const std::string cluster_name = scalar(ctx->second.body, "cluster");
  const std::string user_name = scalar(ctx->second.body, "user");
  auto cl = clusters.find(cluster_name);
  if (cl == clusters.end())
    return make_error(ErrorCode::kNotFound, where + ": context \"" + context_name + "\" names cluster \"" +
                                                cluster_name + "\", which is not defined");

  Connection c;
  c.source = "kubeconfig " + read.front().string() + ", context " + context_name;
  c.default_namespace = scalar(ctx->second.body, "namespace");
  c.server = scalar(cl->second.body, "server");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.empty())
    return make_error(ErrorCode::kInvalidConfig, where + ": cluster \"" + cluster_name + "\" has no server");

  auto resolve = [](const std::filesystem::path& file, const std::string& p) {
    std::filesystem::path path(p);
    return path.is_absolute() ? path.string() : (file.parent_path() / path).string();
  };
  // A referenced file must exist now: a clear error at start beats a TLS failure later.
  auto file_field = [&](const Named& n, const char* key, const std::string& owner,
                        std::string& target) -> sdk::Result<void> {
    const std::string v = scalar(n.body, key);
    if (v.empty()) return sdk::ok();
    target = resolve(n.file, v);
    if (::access(target.c_str(), R_OK) != 0)
      return make_error(ErrorCode::kNotFound, where + ": " + owner + " " + key + " " + target +
                                                  ": cannot read the file: " + std::strerror(errno));
    return sdk::ok();
  };
  auto data_field = [&](const Named& n, const char* key, const std::string& owner,
                        std::string& target) -> sdk::Result<void> {
    const std::string v = scalar(n.body, key);
    if (v.empty()) return sdk::ok();
    auto decoded = base64_decode(v);
    if (!decoded) return make_error(ErrorCode::kInvalidConfig, where + ": " + owner + " " + key + " is not base64");
    target = *decoded;
    return sdk::ok();
  };
  const std::string cluster_owner = "cluster \"" + cluster_name + "\"";
  if (auto r = data_field(cl->second, "certificate-authority-data", cluster_owner, c.ca_pem); !r) return r.error();
  if (c.ca_pem.empty())
    if (auto r = file_field(cl->second, "certificate-authority", cluster_owner, c.ca_file); !r) return r.error();
  if (truthy(cl->second.body, "insecure-skip-tls-verify")) {
    c.insecure_skip_tls_verify = true;
    c.warnings.push_back(where + ": cluster \"" + cluster_name +
                         "\" sets insecure-skip-tls-verify: the API server's certificate is NOT verified");
  }

  if (!user_name.empty()) {
    auto us = users.find(user_name);
    if (us == users.end())
      return make_error(ErrorCode::kNotFound, where + ": context \"" + context_name + "\" names user \"" + user_name +
                                                  "\", which is not defined");
    const std::string owner = "user \"" + user_name + "\"";
    const sdk::yaml::Node& u = us->second.body;
    if (u && u.is_mapping() && (u["exec"] || u["auth-provider"]))
      return make_error(ErrorCode::kInvalidConfig,
                        where + ": " + owner +
                            " uses exec/auth-provider credentials, which wva does not run; use a token, tokenFile or "
                            "client certificate");
    if (auto r = data_field(us->second, "client-certificate-data", owner, c.client_cert_pem); !r) return r.error();
    if (c.client_cert_pem.empty())
      if (auto r = file_field(us->second, "client-certificate", owner, c.client_cert_file); !r) return r.error();
    if (auto r = data_field(us->second, "client-key-data", owner, c.client_key_pem); !r) return r.error();
    if (c.client_key_pem.empty())
      if (auto r = file_field(us->second, "client-key", owner, c.client_key_file); !r) return r.error();
    c.token = scalar(u, "token");
    if (c.token.empty())
      if (auto r = file_field(us->second, "tokenFile", owner, c.token_file); !r) return r.error();
    const bool has_cert = !c.client_cert_pem.empty() || !c.client_cert_file.empty();
    const bool has_key = !c.client_key_pem.empty() || !c.client_key_file.empty();
    if (has_cert != has_key)
      return make_error(
          ErrorCode::kInvalidConfig,
          where + ": " + owner + " has a client certificate without a key, or a key without a certificate");
  }
  return c;
}

sdk::Result<Connection> resolve_connection(const std::string& kubeconfig_flag, const std::string& context_flag,
                                           const EnvLookup& env) {
  if (kubeconfig_flag.empty() && context_flag.empty() && in_cluster(env)) return load_in_cluster(env);
  return load_kubeconfig(kubeconfig_flag, context_flag, env);
}

}  // namespace wva::framework::kube
