#include "settings.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "wva/sdk/util/yaml.h"

namespace wva::queueing {

using nlohmann::json;

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

namespace {

sdk::Result<json> parse_yaml(const std::string& text, const std::string& path) {
  auto parsed = sdk::yaml::load_json(text);
  if (!parsed.ok())
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "invalid YAML: " + parsed.error().message, path);
  return std::move(parsed.value());
}

// A number from a JSON number or a numeric string.
std::optional<double> number(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto s = j.get<std::string>();
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(d)) return d;
  }
  return std::nullopt;
}

sdk::Error invalid(std::string message, std::string path) {
  return sdk::make_error(sdk::ErrorCode::kInvalidConfig, std::move(message), std::move(path));
}

}  // namespace

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {
      "Sizes each variant with an M/M/1 queueing model against the model's SLO (unlimited mode) or shares "
      "the cluster's GPUs among models (limited mode).",
      {Setting::enumeration("mode", {"unlimited", "limited"}, "unlimited",
                            "unlimited: size for the SLO; limited: within the GPU capacity."),
       Setting::enumeration("bestEffort", {"None", "PriorityExhaustive", "PriorityRoundRobin", "RoundRobin"}, "None",
                            "Limited mode: how GPUs left after the SLOs are shared."),
       Setting::enumeration("capacitySource", {"configmap", "nodes"}, "configmap",
                            "Limited mode: GPU capacity from capacityConfigMap or from the nodes."),
       Setting::string("capacityConfigMap", "wva-accelerator-capacity", "GPUs per accelerator type.").non_empty(),
       Setting::string("serviceClassConfigMap", "service-classes-config", "Service classes (SLOs).").non_empty(),
       Setting::string("profilesConfigMap", "wva-performance-profiles",
                       "Performance profiles (optional: absent = not used).")
           .non_empty(),
       Setting::integer("maxQueueToBatchRatio", 10, "Longest queue allowed, in batches.").in_range(0, 1000),
       Setting::number("transitionPenaltyFactor", 0.1, "Cost of changing the accelerator mix.").in_range(0, 10),
       Setting::string("gpuResource", "nvidia.com/gpu", "capacitySource nodes: the GPU resource name.").non_empty(),
       Setting::string("gpuProductLabel", "nvidia.com/gpu.product", "capacitySource nodes: the GPU type label.")
           .non_empty()}};
}

Settings read_settings(const json& validated) {
  const sdk::SettingsReader r(validated);
  Settings s;
  s.limited = r.string("mode") == "limited";
  s.best_effort = parse_best_effort(r.string("bestEffort")).value_or(BestEffort::kNone);
  s.capacity_source = r.string("capacitySource") == "nodes" ? CapacitySource::kNodes : CapacitySource::kConfigMap;
  s.capacity_config_map = r.string("capacityConfigMap");
  s.service_class_config_map = r.string("serviceClassConfigMap");
  s.profiles_config_map = r.string("profilesConfigMap");
  s.queue_to_batch_ratio = r.int32("maxQueueToBatchRatio");
  s.transition_penalty = r.number("transitionPenaltyFactor");
  s.gpu_resource = r.string("gpuResource");
  s.gpu_product_label = r.string("gpuProductLabel");
  return s;
}

sdk::ParsedSettings<Settings> parse_settings(const json& config, const std::string& path) {
  return sdk::parse_settings_with<Settings>(
      settings_schema(), config, path, [](const json&, const std::string&) { return std::vector<sdk::Error>{}; },
      read_settings);
}

sdk::Result<std::vector<ServiceClass>> parse_service_classes(const std::map<std::string, std::string>& data,
                                                             const std::string& path) {
  std::vector<ServiceClass> out;
  for (const auto& [key, text] : data) {
    const std::string at = path + ".data[" + key + "]";
    auto doc = parse_yaml(text, at);
    if (!doc) return doc.error();
    const json& j = *doc;
    if (!j.is_object()) return invalid("must be a mapping {name, priority, data}", at);
    ServiceClass sc;
    if (j.contains("name") && !j["name"].is_string()) return invalid("name must be a string", at + ".name");
    sc.name = j.value("name", key);
    if (j.contains("priority")) {
      auto p = number(j["priority"]);
      if (!p || *p < 1 || *p > 1000 || std::floor(*p) != *p)
        return invalid("priority must be an integer >= 1 (1 = highest), got " +
                           j["priority"].dump(-1, ' ', false, json::error_handler_t::replace),
                       at + ".priority");
      sc.priority = static_cast<int>(*p);
    }
    if (j.contains("data")) {
      if (!j["data"].is_array()) return invalid("must be a list of {model, slo-tpot, slo-ttft}", at + ".data");
      for (size_t i = 0; i < j["data"].size(); ++i) {
        const auto& e = j["data"][i];
        const std::string ep = at + ".data[" + std::to_string(i) + "]";
        if (!e.is_object() || !e.contains("model") || !e["model"].is_string())
          return invalid("needs a string `model`", ep);
        sdk::Slo slo;
        slo.service_class = sc.name;
        slo.priority = sc.priority;
        for (const auto& [field, target] : {std::pair<const char*, std::optional<double>*>{"slo-ttft", &slo.ttft_ms},
                                            {"slo-tpot", &slo.itl_ms},
                                            {"slo-tps", &slo.tps}}) {
          if (!e.contains(field)) continue;
          auto v = number(e[field]);
          if (!v || !(*v > 0))
            return invalid(std::string("must be a positive number, got ") +
                               e[field].dump(-1, ' ', false, json::error_handler_t::replace),
                           ep + "." + field);
          *target = *v;
        }
        sc.slo_by_model[e["model"].get<std::string>()] = slo;
      }
    }
    out.push_back(std::move(sc));
  }
  return out;
}

sdk::Result<ProfileEntry> parse_profile_entry(const json& e, const std::string& path) {
  if (!e.is_object()) return invalid("must be a mapping {acc, accCount, maxBatchSize, perfParms}", path);
  ProfileEntry out;
  if (e.contains("accCount")) {
    auto c = number(e["accCount"]);
    if (!c)
      return invalid("must be a number, got " + e["accCount"].dump(-1, ' ', false, json::error_handler_t::replace),
                     path + ".accCount");
    out.gpus = *c <= 0 ? 1 : static_cast<int>(*c);  // upstream: <= 0 -> 1
  }
  auto mb = e.contains("maxBatchSize") ? number(e["maxBatchSize"]) : std::nullopt;
  if (!mb || *mb < 1 || std::floor(*mb) != *mb)
    return invalid("maxBatchSize must be an integer >= 1" +
                       (e.contains("maxBatchSize")
                            ? ", got " + e["maxBatchSize"].dump(-1, ' ', false, json::error_handler_t::replace)
                            : std::string(" (missing)")),
                   path + ".maxBatchSize");
  out.profile.max_batch = static_cast<int>(*mb);
  const json* perf = e.contains("perfParms") ? &e["perfParms"] : nullptr;
  if (!perf || !perf->is_object()) return invalid("missing perfParms {decodeParms, prefillParms}", path + ".perfParms");
  struct Field {
    const char* group;
    const char* name;
    double* out;
  };
  const Field fields[] = {{"decodeParms", "alpha", &out.profile.alpha},
                          {"decodeParms", "beta", &out.profile.beta},
                          {"prefillParms", "gamma", &out.profile.gamma},
                          {"prefillParms", "delta", &out.profile.delta}};
  for (const auto& f : fields) {
    const std::string fp = path + ".perfParms." + f.group + "." + f.name;
    if (!perf->contains(f.group) || !(*perf)[f.group].is_object() || !(*perf)[f.group].contains(f.name))
      return invalid("missing", fp);
    auto v = number((*perf)[f.group][f.name]);
    if (!v || *v < 0)
      return invalid(
          "must be a number >= 0, got " + (*perf)[f.group][f.name].dump(-1, ' ', false, json::error_handler_t::replace),
          fp);
    *f.out = *v;
  }
  return out;
}

sdk::Result<std::map<ProfileKey, ProfileEntry>> parse_profiles(const std::map<std::string, std::string>& data,
                                                               const std::string& path) {
  std::map<ProfileKey, ProfileEntry> out;
  for (const auto& [key, text] : data) {
    const std::string at = path + ".data[" + key + "]";
    auto doc = parse_yaml(text, at);
    if (!doc) return doc.error();
    json list = doc->is_array() ? *doc : json::array({*doc});
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string ep = doc->is_array() ? at + "[" + std::to_string(i) + "]" : at;
      const auto& e = list[i];
      if (!e.is_object() || !e.contains("model") || !e["model"].is_string() || !e.contains("acc") ||
          !e["acc"].is_string())
        return invalid("needs string `model` and `acc`", ep);
      auto entry = parse_profile_entry(e, ep);
      if (!entry) return entry.error();
      out[ProfileKey{e["model"].get<std::string>(), upper(e["acc"].get<std::string>())}] = *entry;
    }
  }
  return out;
}

sdk::Result<std::map<std::string, int>> parse_capacity(const std::map<std::string, std::string>& data,
                                                       const std::string& path) {
  std::map<std::string, int> out;
  for (const auto& [type, text] : data) {
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || !end || *end != '\0' || v < 0 || v > 10'000'000)
      return invalid("must be a whole number of GPUs >= 0, got \"" + text + "\"", path + ".data[" + type + "]");
    out[upper(type)] = static_cast<int>(v);
  }
  return out;
}

}  // namespace wva::queueing
