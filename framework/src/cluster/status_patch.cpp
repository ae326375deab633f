#include "cluster/status_patch.h"

namespace wva::framework {
namespace {

using nlohmann::json;

// Equal as if every lastRunTime member, at any depth, were absent on both sides.
bool same_but_run_times(const json& a, const json& b) {
  if (a.is_object() && b.is_object()) {
    std::size_t a_members = 0;
    const std::size_t b_members = b.size() - (b.contains(kStatusRunTimeField) ? 1 : 0);
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (it.key() == kStatusRunTimeField) continue;
      ++a_members;
      auto other = b.find(it.key());
      if (other == b.end() || !same_but_run_times(it.value(), *other)) return false;
    }
    return a_members == b_members;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_but_run_times(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

bool patch_changes(const json& target, const json& patch) {
  if (!patch.is_object()) return !same_but_run_times(target, patch);
  if (!target.is_object()) {
    json after = target;
    after.merge_patch(patch);
    return !same_but_run_times(target, after);
  }
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.key() == kStatusRunTimeField) continue;
    auto current = target.find(it.key());
    if (it.value().is_null()) {
      if (current != target.end()) return true;  // removed
    } else if (current == target.end() || patch_changes(*current, it.value())) {
      return true;  // added (even as an empty object) or changed
    }
  }
  return false;
}

}  // namespace

bool status_patch_changes(const json* status, const json& patch) {
  if (status == nullptr) return !patch.is_null();  // a null patch of an absent status removes nothing
  return patch_changes(*status, patch);
}

}  // namespace wva::framework
