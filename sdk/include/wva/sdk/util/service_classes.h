// The one reading of the service-classes ConfigMap (the original WVA's `service-classes-config`), used by
// the host's model builder and by every plugin that reads the ConfigMap itself. Not part of the plugin
// contract: a utility (header-only; link libyaml for wva/sdk/util/yaml.h).
//
// Format: each data key is a file name whose value is YAML
//   {name, priority, data: [{model, slo-tpot, slo-ttft[, slo-tps]}]}
// Rules (the original's, docs/user-guide/configuration.md "Service classes"):
// - A bad class or entry is reported with its path and skipped; the rest of the ConfigMap still applies.
// - name: a string; absent = the data key. priority: an integer 1 (highest) .. 100 (lowest); absent = 100;
//   any other value is reported and replaced by 100, as the original does.
// - data: a list; each entry needs a string `model` (an exact model ID, `namespace/modelID`, or a glob such
//   as `meta/*`); slo-ttft, slo-tpot (ms) and slo-tps are optional positive numbers (numeric strings too).
// - Matching (find_slo): a VA's spec.sloClassRef {name[, key]} picks the named class's entry for `key`
//   (default: the model ID). Otherwise classes are tried by priority, then name: first an entry naming the
//   model exactly (model ID or namespace/modelID), then a glob matching the model ID.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"
#include "wva/sdk/types.h"
#include "wva/sdk/util/config_values.h"
#include "wva/sdk/util/yaml.h"

namespace wva::sdk::util {

inline constexpr int kHighestServiceClassPriority = 1;
inline constexpr int kLowestServiceClassPriority = 100;  // also the default

struct ServiceClassEntry {
  std::string model;  // model ID, namespace/modelID, or a glob
  std::optional<double> ttft_ms, itl_ms, tps;
};

struct ServiceClass {
  std::string name;
  int priority = kLowestServiceClassPriority;
  std::vector<ServiceClassEntry> entries;
};

struct ServiceClasses {
  std::vector<ServiceClass> classes;  // sorted by priority, then name
  std::vector<Error> problems;        // each bad value with its path; what it names was skipped or defaulted
};

// `path` names the ConfigMap, e.g. "ConfigMap wva-system/service-classes-config"; problems extend it with
// `.data[<key>]...`.
inline ServiceClasses parse_service_classes(const std::map<std::string, std::string>& data, const std::string& path) {
  using nlohmann::json;
  ServiceClasses out;
  auto problem = [&](std::string message, std::string at) {
    out.problems.push_back(make_error(ErrorCode::kInvalidConfig, std::move(message), std::move(at)));
  };
  for (const auto& [key, text] : data) {
    const std::string at = path + ".data[" + key + "]";
    auto parsed = yaml::load_json(text);
    if (!parsed.ok()) {
      problem("invalid YAML: " + parsed.error().message + "; class skipped", at);
      continue;
    }
    const json& j = parsed.value();
    if (!j.is_object()) {
      problem("must be a mapping {name, priority, data: [{model, slo-tpot, slo-ttft}]}; class skipped", at);
      continue;
    }
    ServiceClass sc;
    sc.name = key;
    if (auto n = j.find("name"); n != j.end()) {
      if (!n->is_string() || n->get_ref<const std::string&>().empty()) {
        problem("must be a non-empty string, got " + describe_value(*n) + "; class skipped", at + ".name");
        continue;
      }
      sc.name = n->get<std::string>();
    }
    if (auto p = j.find("priority"); p != j.end()) {
      const auto v = config_int(*p);
      if (v && *v >= kHighestServiceClassPriority && *v <= kLowestServiceClassPriority) {
        sc.priority = *v;
      } else {
        problem("must be an integer from 1 (highest) to 100 (lowest), got " + describe_value(*p) + "; using 100",
                at + ".priority");
      }
    }
    auto list = j.find("data");
    if (list == j.end() || !list->is_array()) {
      problem("must be a list of {model, slo-tpot, slo-ttft}; class skipped", at + ".data");
      continue;
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const json& e = (*list)[i];
      const std::string ep = at + ".data[" + std::to_string(i) + "]";
      if (!e.is_object() || !e.contains("model") || !e["model"].is_string() || e["model"].get<std::string>().empty()) {
        problem("needs a non-empty string `model`; entry skipped", ep);
        continue;
      }
      ServiceClassEntry entry;
      entry.model = e["model"].get<std::string>();
      bool ok = true;
      for (const auto& [field, target] : {std::pair<const char*, std::optional<double>*>{"slo-ttft", &entry.ttft_ms},
                                          {"slo-tpot", &entry.itl_ms},
                                          {"slo-tps", &entry.tps}}) {
        auto f = e.find(field);
        if (f == e.end()) continue;
        const auto v = config_number(*f);
        if (!v || !(*v > 0)) {
          problem("must be a positive number, got " + describe_value(*f) + "; entry skipped", ep + "." + field);
          ok = false;
          break;
        }
        *target = *v;
      }
      if (ok) sc.entries.push_back(std::move(entry));
    }
    out.classes.push_back(std::move(sc));
  }
  std::stable_sort(out.classes.begin(), out.classes.end(), [](const ServiceClass& a, const ServiceClass& b) {
    return std::tie(a.priority, a.name) < std::tie(b.priority, b.name);
  });
  return out;
}

// A VA's spec.sloClassRef.
struct SloClassRef {
  std::string name;
  std::string key;  // empty: the model ID
};

inline Slo make_slo(const ServiceClass& sc, const ServiceClassEntry& e) {
  Slo slo;
  slo.service_class = sc.name;
  slo.priority = sc.priority;
  slo.ttft_ms = e.ttft_ms;
  slo.itl_ms = e.itl_ms;
  slo.tps = e.tps;
  return slo;
}

// The SLO of a model by the rules above; nullopt when no class lists it. With a ref that names no entry,
// `ref_unmatched` is set (so the caller can say so) and the other rules still apply.
inline std::optional<Slo> find_slo(const std::vector<ServiceClass>& classes, const ModelKey& model,
                                   const std::optional<SloClassRef>& ref = std::nullopt,
                                   bool* ref_unmatched = nullptr) {
  if (ref_unmatched) *ref_unmatched = false;
  if (ref) {
    const std::string& key = ref->key.empty() ? model.model_id : ref->key;
    for (const auto& sc : classes)
      if (sc.name == ref->name)
        for (const auto& e : sc.entries)
          if (e.model == key) return make_slo(sc, e);
    if (ref_unmatched) *ref_unmatched = true;
  }
  const std::string qualified = model.to_string();
  for (const auto& sc : classes)
    for (const auto& e : sc.entries)
      if (e.model == model.model_id || e.model == qualified) return make_slo(sc, e);
  for (const auto& sc : classes)
    for (const auto& e : sc.entries)
      if (e.model.find_first_of("*?") != std::string::npos && glob_match(e.model, model.model_id))
        return make_slo(sc, e);
  return std::nullopt;
}

}  // namespace wva::sdk::util
