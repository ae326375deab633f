#include "metrics_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "wva/sdk/suggest.h"

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

sdk::Result<MetricsConfig> parse_config(const sdk::Config& config, const std::string& config_path) {
  MetricsConfig out;
  if (config.is_null()) return out;
  if (!config.is_object())
    return make_error(
        ErrorCode::kInvalidConfig,
        "expected a mapping (e.g. {listen: \":8443\", path: /metrics}), got " + std::string(config.type_name()),
        config_path);
  const std::vector<std::string> known = {"listen", "path"};
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
    } else {
      std::string msg = "unknown key '" + key + "'";
      const auto best = sdk::closest_match(key, known);
      msg += best ? "; did you mean '" + *best + "'?" : "; the metrics sink accepts 'listen' and 'path'";
      return make_error(ErrorCode::kInvalidConfig, msg, path);
    }
  }
  return out;
}

}  // namespace wva::plugins::metrics
