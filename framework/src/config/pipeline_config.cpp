#include "config/pipeline_config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <set>

#include <yaml-cpp/yaml.h>  // to_yaml only: reading is sdk::yaml (bounded)

#include "config/duration.h"
#include "config/suggest.h"
#include "wva/sdk/util/yaml.h"

namespace wva::framework {

// ---------------------------------------------------------------------------------------------------
// Deadlines and restart back-off

EffectiveDeadlines PipelineConfig::effective_deadlines() const {
  using std::chrono::milliseconds;
  const milliseconds share = std::clamp<milliseconds>(interval / 2, std::chrono::seconds(5), std::chrono::seconds(30));
  return {deadlines.collect.value_or(std::min<milliseconds>(interval, std::chrono::seconds(10))),
          deadlines.prepare.value_or(share), deadlines.analyze.value_or(share), deadlines.publish.value_or(share)};
}

std::chrono::milliseconds EffectiveDeadlines::collect_grace() const {
  return std::clamp<std::chrono::milliseconds>(collect / 2, std::chrono::seconds(1), std::chrono::seconds(5));
}

std::chrono::milliseconds RestartBackoff::delay(unsigned attempt) const {
  auto d = initial;
  for (unsigned i = 0; i < attempt && d < max; ++i) d *= 2;
  return std::min(d, max);
}

// ---------------------------------------------------------------------------------------------------
// Globs and selectors

bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_text = 0;
  // Classic backtracking over the last '*': linear in practice, bounded by |pattern| * |text|.
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {
bool any_glob(const std::vector<std::string>& patterns, const std::string& text) {
  for (const auto& p : patterns)
    if (glob_match(p, text)) return true;
  return false;
}
}  // namespace

bool Selector::matches(const sdk::ModelKey& key, const sdk::Labels& labels) const {
  if (!namespaces.empty() && !any_glob(namespaces, key.ns)) return false;
  if (!model_ids.empty() && !any_glob(model_ids, key.model_id)) return false;
  for (const auto& [k, v] : va_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

const PipelineConfig* pipeline_for(const HostConfig& config, const sdk::ModelKey& key, const sdk::Labels& labels) {
  for (const auto& p : config.pipelines)
    if (p.selector.matches(key, labels)) return &p;
  return nullptr;
}

// ---------------------------------------------------------------------------------------------------
// YAML -> JSON

using sdk::yaml::plain_scalar_value;

// ---------------------------------------------------------------------------------------------------
// pipelines.yaml

namespace {

using YamlNode = sdk::yaml::Node;

const char* type_name(const YamlNode& n) { return n.type_name(); }

class Parser {
 public:
  Parser(std::string source_name, std::chrono::milliseconds default_interval)
      : source_(std::move(source_name)), default_interval_(default_interval) {}

  ConfigParse run(std::string_view text) {
    if (const InputLimits limits; text.size() > limits.max_file_bytes) {
      err(std::to_string(text.size()) + " bytes, more than the limit of " + std::to_string(limits.max_file_bytes) +
              " bytes",
          source_);
      return finish();
    }
    auto stream = sdk::yaml::load_all(text);
    if (!stream.ok()) {
      const auto& e = *stream.error;
      if (e.over_limit) {
        // A plugin's setting gets the setting's path (section.instance.setting), anything else the file's.
        const bool setting = e.path.size() >= 3 && (e.path[0] == "sources" || e.path[0] == "analyzers" ||
                                                    e.path[0] == "sinks" || e.path[0] == "combiners");
        err(e.message + " (" + source_ + ":" + std::to_string(e.line) + ")", setting ? e.path_string(3) : source_);
      } else {
        err(e.located(source_), "");
      }
      return finish();
    }
    YamlNode root = stream.documents.empty() ? YamlNode::null() : stream.documents.front();
    if (root.is_null() || !root.defined()) {
      err("the configuration is empty; at least one pipeline is required", "pipelines");
      return finish();
    }
    if (!root.is_mapping()) {
      // The whole document is wrong: its path is the document itself.
      err(std::string("the configuration must be a mapping of plugins, sources, analyzers, sinks, combiners and "
                      "pipelines, got ") +
              type_name(root) + at_line(root),
          source_);
      return finish();
    }
    static const std::vector<std::string> kTop = {"plugins", "sources", "analyzers", "sinks", "combiners", "pipelines"};
    YamlNode plugins, sources, analyzers, sinks, combiners, pipelines;
    for_each_key(root, "", kTop, [&](const std::string& key, const YamlNode& value, const std::string&) {
      if (key == "plugins") plugins = value;
      else if (key == "sources") sources = value;
      else if (key == "analyzers") analyzers = value;
      else if (key == "sinks") sinks = value;
      else if (key == "combiners") combiners = value;
      else pipelines = value;
    });
    parse_plugins(plugins);
    parse_instances(sources, "sources", config_.sources);
    parse_instances(analyzers, "analyzers", config_.analyzers);
    parse_instances(sinks, "sinks", config_.sinks);
    parse_instances(combiners, "combiners", config_.combiners);
    parse_pipelines(pipelines);
    return finish();
  }

 private:
  using KeyFn = std::function<void(const std::string& key, const YamlNode& value, const std::string& path)>;

  static std::string join(const std::string& base, const std::string& key) {
    return base.empty() ? key : base + "." + key;
  }

  std::string at_line(const YamlNode& n) const {
    const auto m = n.mark();
    if (m.line == 0) return "";
    return " (" + source_ + ":" + std::to_string(m.line) + ")";
  }

  // Keys and names come from the file: their control characters are escaped, so one error is one line.
  void err(const std::string& message, const std::string& path) {
    errors_.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, escape_control(message), escape_control(path)));
  }

  // Walks a mapping: rejects non-scalar and duplicate keys, and unknown keys (when `known` is not empty)
  // with a "did you mean".
  void for_each_key(const YamlNode& map, const std::string& path, const std::vector<std::string>& known,
                    const KeyFn& fn) {
    std::set<std::string> seen;
    for (const auto& kv : map.entries()) {
      if (!kv.first.is_scalar() || kv.first.scalar().empty()) {
        err("keys must be non-empty names" + at_line(kv.first), path);
        continue;
      }
      const std::string key = kv.first.scalar();
      const std::string key_path = join(path, key);
      if (!seen.insert(key).second) {
        err("duplicate key \"" + key + "\"" + at_line(kv.first), key_path);
        continue;
      }
      if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
        std::string hint = did_you_mean(key, known);
        if (hint.empty()) {
          hint = "; known keys: ";
          for (size_t i = 0; i < known.size(); ++i) hint += (i ? ", " : "") + known[i];
        }
        err("unknown key \"" + key + "\"" + hint + at_line(kv.first), key_path);
        continue;
      }
      fn(key, kv.second, key_path);
    }
  }

  // A mapping or null (an empty mapping); anything else is an error. True when usable as a mapping.
  bool expect_map(const YamlNode& n, const std::string& path) {
    if (!n.defined() || n.is_null() || n.is_mapping()) return true;
    err(std::string("must be a mapping, got ") + type_name(n) + at_line(n), path);
    return false;
  }

  std::optional<std::string> expect_string(const YamlNode& n, const std::string& path) {
    if (n.is_scalar() && !n.scalar().empty()) return n.scalar();
    err(std::string("must be a non-empty string, got ") + (n.is_scalar() ? "an empty string" : type_name(n)) +
            at_line(n),
        path);
    return std::nullopt;
  }

  // A list of strings; a single string is accepted as a list of one.
  std::vector<std::string> expect_string_list(const YamlNode& n, const std::string& path) {
    std::vector<std::string> out;
    if (!n.defined() || n.is_null()) return out;
    if (n.is_scalar()) {
      if (auto s = expect_string(n, path)) out.push_back(*s);
      return out;
    }
    if (!n.is_sequence()) {
      err(std::string("must be a list of strings, got ") + type_name(n) + at_line(n), path);
      return out;
    }
    for (size_t i = 0; i < n.size(); ++i)
      if (auto s = expect_string(n[i], path + "[" + std::to_string(i) + "]")) out.push_back(*s);
    return out;
  }

  // A duration greater than 0 (`example` shows the form in the error), or nullopt after an error.
  std::optional<std::chrono::milliseconds> positive_duration(const YamlNode& v, const std::string& path,
                                                             const char* example) {
    if (!v.is_scalar()) {
      err(std::string("must be a duration such as ") + example + ", got " + type_name(v) + at_line(v), path);
      return std::nullopt;
    }
    auto d = parse_duration(v.scalar());
    if (!d) {
      err(d.error().message + at_line(v), path);
      return std::nullopt;
    }
    if (d->count() <= 0) {
      err("must be greater than 0" + at_line(v), path);
      return std::nullopt;
    }
    return *d;
  }

  void parse_plugins(const YamlNode& n) {
    if (!expect_map(n, "plugins") || !n.defined() || n.is_null()) return;
    for_each_key(n, "plugins", {"paths", "restartBackoff"},
                 [&](const std::string& key, const YamlNode& v, const std::string& p) {
                   if (key == "paths") config_.plugin_paths = expect_string_list(v, p);
                   else parse_restart_backoff(v, p);
                 });
  }

  void parse_restart_backoff(const YamlNode& n, const std::string& path) {
    if (!expect_map(n, path) || !n.is_mapping()) return;
    auto& backoff = config_.restart_backoff;
    bool valid = true, max_set = false;
    for_each_key(n, path, {"initial", "max"}, [&](const std::string& key, const YamlNode& v, const std::string& p) {
      auto d = positive_duration(v, p, key == "initial" ? "10s" : "5m");
      max_set = max_set || key == "max";
      if (!d) valid = false;
      else (key == "initial" ? backoff.initial : backoff.max) = *d;
    });
    if (!max_set) backoff.max = std::max(backoff.max, backoff.initial);  // the default maximum yields
    if (valid && backoff.max < backoff.initial)
      err("max (" + format_duration(backoff.max) + ") must not be less than initial (" +
              format_duration(backoff.initial) + ")" + at_line(n),
          path + ".max");
  }

  void parse_deadlines(const YamlNode& n, const std::string& path, CallDeadlines& out) {
    if (!expect_map(n, path) || !n.is_mapping()) return;
    for_each_key(n, path, {"collect", "prepare", "analyze", "publish"},
                 [&](const std::string& key, const YamlNode& v, const std::string& p) {
                   auto d = positive_duration(v, p, "10s");
                   if (!d) return;
                   if (key == "collect") out.collect = d;
                   else if (key == "prepare") out.prepare = d;
                   else if (key == "analyze") out.analyze = d;
                   else out.publish = d;
                 });
  }

  void parse_instances(const YamlNode& n, const std::string& section,
                       std::map<std::string, PluginInstanceConfig>& out) {
    if (!expect_map(n, section) || !n.defined() || n.is_null()) return;
    for_each_key(n, section, {}, [&](const std::string& name, const YamlNode& v, const std::string& path) {
      PluginInstanceConfig inst;
      inst.name = name;
      inst.plugin = name;
      inst.path = path;
      inst.config = nlohmann::json::object();
      if (!expect_map(v, path)) return;
      if (v.is_mapping()) {
        for (const auto& kv : v.entries()) {
          if (kv.first.is_scalar() && kv.first.scalar() == "plugin") {
            if (auto s = expect_string(kv.second, path + ".plugin")) inst.plugin = *s;
            continue;
          }
          if (!kv.first.is_scalar() || kv.first.scalar().empty()) {
            err("setting names must be non-empty strings" + at_line(kv.first), path);
            continue;
          }
          const std::string key = kv.first.scalar();
          inst.config[key] = sdk::yaml::to_json(kv.second);  // bounded when the file was read
        }
      }
      out.emplace(name, std::move(inst));
    });
  }

  static std::vector<std::string> names_of(const std::map<std::string, PluginInstanceConfig>& m) {
    std::vector<std::string> out;
    for (const auto& [k, v] : m) out.push_back(k);
    return out;
  }

  // Checks that `name` is a defined instance of `section` (kind = "source", "analyzer", "sink").
  void check_ref(const std::string& name, const std::string& kind,
                 const std::map<std::string, PluginInstanceConfig>& defined, const std::string& section,
                 const std::string& path, const YamlNode& node) {
    if (defined.count(name)) return;
    std::string msg = "unknown " + kind + " \"" + name + "\"";
    const auto candidates = names_of(defined);
    std::string hint = did_you_mean(name, candidates);
    if (hint.empty()) {
      // Defined, but in another section?
      for (const auto& [other_kind, other] :
           {std::pair{"source", &config_.sources}, {"analyzer", &config_.analyzers}, {"sink", &config_.sinks}})
        if (other_kind != kind && other->count(name))
          hint = "; \"" + name + "\" is defined as a" + (std::string(other_kind) == "analyzer" ? "n " : " ") +
                 other_kind + ", not a" + (kind == "analyzer" ? "n " : " ") + kind;
    }
    if (hint.empty()) {
      if (candidates.empty()) {
        hint = "; no " + kind + "s are defined under `" + section + ":`";
      } else {
        hint = "; defined " + kind + "s: ";
        for (size_t i = 0; i < candidates.size(); ++i) hint += (i ? ", " : "") + candidates[i];
      }
    }
    err(msg + hint + at_line(node), path);
  }

  void parse_selector(const YamlNode& n, const std::string& path, Selector& sel) {
    if (!expect_map(n, path) || !n.is_mapping()) return;
    for_each_key(n, path, {"namespaces", "modelIds", "vaLabels"},
                 [&](const std::string& key, const YamlNode& v, const std::string& p) {
                   if (key == "namespaces") {
                     sel.namespaces = expect_string_list(v, p);
                   } else if (key == "modelIds") {
                     sel.model_ids = expect_string_list(v, p);
                   } else {
                     if (!expect_map(v, p) || !v.is_mapping()) return;
                     for_each_key(v, p, {}, [&](const std::string& lk, const YamlNode& lv, const std::string& lp) {
                       if (auto s = lv.is_scalar() ? std::optional<std::string>(lv.scalar()) : std::nullopt)
                         sel.va_labels[lk] = *s;
                       else err(std::string("label value must be a string, got ") + type_name(lv) + at_line(lv), lp);
                     });
                   }
                 });
  }

  void parse_pipeline(const std::string& name, const YamlNode& n, const std::string& path) {
    PipelineConfig pc;
    pc.name = name;
    pc.path = path;
    pc.interval = default_interval_;
    if (!n.is_mapping()) {
      err(std::string("must be a mapping with source, analyzers and sinks, got ") + type_name(n) + at_line(n), path);
      return;
    }
    bool has_source = false, has_analyzers = false, has_sinks = false;
    std::string combine_path;
    for_each_key(
        n, path, {"selector", "interval", "idleCheckInterval", "deadlines", "source", "analyzers", "combine", "sinks"},
        [&](const std::string& key, const YamlNode& v, const std::string& p) {
          if (key == "selector") {
            parse_selector(v, p, pc.selector);
          } else if (key == "deadlines") {
            parse_deadlines(v, p, pc.deadlines);
          } else if (key == "interval") {
            if (!v.is_scalar()) {
              err(std::string("must be a duration such as 30s, got ") + type_name(v) + at_line(v), p);
              return;
            }
            auto d = parse_duration(v.scalar());
            if (!d) err(d.error().message + at_line(v), p);
            else if (d->count() <= 0) err("must be greater than 0" + at_line(v), p);
            else pc.interval = *d;
          } else if (key == "idleCheckInterval") {
            if (!v.is_scalar()) {
              err(std::string("must be a duration such as 2s (0 turns it off), got ") + type_name(v) + at_line(v), p);
              return;
            }
            auto d = parse_duration(v.scalar());
            if (!d) err(d.error().message + at_line(v), p);
            else if (d->count() < 0) err("must not be negative" + at_line(v), p);
            else pc.idle_check_interval = *d;
          } else if (key == "source") {
            has_source = true;
            if (auto s = expect_string(v, p)) {
              pc.source = *s;
              check_ref(*s, "source", config_.sources, "sources", p, v);
            }
          } else if (key == "analyzers") {
            has_analyzers = true;
            pc.analyzers = expect_string_list(v, p);
            if (v.is_sequence()) {
              for (size_t i = 0; i < v.size(); ++i)
                if (v[i].is_scalar() && !v[i].scalar().empty())
                  check_ref(v[i].scalar(), "analyzer", config_.analyzers, "analyzers",
                            p + "[" + std::to_string(i) + "]", v[i]);
            } else if (v.is_scalar() && !v.scalar().empty()) {
              check_ref(v.scalar(), "analyzer", config_.analyzers, "analyzers", p, v);
            }
            if (pc.analyzers.empty() && (v.is_null() || (v.is_sequence() && v.size() == 0)))
              err("at least one analyzer is required" + at_line(v), p);
          } else if (key == "combine") {
            // A combiner instance from `combiners:`, or a combiner plugin's name (its default settings).
            if (!v.is_scalar() || v.scalar().empty()) {
              err(std::string("must be the name of a combiner (an instance under `combiners:` or a combiner "
                              "plugin), got ") +
                      (v.is_scalar() ? "an empty string" : type_name(v)) + at_line(v),
                  p);
              return;
            }
            pc.combine = v.scalar();
            combine_path = p;
          } else if (key == "sinks") {
            has_sinks = true;
            pc.sinks = expect_string_list(v, p);
            if (v.is_sequence()) {
              for (size_t i = 0; i < v.size(); ++i)
                if (v[i].is_scalar() && !v[i].scalar().empty())
                  check_ref(v[i].scalar(), "sink", config_.sinks, "sinks", p + "[" + std::to_string(i) + "]", v[i]);
            } else if (v.is_scalar() && !v.scalar().empty()) {
              check_ref(v.scalar(), "sink", config_.sinks, "sinks", p, v);
            }
            if (pc.sinks.empty() && (v.is_null() || (v.is_sequence() && v.size() == 0)))
              err("at least one sink is required" + at_line(v), p);
          }
        });
    if (!has_source) err("a source is required (`source: <name>` from `sources:`)" + at_line(n), path + ".source");
    if (!has_analyzers)
      err("at least one analyzer is required (`analyzers: [<name>, ...]`)" + at_line(n), path + ".analyzers");
    if (!has_sinks) err("at least one sink is required (`sinks: [<name>, ...]`)" + at_line(n), path + ".sinks");
    if (!config_.combiners.count(pc.combine)) {
      // `combine: <plugin>` without an entry: an instance of that plugin with its default settings.
      PluginInstanceConfig inst;
      inst.name = inst.plugin = pc.combine;
      inst.path = combine_path.empty() ? path + ".combine" : combine_path;
      inst.config = nlohmann::json::object();
      inst.implicit = true;
      config_.combiners.emplace(pc.combine, std::move(inst));
    }
    config_.pipelines.push_back(std::move(pc));
  }

  void parse_pipelines(const YamlNode& n) {
    if (!n.defined() || n.is_null() || (n.is_mapping() && n.size() == 0)) {
      err("at least one pipeline is required", "pipelines");
      return;
    }
    if (!expect_map(n, "pipelines")) return;
    for_each_key(n, "pipelines", {}, [&](const std::string& name, const YamlNode& v, const std::string& path) {
      parse_pipeline(name, v, path);
    });
  }

  ConfigParse finish() {
    ConfigParse out;
    out.errors = std::move(errors_);
    if (out.errors.empty()) out.config = std::move(config_);
    return out;
  }

  std::string source_;
  std::chrono::milliseconds default_interval_;
  HostConfig config_;
  std::vector<sdk::Error> errors_;
};

}  // namespace

ConfigParse parse_pipelines_yaml(std::string_view yaml_text, std::chrono::milliseconds default_interval,
                                 const std::string& source_name) {
  try {
    return Parser(source_name, default_interval).run(yaml_text);
  } catch (const std::exception& e) {
    // Defensive: nothing in the parser is expected to throw.
    ConfigParse out;
    out.errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, source_name + ": " + e.what()));
    return out;
  }
}

sdk::Result<std::chrono::milliseconds> default_interval_from_env() {
  constexpr std::chrono::milliseconds kDefault{60'000};
  const char* raw = std::getenv("RECONCILIATION_INTERVAL");
  if (raw == nullptr || *raw == '\0') return kDefault;
  auto d = parse_duration(raw);
  if (!d)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           "environment variable RECONCILIATION_INTERVAL: " + d.error().message,
                           "RECONCILIATION_INTERVAL");
  if (d->count() <= 0)
    return sdk::make_error(
        sdk::ErrorCode::kInvalidConfig,
        "environment variable RECONCILIATION_INTERVAL must be greater than 0, got \"" + std::string(raw) + "\"",
        "RECONCILIATION_INTERVAL");
  return *d;
}

}  // namespace wva::framework

// ---------------------------------------------------------------------------------------------------
// HostConfig -> YAML (the effective configuration, e.g. for `wva validate`)

namespace wva::framework {
namespace {

// Plain only for text that no YAML reader can take for anything else: letters, digits and `_ . / -`, inner
// spaces, starting with a letter, digit, `_`, `.` or `/`. yaml-cpp writes an indicator-led scalar such as
// `:x` plain inside a flow sequence, which a YAML 1.1 reader (libyaml) rejects; quoting is always safe.
bool plain_is_safe(const std::string& s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ' || s.front() == '-') return false;
  for (const char c : s) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '/' || c == '-' || c == ' ';
    if (!safe) return false;
  }
  return true;
}

// A string that would read back as something else when written plain (true, 42, ~, :x) is quoted.
void emit_string(YAML::Emitter& out, const std::string& s) {
  const bool ambiguous =
      !plain_is_safe(s) || s == "~" || s == "null" || s == "Null" || s == "NULL" || plain_scalar_value(s).has_value();
  if (ambiguous) out << YAML::DoubleQuoted;
  out << s;
}

void emit_json(YAML::Emitter& out, const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (auto it = j.begin(); it != j.end(); ++it) {
        out << YAML::Key;
        emit_string(out, it.key());
        out << YAML::Value;
        emit_json(out, it.value());
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : j) emit_json(out, item);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: emit_string(out, j.get<std::string>()); break;
    case nlohmann::json::value_t::boolean: out << (j.get<bool>() ? "true" : "false"); break;
    case nlohmann::json::value_t::number_integer: out << j.get<long long>(); break;
    case nlohmann::json::value_t::number_unsigned: out << j.get<unsigned long long>(); break;
    case nlohmann::json::value_t::number_float: {
      // Shortest text that reads back as the same double; keep a '.' so it stays a float.
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, j.get<double>());
      std::string text = ec == std::errc() ? std::string(buf, end) : std::to_string(j.get<double>());
      if (text.find_first_of(".eE") == std::string::npos) text += ".0";
      out << text;
      break;
    }
    default: out << YAML::Null; break;
  }
}

void emit_names(YAML::Emitter& out, const std::vector<std::string>& names) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& n : names) emit_string(out, n);
  out << YAML::EndSeq;
}

void emit_instances(YAML::Emitter& out, const char* section, const std::map<std::string, PluginInstanceConfig>& m) {
  out << YAML::Key << section << YAML::Value << YAML::BeginMap;
  for (const auto& [name, inst] : m) {
    nlohmann::json body = inst.config.is_object() ? inst.config : nlohmann::json::object();
    if (inst.plugin != name) body["plugin"] = inst.plugin;
    out << YAML::Key;
    emit_string(out, name);
    out << YAML::Value;
    emit_json(out, body);
  }
  out << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const HostConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "plugins" << YAML::Value << YAML::BeginMap << YAML::Key << "paths" << YAML::Value;
  emit_names(out, config.plugin_paths);
  out << YAML::Key << "restartBackoff" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "initial" << YAML::Value << format_duration(config.restart_backoff.initial);
  out << YAML::Key << "max" << YAML::Value << format_duration(config.restart_backoff.max);
  out << YAML::EndMap << YAML::EndMap;
  emit_instances(out, "sources", config.sources);
  emit_instances(out, "analyzers", config.analyzers);
  emit_instances(out, "sinks", config.sinks);
  std::map<std::string, PluginInstanceConfig> declared;  // implicit ones come back from `combine:`
  for (const auto& [name, inst] : config.combiners)
    if (!inst.implicit) declared.emplace(name, inst);
  if (!declared.empty()) emit_instances(out, "combiners", declared);
  out << YAML::Key << "pipelines" << YAML::Value << YAML::BeginMap;
  for (const auto& p : config.pipelines) {
    out << YAML::Key;
    emit_string(out, p.name);
    out << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "selector" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "namespaces" << YAML::Value;
    emit_names(out, p.selector.namespaces);
    out << YAML::Key << "modelIds" << YAML::Value;
    emit_names(out, p.selector.model_ids);
    out << YAML::Key << "vaLabels" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [k, v] : p.selector.va_labels) {
      out << YAML::Key;
      emit_string(out, k);
      out << YAML::Value;
      emit_string(out, v);
    }
    out << YAML::EndMap << YAML::EndMap;
    out << YAML::Key << "interval" << YAML::Value << format_duration(p.interval);
    out << YAML::Key << "idleCheckInterval" << YAML::Value << format_duration(p.idle_check_interval);
    // The effective deadlines: what runs, whether set or derived from the interval.
    const auto deadlines = p.effective_deadlines();
    out << YAML::Key << "deadlines" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "collect" << YAML::Value << format_duration(deadlines.collect);
    out << YAML::Key << "prepare" << YAML::Value << format_duration(deadlines.prepare);
    out << YAML::Key << "analyze" << YAML::Value << format_duration(deadlines.analyze);
    out << YAML::Key << "publish" << YAML::Value << format_duration(deadlines.publish);
    out << YAML::EndMap;
    out << YAML::Key << "source" << YAML::Value;
    emit_string(out, p.source);
    out << YAML::Key << "analyzers" << YAML::Value;
    emit_names(out, p.analyzers);
    out << YAML::Key << "combine" << YAML::Value;
    emit_string(out, p.combine);
    out << YAML::Key << "sinks" << YAML::Value;
    emit_names(out, p.sinks);
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace wva::framework
