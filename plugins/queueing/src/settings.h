// The queueing analyzer's settings (pipelines.yaml `analyzers: {queueing: {...}}`) and the ConfigMaps it
// reads each cycle: service classes (SLOs), optional performance profiles, GPU capacity (limited mode).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "allocation.h"
#include "wva/sdk/result.h"
#include "wva/sdk/settings_schema.h"
#include "wva/sdk/types.h"
#include "wva/sdk/util/model_profile.h"

namespace wva::queueing {

enum class CapacitySource { kConfigMap, kNodes };

struct Settings {
  bool limited = false;  // mode: unlimited | limited
  BestEffort best_effort = BestEffort::kNone;
  CapacitySource capacity_source = CapacitySource::kConfigMap;
  std::string capacity_config_map = "wva-accelerator-capacity";
  std::string service_class_config_map = "service-classes-config";
  std::string profiles_config_map = "wva-performance-profiles";  // optional: absent = not used
  int queue_to_batch_ratio = 10;
  double transition_penalty = 0.1;
  std::string gpu_resource = "nvidia.com/gpu";  // capacitySource: nodes
  std::string gpu_product_label = "nvidia.com/gpu.product";
};

// The settings as a schema the host validates before configure().
sdk::SettingsSchema settings_schema();
Settings read_settings(const nlohmann::json& validated);
// Schema and typed read at once, for tests: the settings or every error, each with its path.
sdk::ParsedSettings<Settings> parse_settings(const nlohmann::json& config, const std::string& path);

// Service classes are read with the one parser shared with the host, wva/sdk/util/service_classes.h
// (sdk::util::parse_service_classes / find_slo): a bad class or entry is reported and skipped.

struct ProfileKey {
  std::string model;
  std::string accelerator;  // upper-cased
  friend auto operator<=>(const ProfileKey&, const ProfileKey&) = default;
};
// One entry as wva/sdk/util/model_profile.h reads it (the VA spec.modelProfile.accelerators[] shape).
using ProfileEntry = sdk::util::ProfileEntry;

struct Profiles {
  std::map<ProfileKey, ProfileEntry> entries;
  std::vector<sdk::Error> problems;  // each bad entry with its path; it was skipped
};

// The profiles ConfigMap: each value is YAML, one entry or a list of entries, each a
// spec.modelProfile.accelerators[] entry plus `model`. Keyed by (model, accelerator).
Profiles parse_profiles(const std::map<std::string, std::string>& data, const std::string& path);

// The capacity ConfigMap: data `{<accelerator type>: "<GPU count>"}`.
sdk::Result<std::map<std::string, int>> parse_capacity(const std::map<std::string, std::string>& data,
                                                       const std::string& path);

std::string upper(std::string s);

}  // namespace wva::queueing
