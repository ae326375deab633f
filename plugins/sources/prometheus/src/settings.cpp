#include "settings.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "wva/sdk/duration.h"

namespace wva::prometheus {
namespace {

using nlohmann::json;
using sdk::ErrorCode;

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

// The rules a schema cannot say, on validated settings: each broken one with its path.
class Rules {
 public:
  explicit Rules(std::string base) : base_(std::move(base)) {}
  std::string at(const std::string& key) const { return base_.empty() ? key : base_ + "." + key; }
  void error(const std::string& key, const std::string& message) {
    errors_.push_back(sdk::make_error(ErrorCode::kInvalidConfig, message, at(key)));
  }
  std::vector<sdk::Error> take() { return std::move(errors_); }

 private:
  std::string base_;
  std::vector<sdk::Error> errors_;
};

Millis millis(const sdk::SettingsReader& r, const char* key) { return r.duration(key); }

// Reads validated settings into `c` and checks what the schema cannot say into `rules`.
void apply(const json& validated, SourceConfig& c, Rules& rules) {
  const sdk::SettingsReader r(validated);
  bool https = false;
  {
    std::string s = r.string("url");
    const std::string l = lower(s);
    std::string rest;
    if (l.rfind("https://", 0) == 0) {
      https = true;
      rest = s.substr(8);
    } else if (l.rfind("http://", 0) == 0) {
      rest = s.substr(7);
    } else {
      rules.error("url", "must start with http:// or https://, got \"" + s + "\"");
    }
    if (l.rfind("http", 0) == 0 && (rest.empty() || rest[0] == '/' || rest[0] == ':'))
      rules.error("url", "has no host: \"" + s + "\"");
    else if (s.find_first_of("?# ") != std::string::npos || has_ctl(s))
      rules.error("url", "must be a plain base URL without query, fragment or spaces");
    while (!s.empty() && s.back() == '/') s.pop_back();
    c.url = s;
  }
  c.ca_file = r.optional<std::string>("caFile");
  c.cert_file = r.optional<std::string>("certFile");
  c.key_file = r.optional<std::string>("keyFile");
  c.token_file = r.optional<std::string>("tokenFile");
  c.server_name = r.optional<std::string>("serverName");
  if (c.server_name && c.server_name->find_first_of(":/ ") != std::string::npos)
    rules.error("serverName", "must be a host name without port or path");
  if (c.cert_file.has_value() != c.key_file.has_value())
    rules.error(c.cert_file ? "keyFile" : "certFile", "certFile and keyFile must be set together");
  if (!https) {
    for (const char* key : {"caFile", "certFile", "keyFile", "serverName"})
      if (r.has(key)) rules.error(key, "needs an https:// url");
  }
  c.insecure_skip_verify = r.boolean("insecureSkipVerify");

  if (r.has("headers")) {
    for (const auto& [k, val] : r.raw("headers").items()) {
      const std::string value = val.get<std::string>();
      if (!valid_header_name(k)) rules.error("headers." + k, "is not a valid HTTP header name");
      else if (has_ctl(value)) rules.error("headers." + k, "must not contain control characters");
      else if (lower(k) == "authorization" && c.token_file)
        rules.error("headers." + k, "conflicts with tokenFile (the token is sent as Authorization)");
      c.headers[k] = value;
    }
  }
  if (r.has("params")) {
    for (const auto& [k, val] : r.raw("params").items()) {
      if (k == "query" || k == "time" || k.empty()) rules.error("params." + k, "is set by the source itself");
      c.params[k] = val.get<std::string>();
    }
  }

  c.timeout = millis(r, "timeout");
  c.retries = r.int32("retries");
  c.backoff = millis(r, "backoff");
  c.max_backoff = millis(r, "maxBackoff");
  c.stale_after = millis(r, "staleAfter");
  c.max_response_bytes = static_cast<std::size_t>(r.integer("maxResponseBytes"));
  c.model_matcher_limit = static_cast<std::size_t>(r.integer("modelMatcherLimit"));
  c.batch = r.boolean("batch");
  {
    std::string unknown;
    const std::string q = r.string("discoveryQuery");
    if (!render_template(q, TemplateValues{}, &unknown))
      rules.error("discoveryQuery", "unknown placeholder " + unknown + " (known: {{by}}, {{nsSelector}})");
    else c.discovery_query = q;
  }
  for (auto [key, out] : {std::pair{"window", &c.window}, std::pair{"rateWindow", &c.rate_window}}) {
    const std::string text = r.string(key);
    // The text goes into PromQL, whose durations are whole.
    if (!parse_duration(text)) rules.error(key, "\"" + text + "\" is not a whole PromQL duration (e.g. 1m, 90s)");
    else *out = text;
  }
  if (r.has("namespaces"))
    for (const auto& n : r.raw("namespaces")) c.namespaces.insert(n.get<std::string>());

  const sdk::SettingsReader labels = r.child("labels");
  for (auto [key, out] :
       {std::pair{"namespace", &c.labels.ns}, std::pair{"model", &c.labels.model}, std::pair{"pod", &c.labels.pod}}) {
    const std::string name = labels.string(key);
    if (!valid_label_name(name))
      rules.error(std::string("labels.") + key, "\"" + name + "\" is not a valid Prometheus label name");
    else *out = name;
  }

  if (r.has("queries")) {
    const TemplateValues probe = make_template_values(LabelNames{}, {}, {}, 0, "1m", "1m");
    for (const auto& [k, val] : r.raw("queries").items()) {
      auto sig = signal_from_name(k);
      if (!sig) continue;  // the schema names every signal
      const std::string text = val.get<std::string>();
      std::string unknown;
      if (!render_template(text, probe, &unknown)) {
        std::string known;
        for (auto ph : kPlaceholders) known += (known.empty() ? "" : ", ") + std::string(ph);
        rules.error("queries." + k, "unknown placeholder " + unknown + " (known: " + known + ")");
        continue;
      }
      c.templates[static_cast<std::size_t>(*sig)] = text;
      c.custom_template[static_cast<std::size_t>(*sig)] = true;
    }
    if (c.templates[static_cast<std::size_t>(Signal::kKvCacheUsage)].empty() &&
        c.templates[static_cast<std::size_t>(Signal::kWaiting)].empty() &&
        c.templates[static_cast<std::size_t>(Signal::kRunning)].empty())
      rules.error("queries", "kvCacheUsage, waiting and running cannot all be disabled");
  }

  const std::string mode = r.string("recordingRules");
  c.recording_rules = mode == "on" ? RecordingRules::kOn : mode == "off" ? RecordingRules::kOff : RecordingRules::kAuto;
  c.prompt_spread_interval = millis(r, "promptSpreadInterval");
  if (c.recording_rules == RecordingRules::kOn) {
    if (auto why = recorded_series_unusable(c))
      rules.error("recordingRules", "on: the recorded series cannot stand for this source's queries: " + *why);
  }
}

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

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  const SourceConfig d;
  const LabelNames labels;  // duration bounds below are in milliseconds
  std::vector<Setting> queries;
  for (const auto& name : signal_names())
    queries.push_back(Setting::string(name, std::nullopt,
                                      "PromQL template of this signal; not set: the built-in one; "
                                      "\"\" disables it."));
  return {
      "Reads the vLLM fleet's metrics from Prometheus (or Thanos, Cortex, Mimir): one query per signal "
      "group per cycle, retried with backoff.",
      {Setting::string("url", std::nullopt, "Base URL: http(s)://host[:port][/path prefix].").non_empty().is_required(),
       Setting::string("caFile", std::nullopt, "PEM CA bundle that verifies the server (https).").non_empty(),
       Setting::string("certFile", std::nullopt, "PEM client certificate (https; with keyFile).").non_empty(),
       Setting::string("keyFile", std::nullopt, "PEM key of certFile (https; with certFile).").non_empty(),
       Setting::string("serverName", std::nullopt, "TLS name to verify and send as SNI (https).").non_empty(),
       Setting::boolean("insecureSkipVerify", d.insecure_skip_verify, "Skip TLS verification (logged as a warning)."),
       Setting::string("tokenFile", std::nullopt, "Bearer token file, re-read on change; sent as Authorization.")
           .non_empty(),
       Setting::map("headers", Setting::string("header", std::nullopt, "Header value."),
                    "Extra HTTP headers, e.g. X-Scope-OrgID for Cortex / Mimir."),
       Setting::map("params", Setting::string("param", std::nullopt, "Parameter value."),
                    "Extra form parameters, e.g. dedup: \"true\" for Thanos."),
       Setting::duration("timeout", "10s", "Per attempt.").in_range(1, 600000),
       Setting::integer("retries", d.retries, "Extra attempts after the first.").in_range(0, 10),
       Setting::duration("backoff", "500ms", "First pause between attempts, doubled each retry.").in_range(0, 60000),
       Setting::duration("maxBackoff", "4s", "Longest pause between attempts.").in_range(0, 300000),
       Setting::duration("staleAfter", "2m", "A sample older than this is missing, never read as 0.")
           .in_range(1000, 86400000),
       Setting::list("namespaces", Setting::string("namespace", std::nullopt, "Namespace.").non_empty(),
                     "Namespaces queried; not set: those of the pipeline's models."),
       Setting::object("labels",
                       {Setting::string("namespace", labels.ns, "Label of the namespace."),
                        Setting::string("model", labels.model, "Label of the model name."),
                        Setting::string("pod", labels.pod, "Label of the pod.")},
                       "The label names the series carry."),
       Setting::duration("window", d.window, "Window of the windowed saturation queries (whole: it goes into PromQL).")
           .in_range(1000, 86400000),
       Setting::duration("rateWindow", d.rate_window, "Window of rate() in the load queries (whole).")
           .in_range(1000, 86400000),
       Setting::integer("modelMatcherLimit", static_cast<std::int64_t>(d.model_matcher_limit),
                        "Add a model_name matcher when the pipeline has at most this many models.")
           .in_range(0, 100000),
       Setting::boolean("batch", d.batch, "One `or` query per signal group instead of one per signal."),
       Setting::object("queries", std::move(queries), "PromQL templates that replace the built-in ones."),
       Setting::enumeration("recordingRules", {"auto", "on", "off"}, "auto",
                            "Read the chart's recorded series: auto (when a probe finds them), on, off."),
       Setting::duration("promptSpreadInterval", "5m",
                         "Read the prompt-length histogram (promptTokensBucket) this often; in between the last "
                         "spread is kept. 0s: every cycle.")
           .in_range(0, 86400000),
       Setting::integer("maxResponseBytes", static_cast<std::int64_t>(d.max_response_bytes),
                        "Largest response body read; a larger one is an error.")
           .in_range(1024, static_cast<double>(4LL << 30)),
       Setting::string("discoveryQuery", d.discovery_query,
                       "Which pods serve which model ({{by}}, {{nsSelector}}); \"\" turns discovery off.")}};
}

std::vector<sdk::Error> check_settings(const nlohmann::json& validated, const std::string& path) {
  Rules rules(path);
  SourceConfig unused;
  apply(validated, unused, rules);
  return rules.take();
}

SourceConfig read_settings(const nlohmann::json& validated) {
  Rules unused("");
  SourceConfig c;
  apply(validated, c, unused);
  return c;
}

sdk::ParsedSettings<SourceConfig> parse_settings(const nlohmann::json& config, const std::string& path) {
  return sdk::parse_settings_with<SourceConfig>(settings_schema(), config, path, check_settings, read_settings);
}

sdk::Result<SourceConfig> parse_config(const nlohmann::json& config, const std::string& path) {
  auto parsed = parse_settings(config, path);
  if (parsed.ok()) return std::move(*parsed.value);
  if (parsed.errors.size() == 1) return parsed.errors.front();
  std::string msg = std::to_string(parsed.errors.size()) + " errors:";
  for (const auto& e : parsed.errors) msg += "\n  " + e.path + ": " + e.message;
  return sdk::make_error(ErrorCode::kInvalidConfig, msg, path);
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
