#include "settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>
#include <vector>

#include "wva/sdk/suggest.h"

namespace wva::plugins::keda {
namespace {

using nlohmann::json;
using sdk::ErrorCode;

const char* kListenHelp = "expected \"host:port\" or \":port\" (all interfaces), e.g. \"127.0.0.1:9091\" or \":9091\"";

const std::vector<std::string>& top_keys() {
  static const std::vector<std::string> keys = {"listen", "tls", "maxStreams"};
  return keys;
}
const std::vector<std::string>& tls_keys() {
  static const std::vector<std::string> keys = {"certFile", "keyFile", "clientCAFile"};
  return keys;
}

bool has_space_or_ctl(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isspace(u) || u < 0x20 || u == 0x7f;
  });
}

class Validator {
 public:
  void error(const std::string& path, const std::string& message) { errors_.emplace_back(path, message); }
  bool ok() const { return errors_.empty(); }
  sdk::Error to_error(const std::string& base) const {
    if (errors_.size() == 1) return sdk::make_error(ErrorCode::kInvalidConfig, errors_[0].second, errors_[0].first);
    std::string msg = std::to_string(errors_.size()) + " errors:";
    for (const auto& [p, m] : errors_) msg += "\n  " + p + ": " + m;
    return sdk::make_error(ErrorCode::kInvalidConfig, msg, base);
  }

  // A non-empty file path without control characters.
  std::optional<std::string> file(const json& v, const std::string& path) {
    if (!v.is_string()) {
      error(path, "must be a file path (string), got " + v.dump());
      return std::nullopt;
    }
    std::string s = v.get<std::string>();
    if (s.empty()) {
      error(path, "must not be empty");
      return std::nullopt;
    }
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      error(path, "contains control characters");
      return std::nullopt;
    }
    return s;
  }

  void unknown_keys(const json& object, const std::vector<std::string>& known, const std::string& base,
                    const std::string& accepted) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
      const auto best = sdk::closest_match(it.key(), known);
      error(base + "." + it.key(), "unknown setting \"" + it.key() + "\"" +
                                       (best ? "; did you mean \"" + *best + "\"?" : "; accepted: " + accepted));
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> errors_;
};

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

sdk::Result<ScalerConfig> parse_config(const json& config, const std::string& config_path) {
  ScalerConfig out;
  if (config.is_null()) return out;
  if (!config.is_object())
    return sdk::make_error(ErrorCode::kInvalidConfig,
                           "expected a mapping (e.g. {listen: \":9091\"}), got " + std::string(config.type_name()),
                           config_path);
  Validator v;
  v.unknown_keys(config, top_keys(), config_path, "listen, tls, maxStreams");
  auto get = [](const json& object, const char* key) -> const json* {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  };

  if (const json* l = get(config, "listen")) {
    auto parsed = parse_listen(*l, config_path + ".listen");
    if (parsed) out.listen = *parsed;
    else v.error(parsed.error().path, parsed.error().message);
  }

  if (const json* m = get(config, "maxStreams")) {
    const std::string path = config_path + ".maxStreams";
    if (!m->is_number_integer()) {
      v.error(path, "must be an integer from 1 to " + std::to_string(kMaxStreamsLimit) + ", got " + m->dump());
    } else {
      const long long n = m->get<long long>();
      if (n < 1 || n > kMaxStreamsLimit)
        v.error(path, "must be from 1 to " + std::to_string(kMaxStreamsLimit) + ", got " + std::to_string(n));
      else out.max_streams = static_cast<int>(n);
    }
  }

  if (const json* t = get(config, "tls")) {
    const std::string base = config_path + ".tls";
    if (!t->is_object()) {
      v.error(base, "must be a mapping {certFile, keyFile[, clientCAFile]}, got " + t->dump());
    } else {
      v.unknown_keys(*t, tls_keys(), base, "certFile, keyFile, clientCAFile");
      TlsFiles files;
      bool complete = true;
      for (const auto& [key, field] :
           {std::pair<const char*, std::string*>{"certFile", &files.cert_file}, {"keyFile", &files.key_file}}) {
        const std::string path = base + "." + key;
        if (const json* f = get(*t, key)) {
          if (auto s = v.file(*f, path)) *field = *s;
          else complete = false;
        } else {
          v.error(path, "is required with tls (PEM file)");
          complete = false;
        }
      }
      if (const json* ca = get(*t, "clientCAFile")) {
        if (auto s = v.file(*ca, base + ".clientCAFile")) files.client_ca_file = *s;
        else complete = false;
      }
      if (complete) out.tls = files;
    }
  }

  if (!v.ok()) return v.to_error(config_path);
  return out;
}

}  // namespace wva::plugins::keda
