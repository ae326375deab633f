#include "thresholds.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

#include "text.h"
#include "wva/sdk/util/yaml.h"

namespace wva::saturation {

namespace {

constexpr const char* kKv = "kvCacheThreshold";
constexpr const char* kQueue = "queueLengthThreshold";
constexpr const char* kKvSpare = "kvSpareTrigger";
constexpr const char* kQueueSpare = "queueSpareTrigger";

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys{kKv, kQueue, kKvSpare, kQueueSpare, "model_id", "namespace"};
  return keys;
}

// Upstream keys this analyzer accepts and ignores (V2 analyzer, GPU limiter).
const std::vector<std::string>& ignored_keys() {
  static const std::vector<std::string> keys{"enableLimiter", "analyzerName", "scaleUpThreshold", "scaleDownBoundary"};
  return keys;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

struct EntryParse {
  PartialThresholds values;
  std::optional<std::string> model_id;
  std::optional<std::string> ns;
  std::vector<sdk::Error> errors;
  std::vector<std::string> warnings;
};

EntryParse parse_entry(const std::string& source, const std::string& key, const std::string& text) {
  EntryParse out;
  const std::string base = "data." + key;
  auto error = [&](const std::string& field, std::string message) {
    out.errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, std::move(message),
                                         source + ": " + (field.empty() ? base : base + "." + field)));
  };
  auto parsed = sdk::yaml::load(text);
  if (!parsed.ok()) {
    error("", "invalid YAML: " + parsed.error().message);
    return out;
  }
  const sdk::yaml::Node& root = parsed.value();
  if (root.is_null()) return out;  // an empty entry sets nothing
  if (!root.is_mapping()) {
    error("", "must be a YAML mapping of threshold keys (kvCacheThreshold, queueLengthThreshold, ...)");
    return out;
  }
  std::set<std::string> seen;
  for (const auto& kv : root.entries()) {
    if (!kv.first.is_scalar() && !kv.first.is_null()) {
      error("", "keys must be strings");
      continue;
    }
    const std::string field = kv.first.scalar();
    seen.insert(field);
    const sdk::yaml::Node& value = kv.second;
    if (field == "model_id" || field == "namespace") {
      if (!value.is_scalar()) {
        error(field, "must be a string");
        continue;
      }
      (field == "model_id" ? out.model_id : out.ns) = value.scalar();
      continue;
    }
    if (std::find(ignored_keys().begin(), ignored_keys().end(), field) != ignored_keys().end()) {
      out.warnings.push_back(source + ": " + base + "." + field +
                             ": ignored (an upstream V2 / GPU-limiter setting this analyzer does not use)");
      continue;
    }
    std::optional<double>* slot = nullptr;
    if (field == kKv) slot = &out.values.kv_cache_threshold;
    if (field == kQueue) slot = &out.values.queue_length_threshold;
    if (field == kKvSpare) slot = &out.values.kv_spare_trigger;
    if (field == kQueueSpare) slot = &out.values.queue_spare_trigger;
    if (!slot) {
      error(field, "unknown key" + did_you_mean(field, known_keys()));
      continue;
    }
    if (!value.is_scalar()) {
      error(field, "must be a number");
      continue;
    }
    const auto number = sdk::yaml::plain_scalar_value(value.scalar());
    if (!number || !number->is_number()) {
      // YAML's .inf and .nan (any case, signed) are numbers, but not usable ones.
      std::string t = value.scalar();
      if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.erase(0, 1);
      std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (t == ".inf" || t == ".nan") error(field, "must be a finite number (got " + value.scalar() + ")");
      else error(field, "must be a number (got \"" + value.scalar() + "\")");
      continue;
    }
    const double v = number->get<double>();
    const bool fraction = field == kKv || field == kKvSpare;
    if (fraction && (v < 0 || v > 1)) {
      error(field, "must be in [0,1] (got " + num(v) + ")");
      continue;
    }
    if (!fraction && v < 0) {
      error(field, "must be >= 0 (got " + num(v) + ")");
      continue;
    }
    *slot = v;
  }
  return out;
}

}  // namespace

Thresholds PartialThresholds::merged_over(Thresholds base) const {
  if (kv_cache_threshold) base.kv_cache_threshold = *kv_cache_threshold;
  if (queue_length_threshold) base.queue_length_threshold = *queue_length_threshold;
  if (kv_spare_trigger) base.kv_spare_trigger = *kv_spare_trigger;
  if (queue_spare_trigger) base.queue_spare_trigger = *queue_spare_trigger;
  return base;
}

std::optional<std::string> check_thresholds(const Thresholds& t) {
  auto bad = [](double v) { return !std::isfinite(v); };
  if (bad(t.kv_cache_threshold) || t.kv_cache_threshold < 0 || t.kv_cache_threshold > 1)
    return std::string(kKv) + ": must be in [0,1]";
  if (bad(t.kv_spare_trigger) || t.kv_spare_trigger < 0 || t.kv_spare_trigger > 1)
    return std::string(kKvSpare) + ": must be in [0,1]";
  if (bad(t.queue_length_threshold) || t.queue_length_threshold < 0) return std::string(kQueue) + ": must be >= 0";
  if (bad(t.queue_spare_trigger) || t.queue_spare_trigger < 0) return std::string(kQueueSpare) + ": must be >= 0";
  if (t.kv_cache_threshold < t.kv_spare_trigger)
    return std::string(kKvSpare) + ": " + num(t.kv_spare_trigger) + " must not exceed " + kKv + " " +
           num(t.kv_cache_threshold);
  return std::nullopt;
}

ParsedConfigMap parse_config_map(const std::string& ns, const std::string& name,
                                 const std::map<std::string, std::string>& data, const ParsedConfigMap* previous) {
  ParsedConfigMap out;
  out.source = "ConfigMap " + ns + "/" + name;
  const std::string& source = out.source;
  const auto kept_note = [&](const std::string& key) {
    out.warnings.push_back(source + ": data." + key +
                           ": invalid; keeping its last good value until it is fixed (not the code defaults)");
  };
  const auto previous_override = [&](const std::string& key) -> const OverrideEntry* {
    if (!previous) return nullptr;
    for (const auto& o : previous->overrides)
      if (o.key == key) return &o;
    return nullptr;
  };

  // `default` first: the overrides are checked merged over it.
  Thresholds default_effective;
  if (auto it = data.find("default"); it != data.end()) {
    EntryParse e = parse_entry(source, "default", it->second);
    out.warnings.insert(out.warnings.end(), e.warnings.begin(), e.warnings.end());
    if (e.errors.empty()) {
      const Thresholds merged = e.values.merged_over(Thresholds{});
      if (merged.kv_cache_threshold < merged.kv_spare_trigger) {
        const std::string field = e.values.kv_spare_trigger ? kKvSpare : kKv;
        e.errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                                           std::string(kKvSpare) + " " + num(merged.kv_spare_trigger) +
                                               " must not exceed " + kKv + " " + num(merged.kv_cache_threshold),
                                           source + ": data.default." + field));
      }
    }
    if (e.errors.empty()) {
      out.default_entry = e.values;
      default_effective = e.values.merged_over(Thresholds{});
    } else {
      out.errors.insert(out.errors.end(), e.errors.begin(), e.errors.end());
      if (previous && previous->default_entry) {
        out.default_entry = previous->default_entry;
        out.default_kept = true;
        default_effective = out.default_entry->merged_over(Thresholds{});
        kept_note("default");
      }
    }
  }

  std::map<std::pair<std::string, std::string>, std::string> taken;  // (model_id, ns) -> first key
  for (const auto& [key, text] : data) {
    if (key == "default") continue;
    EntryParse e = parse_entry(source, key, text);
    out.warnings.insert(out.warnings.end(), e.warnings.begin(), e.warnings.end());
    const std::string base = source + ": data." + key;
    if (e.errors.empty() && (!e.model_id || e.model_id->empty()))
      e.errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                                         "required in an override entry (only `default` may omit it)",
                                         base + ".model_id"));
    if (e.errors.empty()) {
      const Thresholds merged = e.values.merged_over(default_effective);
      if (merged.kv_cache_threshold < merged.kv_spare_trigger) {
        const std::string field = e.values.kv_spare_trigger ? kKvSpare : kKv;
        e.errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                                           std::string(kKvSpare) + " " + num(merged.kv_spare_trigger) +
                                               " must not exceed " + kKv + " " + num(merged.kv_cache_threshold) +
                                               " (merged over default)",
                                           base + "." + field));
      }
    }
    bool kept = false;
    if (!e.errors.empty()) {
      out.errors.insert(out.errors.end(), e.errors.begin(), e.errors.end());
      const OverrideEntry* last_good = previous_override(key);
      if (!last_good) continue;
      e.model_id = last_good->model_id;
      e.ns = last_good->ns;
      e.values = last_good->values;
      kept = true;
      kept_note(key);
    }
    const std::string entry_ns = e.ns.value_or("");
    auto [it, inserted] = taken.emplace(std::make_pair(*e.model_id, entry_ns), key);
    if (!inserted) {
      out.warnings.push_back(base + ": ignored; entry \"" + it->second + "\" already overrides model_id " +
                             *e.model_id + (entry_ns.empty() ? "" : " in namespace " + entry_ns) +
                             " (the first key in alphabetical order wins)");
      continue;
    }
    out.overrides.push_back(OverrideEntry{key, *e.model_id, entry_ns, e.values, kept});
  }
  return out;
}

ResolvedThresholds resolve_thresholds(const sdk::ModelKey& model, const ParsedConfigMap* global,
                                      const ParsedConfigMap* local) {
  ResolvedThresholds out;
  out.origin = "defaults";
  auto apply = [&](const PartialThresholds& layer, const std::string& what, bool kept) {
    const Thresholds next = layer.merged_over(out.values);
    if (auto problem = check_thresholds(next)) {
      out.warnings.push_back(what + " skipped for " + model.to_string() + ": merged thresholds invalid (" + *problem +
                             ")");
      return;
    }
    out.values = next;
    out.origin += " < " + what + (kept ? " (last good)" : "");
    if (kept) out.kept.push_back(what);
  };
  auto apply_overrides = [&](const ParsedConfigMap& cm) {
    // Entries without a namespace first, then the ones naming the model's namespace (more specific).
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& o : cm.overrides)
        if (o.model_id == model.model_id && (pass == 0 ? o.ns.empty() : o.ns == model.ns))
          apply(o.values, cm.source + " " + o.key, o.kept);
  };
  if (global && global->default_entry) apply(*global->default_entry, global->source + " default", global->default_kept);
  if (local && local->default_entry) apply(*local->default_entry, local->source + " default", local->default_kept);
  if (global) apply_overrides(*global);
  if (local) apply_overrides(*local);
  return out;
}

}  // namespace wva::saturation
