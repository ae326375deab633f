// The one reading of a performance-profile entry: an element of a VA's spec.modelProfile.accelerators[]
// (the original CRD's shape), also the entry shape of profile ConfigMaps. Used by the host's model builder
// and by plugins that read profiles from a ConfigMap. Not part of the plugin contract: a utility.
//
//   {acc, accCount, maxBatchSize, kvCacheTokens,
//    perfParms: {decodeParms: {alpha, beta}, prefillParms: {gamma, delta}}}
// Rules: `acc` a non-empty string; alpha, beta, gamma, delta required numbers >= 0 (ms; numeric strings
// too, as the original CRD stores them); maxBatchSize a required integer >= 1; accCount an optional
// integer >= 1 (absent = 1); kvCacheTokens an optional positive number. Missing data is never read as 0:
// an entry with a missing or bad value is an error naming the field, and gives no profile.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"
#include "wva/sdk/types.h"
#include "wva/sdk/util/config_values.h"

namespace wva::sdk::util {

struct ProfileEntry {
  std::string accelerator;  // `acc` as written
  PerformanceProfile profile;
  int gpus = 1;  // accCount
};

// `path` names the entry, e.g. "VariantAutoscaling ns/name spec.modelProfile.accelerators[0]".
inline Result<ProfileEntry> parse_profile_entry(const nlohmann::json& e, const std::string& path) {
  auto invalid = [&](std::string message, const std::string& field) -> Error {
    return make_error(ErrorCode::kInvalidConfig, std::move(message), field.empty() ? path : path + "." + field);
  };
  if (!e.is_object()) return invalid("must be a mapping {acc, accCount, maxBatchSize, perfParms}", "");
  ProfileEntry out;
  auto acc = e.find("acc");
  if (acc == e.end() || !acc->is_string() || acc->get_ref<const std::string&>().empty())
    return invalid("needs a non-empty string", "acc");
  out.accelerator = acc->get<std::string>();

  auto mb = e.find("maxBatchSize");
  if (mb == e.end()) return invalid("is missing (an integer >= 1)", "maxBatchSize");
  const auto batch = config_int(*mb);
  if (!batch || *batch < 1) return invalid("must be an integer >= 1, got " + describe_value(*mb), "maxBatchSize");
  out.profile.max_batch = *batch;

  if (auto c = e.find("accCount"); c != e.end()) {
    const auto count = config_int(*c);
    if (!count || *count < 1) return invalid("must be an integer >= 1, got " + describe_value(*c), "accCount");
    out.gpus = *count;
  }
  if (auto kv = e.find("kvCacheTokens"); kv != e.end()) {
    const auto v = config_number(*kv);
    if (!v || !(*v > 0)) return invalid("must be a positive number, got " + describe_value(*kv), "kvCacheTokens");
    out.profile.kv_capacity_tokens = *v;
  }

  struct Field {
    const char* group;
    const char* name;
    double* out;
  };
  const Field fields[] = {{"decodeParms", "alpha", &out.profile.alpha},
                          {"decodeParms", "beta", &out.profile.beta},
                          {"prefillParms", "gamma", &out.profile.gamma},
                          {"prefillParms", "delta", &out.profile.delta}};
  auto perf = e.find("perfParms");
  if (perf == e.end() || !perf->is_object())
    return invalid("is missing (a mapping {decodeParms: {alpha, beta}, prefillParms: {gamma, delta}})", "perfParms");
  for (const auto& f : fields) {
    const std::string field = std::string("perfParms.") + f.group + "." + f.name;
    auto group = perf->find(f.group);
    if (group == perf->end() || !group->is_object() || !group->contains(f.name))
      return invalid("is missing (a number >= 0)", field);
    const auto& raw = (*group)[f.name];
    const auto v = config_number(raw);
    if (!v || *v < 0) return invalid("must be a number >= 0, got " + describe_value(raw), field);
    *f.out = *v;
  }
  return out;
}

}  // namespace wva::sdk::util
