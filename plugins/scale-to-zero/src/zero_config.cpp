#include "zero_config.h"

#include <algorithm>
#include <set>

#include "wva/sdk/duration.h"
#include "wva/sdk/util/suggest.h"
#include "wva/sdk/util/yaml.h"

namespace wva::scale_to_zero {
namespace {

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = {"model_id", "namespace", "enable_scale_to_zero", "retention_period"};
  return keys;
}

struct EntryParse {
  std::string model_id, ns;
  PartialPolicy values;
  bool valid = true;
};

EntryParse parse_entry(const std::string& source, const std::string& key, const std::string& text,
                       std::vector<sdk::Error>& errors) {
  EntryParse out;
  const std::string base = "data." + key;
  auto error = [&](const std::string& field, std::string message) {
    out.valid = false;
    errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, std::move(message),
                                     source + ": " + (field.empty() ? base : base + "." + field)));
  };
  if (text.size() > kMaxEntryBytes) {
    error("",
          "entry of " + std::to_string(text.size()) + " bytes is over the limit of " + std::to_string(kMaxEntryBytes));
    return out;
  }
  auto parsed = sdk::yaml::load(text);
  if (!parsed.ok()) {
    error("", "invalid YAML: " + parsed.error().message);
    return out;
  }
  const sdk::yaml::Node& root = parsed.value();
  if (root.is_null()) return out;  // an empty entry sets nothing
  if (!root.is_mapping()) {
    error("", "must be a YAML mapping {model_id, namespace, enable_scale_to_zero, retention_period}");
    return out;
  }
  for (const auto& kv : root.entries()) {
    if (!kv.first.is_scalar()) {
      error("", "keys must be strings");
      continue;
    }
    const std::string field = kv.first.scalar();
    const sdk::yaml::Node& value = kv.second;
    if (std::find(known_keys().begin(), known_keys().end(), field) == known_keys().end()) {
      error(field, "unknown key" + sdk::did_you_mean(field, known_keys()));
      continue;
    }
    if (!value.is_scalar()) {
      error(field, "must be a scalar");
      continue;
    }
    const std::string& text_value = value.scalar();
    if (field == "model_id" || field == "namespace") {
      (field == "model_id" ? out.model_id : out.ns) = text_value;
    } else if (field == "enable_scale_to_zero") {
      if (text_value == "true" || text_value == "True" || text_value == "TRUE") out.values.enabled = true;
      else if (text_value == "false" || text_value == "False" || text_value == "FALSE") out.values.enabled = false;
      else error(field, "must be true or false (got \"" + text_value + "\")");
    } else {  // retention_period
      auto d = sdk::parse_duration(text_value);
      if (!d.ok()) error(field, d.error().message);
      else if (d.value().count() <= 0) error(field, "must be greater than 0");
      else if (d.value() > kMaxRetention) error(field, "must be at most 168h (got " + text_value + ")");
      else out.values.retention = d.value();
    }
  }
  return out;
}

}  // namespace

ZeroConfig parse_zero_config(const std::string& source, const std::map<std::string, std::string>& data) {
  ZeroConfig out;
  out.source = source;
  std::set<std::pair<std::string, std::string>> claimed;  // (namespace, model)
  for (const auto& [key, text] : data) {                  // std::map: sorted by key, so the first key wins a duplicate
    EntryParse e = parse_entry(source, key, text, out.errors);
    if (!e.valid) continue;
    if (key == "default") {
      if (!e.model_id.empty() || !e.ns.empty())
        out.warnings.push_back(source + ": data.default: model_id and namespace are ignored in the default entry");
      out.default_entry = e.values;
      continue;
    }
    if (e.model_id.empty()) {
      out.errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                                           "model_id is required (only the `default` entry applies to every model)",
                                           source + ": data." + key + ".model_id"));
      continue;
    }
    if (!claimed.insert({e.ns, e.model_id}).second) {
      out.warnings.push_back(source + ": data." + key + ": another entry already configures model " + e.model_id +
                             (e.ns.empty() ? "" : " in namespace " + e.ns) + "; this one is ignored");
      continue;
    }
    out.entries.push_back(ModelEntry{key, e.model_id, e.ns, e.values});
  }
  return out;
}

ZeroPolicy ZeroConfig::resolve(const sdk::ModelKey& model) const {
  const ModelEntry* specific = nullptr;
  const ModelEntry* any_ns = nullptr;
  for (const auto& e : entries) {
    if (e.model_id != model.model_id) continue;
    if (e.ns == model.ns && !specific) specific = &e;
    if (e.ns.empty() && !any_ns) any_ns = &e;
  }
  const ModelEntry* entry = specific ? specific : any_ns;
  ZeroPolicy p;
  std::string from = "code defaults";
  if (default_entry) {
    if (default_entry->enabled) p.enabled = *default_entry->enabled;
    if (default_entry->retention) p.retention = *default_entry->retention;
    from = source + " data.default";
  }
  if (entry) {
    if (entry->values.enabled) p.enabled = *entry->values.enabled;
    if (entry->values.retention) p.retention = *entry->values.retention;
    from = source + " data." + entry->key;
  }
  p.source = from;
  return p;
}

}  // namespace wva::scale_to_zero
