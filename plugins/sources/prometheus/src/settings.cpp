#include "settings.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "wva/sdk/duration.h"

namespace wva::prometheus {
namespace {

using nlohmann::json;
using sdk::ErrorCode;

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = {"url",
                                                "caFile",
                                                "certFile",
                                                "keyFile",
                                                "serverName",
                                                "insecureSkipVerify",
                                                "tokenFile",
                                                "headers",
                                                "params",
                                                "timeout",
                                                "retries",
                                                "backoff",
                                                "maxBackoff",
                                                "staleAfter",
                                                "namespaces",
                                                "labels",
                                                "window",
                                                "rateWindow",
                                                "modelMatcherLimit",
                                                "batch",
                                                "queries",
                                                "recordingRules",
                                                "maxResponseBytes",
                                                "discoveryQuery"};
  return keys;
}

bool valid_label_name(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool ok = std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c));
    if (!ok) return false;
  }
  return true;
}

bool valid_header_name(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (!(std::isalnum(c) || c == '-' || c == '_')) return false;
  }
  return true;
}

bool has_ctl(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Validator {
 public:
  explicit Validator(std::string base) : base_(std::move(base)) {}

  std::string at(const std::string& key) const { return base_.empty() ? key : base_ + "." + key; }
  void error(const std::string& path, const std::string& message) { errors_.push_back({path, message}); }
  bool ok() const { return errors_.empty(); }

  sdk::Error to_error() const {
    if (errors_.size() == 1) return sdk::make_error(ErrorCode::kInvalidConfig, errors_[0].second, errors_[0].first);
    std::string msg = std::to_string(errors_.size()) + " errors:";
    for (const auto& [p, m] : errors_) msg += "\n  " + p + ": " + m;
    return sdk::make_error(ErrorCode::kInvalidConfig, msg, base_);
  }

  std::optional<std::string> string(const json& v, const std::string& path, bool allow_empty = false) {
    if (!v.is_string()) {
      error(path, "must be a string");
      return std::nullopt;
    }
    auto s = v.get<std::string>();
    if (s.empty() && !allow_empty) {
      error(path, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<Millis> duration(const json& v, const std::string& path, Millis min, Millis max) {
    if (!v.is_string()) {
      error(path, "must be a duration string such as \"10s\" or \"500ms\"");
      return std::nullopt;
    }
    auto d = parse_duration(v.get<std::string>());
    if (!d) {
      std::string msg(1, '"');
      msg += v.get<std::string>();
      msg += "\" is not a duration (use e.g. \"10s\", \"500ms\", \"1m30s\")";
      error(path, msg);
      return std::nullopt;
    }
    if (*d < min || *d > max) {
      error(path, "must be between " + std::to_string(min.count()) + "ms and " + std::to_string(max.count()) +
                      "ms, got " + v.get<std::string>());
      return std::nullopt;
    }
    return d;
  }

  std::optional<long long> integer(const json& v, const std::string& path, long long min, long long max) {
    if (!v.is_number_integer()) {
      error(path, "must be an integer");
      return std::nullopt;
    }
    const long long x = v.get<long long>();
    if (x < min || x > max) {
      error(path,
            "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(x));
      return std::nullopt;
    }
    return x;
  }

  std::optional<bool> boolean(const json& v, const std::string& path) {
    if (!v.is_boolean()) {
      error(path, "must be true or false");
      return std::nullopt;
    }
    return v.get<bool>();
  }

  std::optional<std::map<std::string, std::string>> string_map(const json& v, const std::string& path) {
    if (!v.is_object()) {
      error(path, "must be a map of strings");
      return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (auto& [k, val] : v.items()) {
      if (!val.is_string()) {
        error(path + "." + k, "must be a string");
        continue;
      }
      out[k] = val.get<std::string>();
    }
    return out;
  }

 private:
  std::string base_;
  std::vector<std::pair<std::string, std::string>> errors_;
};

}  // namespace

SourceConfig::SourceConfig() {
  for (std::size_t k = 0; k < kSignalCount; ++k) templates[k] = default_template(static_cast<Signal>(k));
}

std::optional<Millis> parse_duration(const std::string& text) {
  // The SDK's grammar, less fractions: the text also goes into PromQL, whose durations are whole.
  if (text.find('.') != std::string::npos) return std::nullopt;
  auto parsed = sdk::parse_duration(text);
  if (!parsed.ok() || text == "0") return std::nullopt;
  return *parsed;
}

sdk::Result<SourceConfig> parse_config(const nlohmann::json& config, const std::string& path) {
  Validator v(path);
  SourceConfig c;
  if (!config.is_object()) {
    v.error(path, "must be a map with at least \"url\"");
    return v.to_error();
  }
  for (auto& [key, value] : config.items()) {
    const auto& keys = known_keys();
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      v.error(v.at(key), "unknown setting \"" + key + "\"" + did_you_mean(key, keys));
  }
  auto get = [&](const char* key) -> const json* {
    auto it = config.find(key);
    return it == config.end() || it->is_null() ? nullptr : &*it;
  };

  bool https = false;
  if (const json* u = get("url")) {
    if (auto s = v.string(*u, v.at("url"))) {
      const std::string l = lower(*s);
      std::string rest;
      if (l.rfind("https://", 0) == 0) {
        https = true;
        rest = s->substr(8);
      } else if (l.rfind("http://", 0) == 0) {
        rest = s->substr(7);
      } else {
        v.error(v.at("url"), "must start with http:// or https://, got \"" + *s + "\"");
      }
      if (l.rfind("http", 0) == 0 && (rest.empty() || rest[0] == '/' || rest[0] == ':'))
        v.error(v.at("url"), "has no host: \"" + *s + "\"");
      else if (s->find_first_of("?# ") != std::string::npos || has_ctl(*s))
        v.error(v.at("url"), "must be a plain base URL without query, fragment or spaces");
      while (!s->empty() && s->back() == '/') s->pop_back();
      c.url = *s;
    }
  } else {
    v.error(v.at("url"), "is required (e.g. \"https://prometheus-k8s.monitoring:9091\")");
  }

  auto file = [&](const char* key, std::optional<std::string>& out) {
    if (const json* f = get(key)) out = v.string(*f, v.at(key));
  };
  file("caFile", c.ca_file);
  file("certFile", c.cert_file);
  file("keyFile", c.key_file);
  file("tokenFile", c.token_file);
  if (const json* f = get("serverName")) {
    c.server_name = v.string(*f, v.at("serverName"));
    if (c.server_name && c.server_name->find_first_of(":/ ") != std::string::npos) {
      v.error(v.at("serverName"), "must be a host name without port or path");
      c.server_name.reset();
    }
  }
  if (c.cert_file.has_value() != c.key_file.has_value())
    v.error(v.at(c.cert_file ? "keyFile" : "certFile"), "certFile and keyFile must be set together");
  if (!c.url.empty() && !https) {
    for (const char* key : {"caFile", "certFile", "keyFile", "serverName"})
      if (get(key)) v.error(v.at(key), std::string("needs an https:// url"));
  }
  if (const json* f = get("insecureSkipVerify")) {
    if (auto b = v.boolean(*f, v.at("insecureSkipVerify"))) c.insecure_skip_verify = *b;
  }

  if (const json* h = get("headers")) {
    if (auto m = v.string_map(*h, v.at("headers"))) {
      for (const auto& [k, val] : *m) {
        if (!valid_header_name(k)) v.error(v.at("headers." + k), "is not a valid HTTP header name");
        else if (has_ctl(val)) v.error(v.at("headers." + k), "must not contain control characters");
        else if (lower(k) == "authorization" && c.token_file)
          v.error(v.at("headers." + k), "conflicts with tokenFile (the token is sent as Authorization)");
      }
      c.headers = *m;
    }
  }
  if (const json* p = get("params")) {
    if (auto m = v.string_map(*p, v.at("params"))) {
      for (const auto& [k, val] : *m)
        if (k == "query" || k == "time" || k.empty()) v.error(v.at("params." + k), "is set by the source itself");
      c.params = *m;
    }
  }

  if (const json* d = get("timeout"))
    if (auto x = v.duration(*d, v.at("timeout"), Millis(1), Millis(600000))) c.timeout = *x;
  if (const json* d = get("retries"))
    if (auto x = v.integer(*d, v.at("retries"), 0, 10)) c.retries = static_cast<int>(*x);
  if (const json* d = get("backoff"))
    if (auto x = v.duration(*d, v.at("backoff"), Millis(0), Millis(60000))) c.backoff = *x;
  if (const json* d = get("maxBackoff"))
    if (auto x = v.duration(*d, v.at("maxBackoff"), Millis(0), Millis(300000))) c.max_backoff = *x;
  if (const json* d = get("staleAfter"))
    if (auto x = v.duration(*d, v.at("staleAfter"), Millis(1000), Millis(86400000))) c.stale_after = *x;
  if (const json* d = get("maxResponseBytes"))
    if (auto x = v.integer(*d, v.at("maxResponseBytes"), 1024, 4LL << 30))
      c.max_response_bytes = static_cast<std::size_t>(*x);
  if (const json* d = get("modelMatcherLimit"))
    if (auto x = v.integer(*d, v.at("modelMatcherLimit"), 0, 100000))
      c.model_matcher_limit = static_cast<std::size_t>(*x);
  if (const json* d = get("batch"))
    if (auto x = v.boolean(*d, v.at("batch"))) c.batch = *x;
  if (const json* d = get("discoveryQuery")) {
    std::string unknown;
    if (!d->is_string()) v.error(v.at("discoveryQuery"), "must be a PromQL string (\"\" turns model discovery off)");
    else if (!render_template(d->get<std::string>(), TemplateValues{}, &unknown))
      v.error(v.at("discoveryQuery"), "unknown placeholder " + unknown + " (known: {{by}}, {{nsSelector}})");
    else c.discovery_query = d->get<std::string>();
  }
  for (auto [key, out] : {std::pair{"window", &c.window}, std::pair{"rateWindow", &c.rate_window}}) {
    if (const json* d = get(key))
      if (v.duration(*d, v.at(key), Millis(1000), Millis(86400000))) *out = d->get<std::string>();
  }

  if (const json* n = get("namespaces")) {
    if (!n->is_array()) {
      v.error(v.at("namespaces"), "must be a list of namespace names");
    } else {
      for (std::size_t i = 0; i < n->size(); ++i)
        if (auto s = v.string((*n)[i], v.at("namespaces[" + std::to_string(i) + "]"))) c.namespaces.insert(*s);
    }
  }

  if (const json* l = get("labels")) {
    if (!l->is_object()) {
      v.error(v.at("labels"), "must be a map with keys namespace, model, pod");
    } else {
      const std::vector<std::string> label_keys = {"namespace", "model", "pod"};
      for (auto& [k, val] : l->items()) {
        const std::string p = v.at("labels." + k);
        std::string* out = k == "namespace" ? &c.labels.ns
                           : k == "model"   ? &c.labels.model
                           : k == "pod"     ? &c.labels.pod
                                            : nullptr;
        if (!out) {
          v.error(p, "unknown label role \"" + k + "\"" + did_you_mean(k, label_keys));
          continue;
        }
        if (auto s = v.string(val, p)) {
          if (!valid_label_name(*s)) v.error(p, "\"" + *s + "\" is not a valid Prometheus label name");
          else *out = *s;
        }
      }
    }
  }

  if (const json* q = get("queries")) {
    if (!q->is_object()) {
      v.error(v.at("queries"), "must be a map from signal name to PromQL template");
    } else {
      const TemplateValues probe = make_template_values(LabelNames{}, {}, {}, 0, "1m", "1m");
      for (auto& [k, val] : q->items()) {
        const std::string p = v.at("queries." + k);
        auto sig = signal_from_name(k);
        if (!sig) {
          v.error(p, "unknown signal \"" + k + "\"" + did_you_mean(k, signal_names()));
          continue;
        }
        auto s = v.string(val, p, /*allow_empty=*/true);
        if (!s) continue;
        std::string unknown;
        if (!render_template(*s, probe, &unknown)) {
          std::string known;
          for (auto ph : kPlaceholders) known += (known.empty() ? "" : ", ") + std::string(ph);
          v.error(p, "unknown placeholder " + unknown + " (known: " + known + ")");
          continue;
        }
        c.templates[static_cast<std::size_t>(*sig)] = *s;
        c.custom_template[static_cast<std::size_t>(*sig)] = true;
      }
      if (c.templates[static_cast<std::size_t>(Signal::kKvCacheUsage)].empty() &&
          c.templates[static_cast<std::size_t>(Signal::kWaiting)].empty() &&
          c.templates[static_cast<std::size_t>(Signal::kRunning)].empty())
        v.error(v.at("queries"), "kvCacheUsage, waiting and running cannot all be disabled");
    }
  }

  if (const json* r = get("recordingRules")) {
    const std::vector<std::string> modes = {"auto", "on", "off"};
    if (auto s = v.string(*r, v.at("recordingRules"))) {
      if (*s == "auto") c.recording_rules = RecordingRules::kAuto;
      else if (*s == "on") c.recording_rules = RecordingRules::kOn;
      else if (*s == "off") c.recording_rules = RecordingRules::kOff;
      else v.error(v.at("recordingRules"), "must be auto, on or off, not \"" + *s + "\"" + did_you_mean(*s, modes));
    }
  }
  if (c.recording_rules == RecordingRules::kOn) {
    if (auto why = recorded_series_unusable(c))
      v.error(v.at("recordingRules"), "on: the recorded series cannot stand for this source's queries: " + *why);
  }

  if (!v.ok()) return v.to_error();
  return c;
}

std::optional<std::string> recorded_series_unusable(const SourceConfig& c) {
  const LabelNames defaults;
  if (c.labels.ns != defaults.ns || c.labels.model != defaults.model || c.labels.pod != defaults.pod)
    return std::string("the rules group by namespace, model_name and pod, and labels differ");
  if (parse_duration(c.window) != Millis(60000) || parse_duration(c.rate_window) != Millis(60000))
    return std::string("the rules use 1m windows, and window or rateWindow differ");
  return std::nullopt;
}

}  // namespace wva::prometheus
