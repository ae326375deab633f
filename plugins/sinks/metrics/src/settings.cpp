#include "settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace wva::plugins::metrics {
namespace {

using sdk::ErrorCode;
using sdk::make_error;

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

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {
      "Serves the process's Prometheus registry (WVA's recommendations and its own metrics) over HTTP or HTTPS.",
      {Setting::custom("listen", ":8443",
                       "\"host:port\", \":port\" (every interface), a port number, or \"0\" "
                       "(no server)",
                       "Where the HTTP server listens; port 0 picks a free port."),
       Setting::string("path", "/metrics", "The scrape path: starts with '/', no spaces, '?' or '#'; not /healthz."),
       Setting::object(
           "tls",
           {Setting::string("certFile", std::nullopt, "PEM server certificate (chain).").non_empty().is_required(),
            Setting::string("keyFile", std::nullopt, "PEM private key of certFile.").non_empty().is_required(),
            Setting::duration("reloadInterval", "10s", "How often the files are checked for renewal.")
                .in_range(100, 24 * 3'600'000.0)},
           "HTTPS; not set: plain HTTP.")
           .or_null(),
       Setting::object(
           "auth",
           {Setting::enumeration("mode", {"none", "tokenReview"}, "none",
                                 "tokenReview: a bearer token checked by the API's TokenReview and "
                                 "SubjectAccessReview."),
            Setting::duration("reviewTimeout", "5s", "Time a review may take.").in_range(100, 60'000),
            Setting::duration("cacheTTL", "1m", "How long a review's answer is reused.").in_range(0, 3'600'000)},
           "Who may scrape.")
           .or_null()}};
}

std::vector<sdk::Error> check_settings(const nlohmann::json& validated, const std::string& config_path) {
  std::vector<sdk::Error> errors;
  if (auto l = parse_listen(validated.at("listen"), config_path + ".listen"); !l.ok()) errors.push_back(l.error());
  const std::string p = validated.at("path").get<std::string>();
  const bool bad_char = std::any_of(p.begin(), p.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '?' || c == '#' || c == '\0';
  });
  if (p.empty() || p.front() != '/' || bad_char)
    errors.push_back(make_error(ErrorCode::kInvalidConfig,
                                "must start with '/' and hold no spaces, '?' or '#', got \"" + p + "\"",
                                config_path + ".path"));
  else if (p == "/healthz")
    errors.push_back(
        make_error(ErrorCode::kInvalidConfig, "\"/healthz\" is reserved for the health check", config_path + ".path"));
  return errors;
}

MetricsConfig read_settings(const nlohmann::json& validated) {
  const sdk::SettingsReader r(validated);
  MetricsConfig out;
  if (auto l = parse_listen(r.raw("listen"), "listen"); l.ok()) out.listen = *l;
  out.path = r.string("path");
  if (r.has("tls")) {
    const sdk::SettingsReader t = r.child("tls");
    out.tls = TlsConfig{t.string("certFile"), t.string("keyFile"), t.duration("reloadInterval")};
  }
  if (r.has("auth")) {
    const sdk::SettingsReader a = r.child("auth");
    out.auth = AuthConfig{a.string("mode") == "tokenReview", a.duration("reviewTimeout"), a.duration("cacheTTL")};
  }
  return out;
}

sdk::ParsedSettings<MetricsConfig> parse_config(const sdk::Config& config, const std::string& config_path) {
  return sdk::parse_settings_with<MetricsConfig>(settings_schema(), config, config_path, check_settings, read_settings);
}

}  // namespace wva::plugins::metrics
