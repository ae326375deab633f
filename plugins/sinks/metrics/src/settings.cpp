#include "settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "wva/sdk/duration.h"
#include "wva/sdk/suggest.h"

namespace wva::plugins::metrics {
namespace {

using sdk::ErrorCode;
using sdk::make_error;

// A mapping whose keys are all in `known`, else the error names the unknown key and the closest known one.
sdk::Result<void> check_keys(const nlohmann::json& value, const std::vector<std::string>& known,
                             const std::string& example, const std::string& config_path) {
  if (!value.is_object())
    return make_error(ErrorCode::kInvalidConfig,
                      "expected a mapping (e.g. " + example + "), got " + std::string(value.type_name()), config_path);
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
    std::string msg = "unknown key '" + it.key() + "'";
    if (const auto best = sdk::closest_match(it.key(), known)) msg += "; did you mean '" + *best + "'?";
    return make_error(ErrorCode::kInvalidConfig, msg, config_path + "." + it.key());
  }
  return sdk::ok();
}

sdk::Result<std::chrono::milliseconds> parse_positive_duration(const nlohmann::json& value,
                                                               std::chrono::milliseconds min,
                                                               std::chrono::milliseconds max,
                                                               const std::string& config_path) {
  if (!value.is_string())
    return make_error(ErrorCode::kInvalidConfig, "must be a duration such as \"10s\", got " + value.dump(),
                      config_path);
  auto d = sdk::parse_duration(value.get<std::string>());
  if (!d) return make_error(ErrorCode::kInvalidConfig, d.error().message, config_path);
  if (*d < min || *d > max)
    return make_error(ErrorCode::kInvalidConfig,
                      "must be from " + sdk::format_duration(min) + " to " + sdk::format_duration(max) + ", got \"" +
                          value.get<std::string>() + "\"",
                      config_path);
  return *d;
}

sdk::Result<TlsConfig> parse_tls(const nlohmann::json& value, const std::string& config_path) {
  const std::string example = "{certFile: /etc/wva/metrics-tls/tls.crt, keyFile: /etc/wva/metrics-tls/tls.key}";
  if (auto ok = check_keys(value, {"certFile", "keyFile", "reloadInterval"}, example, config_path); !ok)
    return ok.error();
  TlsConfig out;
  for (const auto& [key, target] : {std::pair<const char*, std::string*>{"certFile", &out.cert_file},
                                    std::pair<const char*, std::string*>{"keyFile", &out.key_file}}) {
    const std::string path = config_path + "." + key;
    auto it = value.find(key);
    if (it == value.end())
      return make_error(ErrorCode::kInvalidConfig,
                        std::string("missing: HTTPS needs both certFile and keyFile (PEM files), e.g. ") + example,
                        path);
    if (!it->is_string() || it->get<std::string>().empty())
      return make_error(ErrorCode::kInvalidConfig, "must be a file path, got " + it->dump(), path);
    *target = it->get<std::string>();
  }
  if (auto it = value.find("reloadInterval"); it != value.end()) {
    auto d = parse_positive_duration(*it, std::chrono::milliseconds(100), std::chrono::hours(24),
                                     config_path + ".reloadInterval");
    if (!d) return d.error();
    out.reload_interval = *d;
  }
  return out;
}

sdk::Result<AuthConfig> parse_auth(const nlohmann::json& value, const std::string& config_path) {
  if (auto ok = check_keys(value, {"mode", "reviewTimeout", "cacheTTL"}, "{mode: tokenReview}", config_path); !ok)
    return ok.error();
  AuthConfig out;
  if (auto it = value.find("mode"); it != value.end()) {
    const std::string mode = it->is_string() ? it->get<std::string>() : it->dump();
    if (mode == "tokenReview") out.token_review = true;
    else if (mode != "none")
      return make_error(ErrorCode::kInvalidConfig,
                        "must be \"none\" or \"tokenReview\" (a bearer token checked by the API's TokenReview and "
                        "SubjectAccessReview), got " +
                            it->dump(),
                        config_path + ".mode");
  }
  if (auto it = value.find("reviewTimeout"); it != value.end()) {
    auto d = parse_positive_duration(*it, std::chrono::milliseconds(100), std::chrono::seconds(60),
                                     config_path + ".reviewTimeout");
    if (!d) return d.error();
    out.review_timeout = *d;
  }
  if (auto it = value.find("cacheTTL"); it != value.end()) {
    auto d =
        parse_positive_duration(*it, std::chrono::milliseconds(0), std::chrono::hours(1), config_path + ".cacheTTL");
    if (!d) return d.error();
    out.cache_ttl = *d;
  }
  return out;
}

const char* kListenHelp = "expected \"host:port\", \":port\" (all interfaces) or \"0\" (disabled), e.g. \":8443\"";

}  // namespace

sdk::Result<std::optional<ListenAddress>> parse_listen(const nlohmann::json& value, const std::string& config_path) {
  std::string text;
  if (value.is_number_integer()) {
    const long long p = value.get<long long>();
    if (p == 0) return std::optional<ListenAddress>();
    if (p < 1 || p > 65535)
      return make_error(ErrorCode::kInvalidConfig, "port " + std::to_string(p) + " is out of range 1..65535",
                        config_path);
    return std::optional<ListenAddress>(ListenAddress{"0.0.0.0", static_cast<int>(p)});
  }
  if (!value.is_string())
    return make_error(ErrorCode::kInvalidConfig, std::string(kListenHelp) + ", got " + value.dump(), config_path);
  text = value.get<std::string>();
  if (text == "0") return std::optional<ListenAddress>();

  const auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return make_error(ErrorCode::kInvalidConfig, std::string(kListenHelp) + ", got \"" + text + "\"", config_path);
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return make_error(ErrorCode::kInvalidConfig,
                      "IPv6 addresses need brackets, e.g. \"[::1]:8443\"; got \"" + text + "\"", config_path);
  if (host.empty()) host = "0.0.0.0";
  if (std::any_of(host.begin(), host.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
    return make_error(ErrorCode::kInvalidConfig, "host \"" + host + "\" contains whitespace", config_path);
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535)
    return make_error(ErrorCode::kInvalidConfig,
                      "port \"" + port_text + "\" is not a number from 0 to 65535 (" + kListenHelp + ")", config_path);
  return std::optional<ListenAddress>(ListenAddress{host, port});
}

sdk::Result<MetricsConfig> parse_config(const sdk::Config& config, const std::string& config_path) {
  MetricsConfig out;
  if (config.is_null()) return out;
  if (!config.is_object())
    return make_error(
        ErrorCode::kInvalidConfig,
        "expected a mapping (e.g. {listen: \":8443\", path: /metrics}), got " + std::string(config.type_name()),
        config_path);
  const std::vector<std::string> known = {"listen", "path", "tls", "auth"};
  for (auto it = config.begin(); it != config.end(); ++it) {
    const std::string& key = it.key();
    const std::string path = config_path + "." + key;
    if (key == "listen") {
      auto l = parse_listen(it.value(), path);
      if (!l) return l.error();
      out.listen = *l;
    } else if (key == "path") {
      if (!it.value().is_string())
        return make_error(ErrorCode::kInvalidConfig, "must be a string such as \"/metrics\", got " + it.value().dump(),
                          path);
      const std::string p = it.value().get<std::string>();
      const bool bad_char = std::any_of(p.begin(), p.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) || c == '?' || c == '#' || c == '\0';
      });
      if (p.empty() || p.front() != '/' || bad_char)
        return make_error(ErrorCode::kInvalidConfig,
                          "must start with '/' and hold no spaces, '?' or '#', got \"" + p + "\"", path);
      if (p == "/healthz")
        return make_error(ErrorCode::kInvalidConfig, "\"/healthz\" is reserved for the health check", path);
      out.path = p;
    } else if (key == "tls") {
      if (it.value().is_null()) continue;
      auto tls = parse_tls(it.value(), path);
      if (!tls) return tls.error();
      out.tls = *tls;
    } else if (key == "auth") {
      if (it.value().is_null()) continue;
      auto auth = parse_auth(it.value(), path);
      if (!auth) return auth.error();
      out.auth = *auth;
    } else {
      std::string msg = "unknown key '" + key + "'";
      const auto best = sdk::closest_match(key, known);
      msg += best ? "; did you mean '" + *best + "'?" : "; the metrics sink accepts 'listen', 'path', 'tls' and 'auth'";
      return make_error(ErrorCode::kInvalidConfig, msg, path);
    }
  }
  return out;
}

}  // namespace wva::plugins::metrics
