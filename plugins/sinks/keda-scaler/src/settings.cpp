#include "settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>
#include <vector>

namespace wva::plugins::keda {
namespace {

using nlohmann::json;
using sdk::ErrorCode;

const char* kListenHelp = "expected \"host:port\" or \":port\" (all interfaces), e.g. \"127.0.0.1:9091\" or \":9091\"";

bool has_space_or_ctl(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isspace(u) || u < 0x20 || u == 0x7f;
  });
}

}  // namespace

std::string ListenAddress::to_string() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

sdk::Result<ListenAddress> parse_listen(const json& value, const std::string& path) {
  if (value.is_number_integer()) {
    const long long p = value.get<long long>();
    if (p < 0 || p > 65535)
      return sdk::make_error(ErrorCode::kInvalidConfig, "port " + std::to_string(p) + " is out of range 0..65535",
                             path);
    return ListenAddress{"0.0.0.0", static_cast<int>(p)};
  }
  if (!value.is_string())
    return sdk::make_error(ErrorCode::kInvalidConfig, std::string(kListenHelp) + ", got " + value.dump(), path);
  const std::string text = value.get<std::string>();
  if (text.size() > 300) return sdk::make_error(ErrorCode::kInvalidConfig, "is longer than 300 characters", path);
  const auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return sdk::make_error(ErrorCode::kInvalidConfig, std::string(kListenHelp) + ", got \"" + text + "\"", path);
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return sdk::make_error(ErrorCode::kInvalidConfig,
                           "IPv6 addresses need brackets, e.g. \"[::1]:9091\"; got \"" + text + "\"", path);
  }
  if (host.empty()) host = "0.0.0.0";
  if (has_space_or_ctl(host) || host.find_first_of("[]/") != std::string::npos)
    return sdk::make_error(ErrorCode::kInvalidConfig, "host \"" + host + "\" is not a host name or address", path);
  int port = -1;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535)
    return sdk::make_error(ErrorCode::kInvalidConfig,
                           "port \"" + port_text + "\" is not a number from 0 to 65535 (" + kListenHelp + ")", path);
  return ListenAddress{host, port};
}

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {
      "Serves KEDA's external scaler gRPC API (and external-push) from the decisions of the pipelines.",
      {Setting::custom("listen", "127.0.0.1:9091", "\"host:port\", \":port\" (every interface) or a port number",
                       "Where the gRPC server listens; port 0 picks a free port."),
       Setting::object(
           "tls",
           {Setting::string("certFile", std::nullopt, "PEM server certificate (chain).").non_empty().is_required(),
            Setting::string("keyFile", std::nullopt, "PEM private key of certFile.").non_empty().is_required(),
            Setting::string("clientCAFile", std::nullopt, "Clients must present a certificate this CA signed.")
                .non_empty()},
           "TLS; not set: plaintext. The files are read by start().")
           .or_null(),
       Setting::integer("maxStreams", 64, "Concurrent StreamIsActive streams; more are refused (RESOURCE_EXHAUSTED).")
           .in_range(1, kMaxStreamsLimit)}};
}

std::vector<sdk::Error> check_settings(const json& validated, const std::string& config_path) {
  std::vector<sdk::Error> errors;
  if (auto l = parse_listen(validated.at("listen"), config_path + ".listen"); !l.ok()) errors.push_back(l.error());
  if (auto t = validated.find("tls"); t != validated.end() && t->is_object())
    for (const char* key : {"certFile", "keyFile", "clientCAFile"})
      if (auto f = t->find(key); f != t->end() && f->is_string()) {
        const std::string& text = f->get_ref<const std::string&>();
        if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
          errors.push_back(
              sdk::make_error(ErrorCode::kInvalidConfig, "contains control characters", config_path + ".tls." + key));
      }
  return errors;
}

ScalerConfig read_settings(const json& validated) {
  const sdk::SettingsReader r(validated);
  ScalerConfig out;
  if (auto l = parse_listen(r.raw("listen"), "listen"); l.ok()) out.listen = *l;
  if (r.has("tls")) {
    const sdk::SettingsReader t = r.child("tls");
    TlsFiles files{t.string("certFile"), t.string("keyFile"), t.optional<std::string>("clientCAFile")};
    out.tls = std::move(files);
  }
  out.max_streams = r.int32("maxStreams");
  return out;
}

sdk::ParsedSettings<ScalerConfig> parse_config(const json& config, const std::string& config_path) {
  return sdk::parse_settings_with<ScalerConfig>(settings_schema(), config, config_path, check_settings, read_settings);
}

}  // namespace wva::plugins::keda
