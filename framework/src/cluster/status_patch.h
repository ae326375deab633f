// Whether a status merge patch is worth writing: the rule both backends apply before they store one.
#pragma once

#include <nlohmann/json.hpp>

namespace wva::framework {

// lastRunTime says when a decision was last computed; alone it is not worth a write (the kube backend
// does not send it, the local backend does not store it, so a steady fleet costs no writes).
inline constexpr const char* kStatusRunTimeField = "lastRunTime";

// Whether applying the RFC 7396 merge patch `patch` to `status` would change it, every "lastRunTime"
// member (at any depth) aside, without making the patched copy. `status` is the object's .status as it
// is, or nullptr when the object has none (then any patch object changes it: it creates .status).
bool status_patch_changes(const nlohmann::json* status, const nlohmann::json& patch);

}  // namespace wva::framework
