// A plugin's settings, declared: every field with its type, default, range, allowed values and meaning.
// The host validates an instance's settings against its plugin's schema before configure(), collecting
// every error with its full path in one wording, fills the defaults, and hands configure() the result:
// a plugin reads typed values (SettingsReader) without checking them again. The same schema prints
// `wva plugins --describe NAME` and the config reference table of the plugin's README.
//
//   sdk::SettingsSchema schema() {
//     return {"What the plugin is for.",
//             {sdk::Setting::enumeration("mode", {"compatible", "improved"}, "compatible", "Rule set."),
//              sdk::Setting::number("target", 0.8, "Target use.").in_range(0, 1),
//              sdk::Setting::duration("interval", "30s", "How often.").at_least(1)}};
//   }
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/duration.h"
#include "wva/sdk/result.h"
#include "wva/sdk/util/suggest.h"

namespace wva::sdk {

enum class SettingType {
  kBool,
  kInt,     // a whole JSON number
  kNumber,  // any finite JSON number
  kString,
  kDuration,  // "500ms", "15s", "1m30s", "0" (parse_duration); optionally a bare number of seconds
  kEnum,      // one of `values`
  kList,      // a list of `item`
  kMap,       // string keys to `item` (keys are free)
  kObject,    // the nested `fields` (keys are checked)
  kCustom,    // a form the types above cannot say (e.g. a port or "host:port"): the plugin's check_settings()
              // checks it; `accepts` says what it takes
};

inline const char* to_string(SettingType type) {
  switch (type) {
    case SettingType::kBool: return "bool";
    case SettingType::kInt: return "int";
    case SettingType::kNumber: return "number";
    case SettingType::kString: return "string";
    case SettingType::kDuration: return "duration";
    case SettingType::kEnum: return "enum";
    case SettingType::kList: return "list";
    case SettingType::kMap: return "map";
    case SettingType::kObject: return "object";
    case SettingType::kCustom: return "custom";
  }
  return "unknown";
}

// One field. Build it with the named constructors and refine it with the chainable setters.
struct Setting {
  std::string name;
  SettingType type = SettingType::kString;
  std::string description;
  nlohmann::json default_value;  // null: no default (the field stays absent unless set)
  bool required = false;
  // Bounds: the value for int and number, milliseconds for duration, the length for string and list.
  std::optional<double> min, max;
  bool min_exclusive = false, max_exclusive = false;
  std::vector<std::string> values;  // kEnum
  std::vector<Setting> fields;      // kObject
  std::vector<Setting> item;        // kList, kMap: exactly one element, the item's schema
  bool seconds_as_number = false;   // kDuration: a bare number is seconds (as the emulator's config takes)
  bool nullable = false;            // null is accepted and kept (e.g. "no limit")
  std::string accepts;              // kCustom: what it takes, in words

  static Setting boolean(std::string name, std::optional<bool> def, std::string description) {
    return make(std::move(name), SettingType::kBool, def ? nlohmann::json(*def) : nlohmann::json(),
                std::move(description));
  }
  static Setting integer(std::string name, std::optional<std::int64_t> def, std::string description) {
    return make(std::move(name), SettingType::kInt, def ? nlohmann::json(*def) : nlohmann::json(),
                std::move(description));
  }
  static Setting number(std::string name, std::optional<double> def, std::string description) {
    return make(std::move(name), SettingType::kNumber, def ? nlohmann::json(*def) : nlohmann::json(),
                std::move(description));
  }
  static Setting string(std::string name, std::optional<std::string> def, std::string description) {
    return make(std::move(name), SettingType::kString, def ? nlohmann::json(*def) : nlohmann::json(),
                std::move(description));
  }
  // `def` as an operator writes it ("30s").
  static Setting duration(std::string name, std::optional<std::string> def, std::string description) {
    return make(std::move(name), SettingType::kDuration, def ? nlohmann::json(*def) : nlohmann::json(),
                std::move(description));
  }
  static Setting enumeration(std::string name, std::vector<std::string> values, std::optional<std::string> def,
                             std::string description) {
    Setting s = make(std::move(name), SettingType::kEnum, def ? nlohmann::json(*def) : nlohmann::json(),
                     std::move(description));
    s.values = std::move(values);
    return s;
  }
  static Setting list(std::string name, Setting item, std::string description) {
    Setting s = make(std::move(name), SettingType::kList, nlohmann::json(), std::move(description));
    s.item.push_back(std::move(item));
    return s;
  }
  static Setting map(std::string name, Setting item, std::string description) {
    Setting s = make(std::move(name), SettingType::kMap, nlohmann::json(), std::move(description));
    s.item.push_back(std::move(item));
    return s;
  }
  // Checked by the plugin's check_settings(); `accepts` describes the forms ("a port or \"host:port\"").
  static Setting custom(std::string name, nlohmann::json def, std::string accepts, std::string description) {
    Setting s = make(std::move(name), SettingType::kCustom, std::move(def), std::move(description));
    s.accepts = std::move(accepts);
    return s;
  }
  static Setting object(std::string name, std::vector<Setting> fields, std::string description) {
    Setting s = make(std::move(name), SettingType::kObject, nlohmann::json(), std::move(description));
    s.fields = std::move(fields);
    return s;
  }

  Setting& is_required() {
    required = true;
    return *this;
  }
  Setting& at_least(double v) {
    min = v;
    min_exclusive = false;
    return *this;
  }
  Setting& above(double v) {
    min = v;
    min_exclusive = true;
    return *this;
  }
  Setting& at_most(double v) {
    max = v;
    max_exclusive = false;
    return *this;
  }
  Setting& below(double v) {
    max = v;
    max_exclusive = true;
    return *this;
  }
  Setting& in_range(double lo, double hi) { return at_least(lo).at_most(hi); }
  Setting& non_empty() { return at_least(1); }
  Setting& seconds_when_number() {
    seconds_as_number = true;
    return *this;
  }
  Setting& or_null() {
    nullable = true;
    return *this;
  }
  Setting& with_default(nlohmann::json v) {
    default_value = std::move(v);
    return *this;
  }

 private:
  static Setting make(std::string name, SettingType type, nlohmann::json def, std::string description) {
    Setting s;
    s.name = std::move(name);
    s.type = type;
    s.default_value = std::move(def);
    s.description = std::move(description);
    return s;
  }
};

struct SettingsSchema {
  std::string description;  // one paragraph: what the settings configure
  std::vector<Setting> fields;
};

// ----- wording -------------------------------------------------------------------------------------------

namespace settings_detail {

inline std::string number_text(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = nlohmann::json(v).dump();
  return s;
}

inline std::string bound_text(const Setting& s, double v) {
  if (s.type == SettingType::kDuration) return format_duration(std::chrono::milliseconds(std::llround(v)));
  return number_text(v);
}

// "in [0, 1]", "> 0", ">= 1", "at most 64 long", "" when unbounded.
inline std::string range_text(const Setting& s) {
  const bool length = s.type == SettingType::kString || s.type == SettingType::kList;
  if (length) {
    if (s.min && *s.min >= 1 && !s.max) return "not empty";
    std::string out;
    if (s.min) out = "at least " + number_text(*s.min) + " long";
    if (s.max) out += (out.empty() ? "" : ", ") + std::string("at most ") + number_text(*s.max) + " long";
    return out;
  }
  if (s.min && s.max)
    return std::string(s.min_exclusive ? "in (" : "in [") + bound_text(s, *s.min) + ", " + bound_text(s, *s.max) +
           (s.max_exclusive ? ")" : "]");
  if (s.min) return std::string(s.min_exclusive ? "> " : ">= ") + bound_text(s, *s.min);
  if (s.max) return std::string(s.max_exclusive ? "< " : "<= ") + bound_text(s, *s.max);
  return {};
}

inline std::string type_text(const Setting& s) {
  switch (s.type) {
    case SettingType::kBool: return "true or false";
    case SettingType::kInt: return "a whole number";
    case SettingType::kNumber: return "a number";
    case SettingType::kString: return "a string";
    case SettingType::kDuration:
      return s.seconds_as_number ? "a duration (e.g. 500ms, 15s, 1m30s) or a number of seconds"
                                 : "a duration (e.g. 500ms, 15s, 1m30s)";
    case SettingType::kEnum: {
      std::string out = "one of ";
      for (std::size_t i = 0; i < s.values.size(); ++i) out += (i ? ", " : "") + s.values[i];
      return out;
    }
    case SettingType::kList: return "a list";
    case SettingType::kMap: return "a map";
    case SettingType::kObject: return "a map of settings";
    case SettingType::kCustom: return s.accepts;
  }
  return "?";
}

inline std::string got(const nlohmann::json& v) {
  std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return ", got " + text;
}

inline bool in_bounds(const Setting& s, double v) {
  if (s.min && (s.min_exclusive ? !(v > *s.min) : !(v >= *s.min))) return false;
  if (s.max && (s.max_exclusive ? !(v < *s.max) : !(v <= *s.max))) return false;
  return true;
}

inline std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

inline void check_object(const std::vector<Setting>& fields, const nlohmann::json& in, const std::string& path,
                         nlohmann::json& out, std::vector<Error>& errors);

// Checks one present value; returns its normalised form (durations as written, numbers as given).
inline nlohmann::json check_value(const Setting& s, const nlohmann::json& v, const std::string& path,
                                  std::vector<Error>& errors) {
  auto fail = [&](const std::string& message) {
    errors.push_back(make_error(ErrorCode::kInvalidConfig, message, path));
    return nlohmann::json();
  };
  auto must_be = [&](const std::string& range = {}) {
    return fail("must be " + type_text(s) + (range.empty() ? "" : " " + range) + got(v));
  };
  if (v.is_null() && s.nullable) return v;
  switch (s.type) {
    case SettingType::kBool:
      if (!v.is_boolean()) return must_be();
      return v;
    case SettingType::kInt: {
      if (!v.is_number_integer()) {
        // 3.0 from a YAML "3.0" is still a whole number.
        if (!(v.is_number_float() && std::isfinite(v.get<double>()) && v.get<double>() == std::floor(v.get<double>()) &&
              std::fabs(v.get<double>()) < 9e15))
          return must_be(range_text(s));
      }
      const double d = v.get<double>();
      if (!in_bounds(s, d)) return must_be(range_text(s));
      return nlohmann::json(static_cast<std::int64_t>(d));
    }
    case SettingType::kNumber:
      if (!v.is_number() || !std::isfinite(v.get<double>()) || !in_bounds(s, v.get<double>()))
        return must_be(range_text(s));
      return v;
    case SettingType::kString: {
      if (!v.is_string()) return must_be(range_text(s));
      const auto n = static_cast<double>(v.get_ref<const std::string&>().size());
      if (!in_bounds(s, n)) return must_be(range_text(s));
      return v;
    }
    case SettingType::kDuration: {
      std::chrono::milliseconds ms{0};
      if (v.is_number() && s.seconds_as_number) {
        const double secs = v.get<double>();
        if (!std::isfinite(secs) || std::fabs(secs) > 1e9) return must_be(range_text(s));
        ms = std::chrono::milliseconds(std::llround(secs * 1000));
      } else if (v.is_string()) {
        auto parsed = parse_duration(v.get_ref<const std::string&>());
        if (!parsed.ok()) return fail(parsed.error().message);
        ms = *parsed;
      } else {
        return must_be(range_text(s));
      }
      if (!in_bounds(s, static_cast<double>(ms.count()))) return must_be(range_text(s));
      return v;
    }
    case SettingType::kEnum: {
      if (!v.is_string()) return must_be();
      const auto& text = v.get_ref<const std::string&>();
      for (const auto& allowed : s.values)
        if (allowed == text) return v;
      return fail("must be " + type_text(s) + got(v) + did_you_mean(text, s.values));
    }
    case SettingType::kList: {
      if (!v.is_array()) return must_be(range_text(s));
      if (!in_bounds(s, static_cast<double>(v.size()))) return must_be(range_text(s));
      nlohmann::json out = nlohmann::json::array();
      for (std::size_t i = 0; i < v.size(); ++i)
        out.push_back(s.item.empty() ? v[i]
                                     : check_value(s.item.front(), v[i], path + "[" + std::to_string(i) + "]", errors));
      return out;
    }
    case SettingType::kMap: {
      if (!v.is_object()) return must_be();
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, value] : v.items())
        out[key] = s.item.empty() ? value : check_value(s.item.front(), value, join(path, key), errors);
      return out;
    }
    case SettingType::kObject: {
      if (!v.is_object()) return must_be();
      nlohmann::json out = nlohmann::json::object();
      check_object(s.fields, v, path, out, errors);
      return out;
    }
    case SettingType::kCustom: return v;
  }
  return v;
}

inline void check_object(const std::vector<Setting>& fields, const nlohmann::json& in, const std::string& path,
                         nlohmann::json& out, std::vector<Error>& errors) {
  std::vector<std::string> names;
  names.reserve(fields.size());
  for (const auto& f : fields) names.push_back(f.name);
  for (const auto& [key, value] : in.items()) {
    bool known = false;
    for (const auto& n : names) known = known || n == key;
    if (!known)
      errors.push_back(
          make_error(ErrorCode::kInvalidConfig, "unknown setting" + did_you_mean(key, names), join(path, key)));
  }
  for (const auto& f : fields) {
    const auto it = in.find(f.name);
    if (it == in.end()) {
      if (f.required)
        errors.push_back(make_error(ErrorCode::kInvalidConfig, "required setting is missing (" + type_text(f) + ")",
                                    join(path, f.name)));
      else if (!f.default_value.is_null()) out[f.name] = f.default_value;
      else if (f.type == SettingType::kObject) {
        // A nested object that is not written still gets its fields' defaults.
        nlohmann::json nested = nlohmann::json::object();
        std::vector<Error> nested_errors;
        check_object(f.fields, nlohmann::json::object(), join(path, f.name), nested, nested_errors);
        if (nested_errors.empty() && !nested.empty()) out[f.name] = std::move(nested);
      }
      continue;
    }
    nlohmann::json checked = check_value(f, *it, join(path, f.name), errors);
    if (!checked.is_null() || it->is_null()) out[f.name] = std::move(checked);
  }
}

}  // namespace settings_detail

// The outcome of validating settings against a schema: the settings with defaults filled (durations
// and numbers as written, whole numbers as integers) and every error, each with its full path.
struct ValidatedSettings {
  nlohmann::json values = nlohmann::json::object();
  std::vector<Error> errors;
  bool ok() const { return errors.empty(); }
};

// Null settings (an instance written without any) are an empty map. Validating the values of a
// successful validation again gives the same values and no error.
inline ValidatedSettings validate_settings(const SettingsSchema& schema, const nlohmann::json& settings,
                                           const std::string& path) {
  ValidatedSettings out;
  if (settings.is_null()) {
    settings_detail::check_object(schema.fields, nlohmann::json::object(), path, out.values, out.errors);
    return out;
  }
  if (!settings.is_object()) {
    out.errors.push_back(
        make_error(ErrorCode::kInvalidConfig, "must be a map of settings" + settings_detail::got(settings), path));
    return out;
  }
  settings_detail::check_object(schema.fields, settings, path, out.values, out.errors);
  return out;
}

// Typed reads of validated settings. A field the schema gives a default is always there; an optional
// field without one may be absent (has()). Reading a field of the wrong type is a bug in the plugin's
// schema and throws nlohmann::json's type_error (configure() runs under the host's guard).
class SettingsReader {
 public:
  explicit SettingsReader(const nlohmann::json& values) : values_(values) {}

  bool has(const std::string& name) const {
    auto it = values_.find(name);
    return it != values_.end() && !it->is_null();
  }
  const nlohmann::json& raw(const std::string& name) const { return values_.at(name); }
  bool boolean(const std::string& name) const { return values_.at(name).get<bool>(); }
  std::int64_t integer(const std::string& name) const { return values_.at(name).get<std::int64_t>(); }
  int int32(const std::string& name) const { return static_cast<int>(integer(name)); }
  double number(const std::string& name) const { return values_.at(name).get<double>(); }
  std::string string(const std::string& name) const { return values_.at(name).get<std::string>(); }
  std::chrono::milliseconds duration(const std::string& name) const {
    const auto& v = values_.at(name);
    if (v.is_number()) return std::chrono::milliseconds(std::llround(v.get<double>() * 1000));
    auto parsed = parse_duration(v.get<std::string>());
    return parsed.ok() ? *parsed : std::chrono::milliseconds(0);
  }
  double seconds(const std::string& name) const { return static_cast<double>(duration(name).count()) / 1000.0; }
  SettingsReader child(const std::string& name) const { return SettingsReader(values_.at(name)); }
  template <class T>
  std::optional<T> optional(const std::string& name) const {
    if (!has(name)) return std::nullopt;
    return values_.at(name).get<T>();
  }

 private:
  const nlohmann::json& values_;
};

// A plugin's settings parsed in one step (the schema, the plugin's cross-field rules, the typed read):
// the value, or every error. For a plugin's own tests and tools; the host runs the same steps.
template <class T>
struct ParsedSettings {
  std::optional<T> value;
  std::vector<Error> errors;
  bool ok() const { return errors.empty() && value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
};

// `check(validated, path)` returns the cross-field errors; `read(validated)` the typed settings.
template <class T, class Check, class Read>
ParsedSettings<T> parse_settings_with(const SettingsSchema& schema, const nlohmann::json& settings,
                                      const std::string& path, Check&& check, Read&& read) {
  ParsedSettings<T> out;
  ValidatedSettings validated = validate_settings(schema, settings, path);
  out.errors = std::move(validated.errors);
  if (out.errors.empty()) out.errors = check(validated.values, path);
  if (out.errors.empty()) out.value = read(validated.values);
  return out;
}

// ----- describing a schema ---------------------------------------------------------------------------

// "30s", "0.8", "\"wva-config\"", "-" when there is none.
inline std::string default_text(const Setting& s) {
  if (s.default_value.is_null()) return s.required ? "required" : "-";
  if (s.default_value.is_string()) return s.default_value.get<std::string>();
  return s.default_value.dump();
}

// What values a field takes: "one of a, b", "a number in [0, 1]", "a list of strings".
inline std::string accepted_text(const Setting& s) {
  std::string out = settings_detail::type_text(s);
  if (const auto range = settings_detail::range_text(s); !range.empty()) out += " " + range;
  if (!s.item.empty() && s.type == SettingType::kList) out += ", each " + accepted_text(s.item.front());
  if (!s.item.empty() && s.type == SettingType::kMap) out += ", each value " + accepted_text(s.item.front());
  if (s.nullable) out += ", or null";
  return out;
}

namespace settings_detail {

inline void flatten(const std::vector<Setting>& fields, const std::string& prefix,
                    std::vector<std::pair<std::string, const Setting*>>& out) {
  for (const auto& f : fields) {
    const std::string name = prefix.empty() ? f.name : prefix + "." + f.name;
    out.emplace_back(name, &f);
    if (f.type == SettingType::kObject) flatten(f.fields, name, out);
    if ((f.type == SettingType::kList || f.type == SettingType::kMap) && !f.item.empty() &&
        f.item.front().type == SettingType::kObject)
      flatten(f.item.front().fields, name + (f.type == SettingType::kList ? "[]" : ".*"), out);
  }
}

inline std::string escape_cell(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out.push_back(c);
  }
  return out;
}

}  // namespace settings_detail

// Every field, nested ones as "parent.child" ("list[].child" for lists of objects), in declaration order.
inline std::vector<std::pair<std::string, const Setting*>> flatten_settings(const SettingsSchema& schema) {
  std::vector<std::pair<std::string, const Setting*>> out;
  settings_detail::flatten(schema.fields, "", out);
  return out;
}

// The schema for a terminal: one block per field.
inline std::string describe_settings(const SettingsSchema& schema) {
  std::string out;
  if (!schema.description.empty()) out += schema.description + "\n\n";
  if (schema.fields.empty()) return out + "(no settings)\n";
  for (const auto& [name, s] : flatten_settings(schema)) {
    out += name + "  (" + accepted_text(*s) + "; default: " + default_text(*s) + ")\n";
    if (!s->description.empty()) out += "    " + s->description + "\n";
  }
  return out;
}

// The schema as the Markdown table of a plugin README's config reference.
inline std::string settings_markdown(const SettingsSchema& schema) {
  std::string out = "| Setting | Accepts | Default | Description |\n|---|---|---|---|\n";
  for (const auto& [name, s] : flatten_settings(schema))
    out += "| `" + name + "` | " + settings_detail::escape_cell(accepted_text(*s)) + " | " +
           settings_detail::escape_cell(s->default_value.is_null() ? default_text(*s) : "`" + default_text(*s) + "`") +
           " | " + settings_detail::escape_cell(s->description) + " |\n";
  return out;
}

// Checks the schema itself: every default is accepted by its own field, enums have values, names are
// unique. An error here is a bug in the plugin (the conformance suite runs it).
inline std::vector<Error> check_schema(const SettingsSchema& schema, const std::string& path = "settings") {
  std::vector<Error> errors;
  std::vector<std::pair<std::string, const Setting*>> all = flatten_settings(schema);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& [name, s] = all[i];
    for (std::size_t j = 0; j < i; ++j)
      if (all[j].first == name) errors.push_back(make_error(ErrorCode::kInternal, "declared twice", path + "." + name));
    if (s->type == SettingType::kEnum && s->values.empty())
      errors.push_back(make_error(ErrorCode::kInternal, "an enum without values", path + "." + name));
    if ((s->type == SettingType::kList || s->type == SettingType::kMap) && s->item.size() != 1)
      errors.push_back(make_error(ErrorCode::kInternal, "a list or map needs one item schema", path + "." + name));
    if (!s->default_value.is_null()) {
      std::vector<Error> own;
      (void)settings_detail::check_value(*s, s->default_value, path + "." + name, own);
      for (auto& e : own) {
        e.message = "default does not validate: " + e.message;
        errors.push_back(std::move(e));
      }
    }
  }
  return errors;
}

}  // namespace wva::sdk
