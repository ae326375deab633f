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

struct ServiceClass {
  std::string name;
  int priority = 100;
  std::map<std::string, sdk::Slo> slo_by_model;  // model id -> SLO (service_class, priority filled in)
};

// `service-classes-config` data: each key is a file name whose value is YAML
// `{name, priority, data: [{model, slo-tpot, slo-ttft[, slo-tps]}]}`. Errors name the key and entry.
sdk::Result<std::vector<ServiceClass>> parse_service_classes(const std::map<std::string, std::string>& data,
                                                             const std::string& path);

struct ProfileKey {
  std::string model;
  std::string accelerator;  // upper-cased
  friend auto operator<=>(const ProfileKey&, const ProfileKey&) = default;
};
struct ProfileEntry {
  sdk::PerformanceProfile profile;
  int gpus = 1;  // accCount
};

// The `acc`-keyed entry shape of VA spec.modelProfile.accelerators[]:
// {acc, accCount, maxBatchSize, perfParms: {decodeParms: {alpha, beta}, prefillParms: {gamma, delta}}}.
// Numbers may be strings (the original CRD stores them as strings).
sdk::Result<ProfileEntry> parse_profile_entry(const nlohmann::json& entry, const std::string& path);

// The profiles ConfigMap: each value is YAML, one entry or a list of entries, each an accelerators[]
// entry plus `model`. Keyed by (model, accelerator).
sdk::Result<std::map<ProfileKey, ProfileEntry>> parse_profiles(const std::map<std::string, std::string>& data,
                                                               const std::string& path);

// The capacity ConfigMap: data `{<accelerator type>: "<GPU count>"}`.
sdk::Result<std::map<std::string, int>> parse_capacity(const std::map<std::string, std::string>& data,
                                                       const std::string& path);

std::string upper(std::string s);

}  // namespace wva::queueing
