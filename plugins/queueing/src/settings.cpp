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

Profiles parse_profiles(const std::map<std::string, std::string>& data, const std::string& path) {
  Profiles out;
  for (const auto& [key, text] : data) {
    const std::string at = path + ".data[" + key + "]";
    auto doc = parse_yaml(text, at);
    if (!doc) {
      out.problems.push_back(doc.error());
      continue;
    }
    const json list = doc->is_array() ? *doc : json::array({*doc});
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string ep = doc->is_array() ? at + "[" + std::to_string(i) + "]" : at;
      const auto& e = list[i];
      if (!e.is_object() || !e.contains("model") || !e["model"].is_string()) {
        out.problems.push_back(invalid("needs a string `model`; entry skipped", ep));
        continue;
      }
      auto entry = sdk::util::parse_profile_entry(e, ep);
      if (!entry) {
        out.problems.push_back(entry.error());
        continue;
      }
      out.entries[ProfileKey{e["model"].get<std::string>(), upper(entry->accelerator)}] = *entry;
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
