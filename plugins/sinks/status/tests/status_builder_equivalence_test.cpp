// build_status_patch and plan_events read the object where it is (no copies of its members, no maps);
// their results equal those of the versions that copied, kept here as they were, over random objects
// and updates.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "status_builder.h"

namespace wva::plugins::status {
namespace {

using nlohmann::json;
using sdk::Condition;
using sdk::Decision;

constexpr std::size_t kMaxVariantReason = 4096;

std::string truncate_utf8(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

const Condition* find_condition(const std::vector<Condition>& cs, const std::string& type) {
  for (const auto& c : cs)
    if (c.type == type) return &c;
  return nullptr;
}

const std::string* string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

std::optional<std::string> string_field(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

json condition_json_before(const Condition& c, const json* existing, const std::optional<long long>& generation,
                           const std::string& now) {
  const std::string* transition = &now;
  if (const std::string* status = existing ? string_at(*existing, "status") : nullptr; status && *status == c.status)
    if (const std::string* kept = string_at(*existing, "lastTransitionTime"); kept && !kept->empty()) transition = kept;
  json out = json::object();
  out["type"] = c.type;
  out["status"] = c.status;
  out["reason"] = c.reason;
  out["message"] = c.message;
  out["lastTransitionTime"] = *transition;
  if (generation) out["observedGeneration"] = *generation;
  return out;
}

json build_status_patch_before(const VaUpdate& update, const json* current, sdk::TimePoint now) {
  const std::string now_s = format_rfc3339(now);
  const json empty = json::object();
  const json& obj = current && current->is_object() ? *current : empty;
  const json& status = obj.contains("status") && obj["status"].is_object() ? obj["status"] : empty;

  std::optional<long long> generation;
  if (obj.contains("metadata") && obj["metadata"].is_object()) {
    const auto& md = obj["metadata"];
    if (auto it = md.find("generation"); it != md.end() && it->is_number_integer() && it->get<long long>() >= 0)
      generation = it->get<long long>();
  }

  json patch = json::object();

  // Conditions: the list replaces the old one as a whole (merge patch), so keep the ones we do not own.
  json conditions = json::array();
  std::set<std::string> seen;
  if (auto it = status.find("conditions"); it != status.end() && it->is_array()) {
    for (const auto& ec : *it) {
      auto type = string_field(ec, "type");
      if (!type || !seen.insert(*type).second) continue;  // malformed or duplicate: dropped
      if (const Condition* c = find_condition(update.conditions, *type))
        conditions.push_back(condition_json_before(*c, &ec, generation, now_s));
      else conditions.push_back(ec);
    }
  }
  for (const auto& c : update.conditions)
    if (seen.insert(c.type).second) conditions.push_back(condition_json_before(c, nullptr, generation, now_s));
  patch["conditions"] = std::move(conditions);

  if (update.write_allocation && !update.decisions.empty()) {
    // Previous lastRunTime per variant, kept for held decisions.
    std::map<std::string, std::string> previous_run;
    if (auto it = status.find("variants"); it != status.end() && it->is_array())
      for (const auto& v : *it)
        if (auto name = string_field(v, "name"))
          if (auto t = string_field(v, "lastRunTime")) previous_run[*name] = *t;

    const auto& first = update.decisions.front();
    json alloc = json::object();
    alloc["numReplicas"] = first.desired;
    alloc["lastRunTime"] = now_s;
    alloc["accelerator"] = first.accelerator.empty() ? json(nullptr) : json(first.accelerator);
    if (first.held)
      if (auto p = previous_run.find(first.variant); p != previous_run.end()) alloc["lastRunTime"] = p->second;
    patch["desiredOptimizedAlloc"] = std::move(alloc);

    json variants = json::array();
    for (const auto& d : update.decisions) {
      json v = json::object();
      v["name"] = d.variant;
      v["currentReplicas"] = std::max(0, d.current);
      v["desiredReplicas"] = d.desired;
      v["lastRunTime"] = now_s;
      if (!d.accelerator.empty()) v["accelerator"] = d.accelerator;
      if (!d.reason.empty()) v["reason"] = truncate_utf8(d.reason, kMaxVariantReason);
      if (!d.analyzer.empty()) v["analyzer"] = d.analyzer;
      if (d.held)
        if (auto p = previous_run.find(d.variant); p != previous_run.end()) v["lastRunTime"] = p->second;
      variants.push_back(std::move(v));
    }
    patch["variants"] = std::move(variants);
  }
  return patch;
}

std::vector<PlannedEvent> plan_events_before(const VaUpdate& update, const json* current) {
  std::vector<PlannedEvent> out;
  const json empty = json::object();
  const json& obj = current && current->is_object() ? *current : empty;
  const json& status = obj.contains("status") && obj["status"].is_object() ? obj["status"] : empty;
  if (update.write_allocation) {
    std::map<std::string, long long> previous;
    if (auto it = status.find("variants"); it != status.end() && it->is_array())
      for (const auto& v : *it)
        if (auto name = string_field(v, "name");
            name && v.contains("desiredReplicas") && v["desiredReplicas"].is_number_integer())
          previous[*name] = v["desiredReplicas"].get<long long>();
    for (const auto& d : update.decisions) {
      if (d.held) continue;
      auto p = previous.find(d.variant);
      if (p != previous.end() && p->second == d.desired) continue;
      std::string msg = "Variant " + d.variant + ": desired replicas " +
                        (p == previous.end() ? std::to_string(d.desired)
                                             : std::to_string(p->second) + " -> " + std::to_string(d.desired));
      if (!d.reason.empty()) msg += " (" + truncate_utf8(d.reason, 200) + ")";
      out.push_back({"Normal", "ScalingRecommendation", msg});
    }
  }
  std::map<std::string, std::string> previous_status;
  if (auto it = status.find("conditions"); it != status.end() && it->is_array())
    for (const auto& c : *it)
      if (auto type = string_field(c, "type"))
        if (auto st = string_field(c, "status")) previous_status[*type] = *st;
  for (const auto& c : update.conditions) {
    if (c.status != "False") continue;
    auto p = previous_status.find(c.type);
    if (p != previous_status.end() && p->second == "False") continue;
    out.push_back({"Warning", c.reason.empty() ? c.type + "False" : c.reason, c.message});
  }
  return out;
}

template <class T>
const T& pick(std::mt19937& rng, const std::vector<T>& from) {
  return from[rng() % from.size()];
}

// A random list entry: mostly well-formed, sometimes a wrong type, a missing or duplicate name.
json random_entry(std::mt19937& rng, const char* name_key, const std::vector<std::string>& names) {
  if (rng() % 10 == 0) return rng() % 2 == 0 ? json("x") : json(3);
  json e = json::object();
  if (rng() % 8 != 0) e[name_key] = rng() % 10 == 0 ? json(7) : json(pick(rng, names));
  static const std::vector<std::string> statuses{"True", "False", "Unknown"};
  if (rng() % 6 != 0) e["status"] = pick(rng, statuses);
  if (rng() % 4 != 0)
    e["lastTransitionTime"] = rng() % 5 == 0 ? "" : "2025-01-01T00:00:0" + std::to_string(rng() % 3) + "Z";
  if (rng() % 4 != 0) e["lastRunTime"] = "2025-01-01T00:0" + std::to_string(rng() % 3) + ":00Z";
  if (rng() % 5 != 0) e["desiredReplicas"] = rng() % 6 == 0 ? json(1.5) : json(static_cast<int>(rng() % 3));
  return e;
}

TEST(StatusBuilderEquivalence, PatchAndEventsEqualTheCopyingVersionsOnRandomObjects) {
  std::mt19937 rng(71206);
  const std::vector<std::string> types{"TargetResolved", "MetricsAvailable", "OptimizationReady", "example.com/Other"};
  const std::vector<std::string> variants{"a", "b", "c"};
  const std::vector<std::string> statuses{"True", "False", "Unknown"};
  const sdk::TimePoint now = sdk::TimePoint{} + std::chrono::hours(24 * 365 * 55);
  for (int i = 0; i < 5000; ++i) {
    json obj;
    if (rng() % 8 != 0) {
      obj = json::object();
      if (rng() % 5 != 0) {
        obj["metadata"] = json::object();
        if (rng() % 4 != 0)
          obj["metadata"]["generation"] = rng() % 6 == 0 ? json(-1) : json(static_cast<int>(rng() % 5));
      }
      if (rng() % 6 != 0) {
        json status = rng() % 10 == 0 ? json("broken") : json::object();
        if (status.is_object()) {
          if (rng() % 5 != 0) {
            status["conditions"] = rng() % 10 == 0 ? json::object() : json::array();
            if (status["conditions"].is_array())
              for (int k = 0, n = static_cast<int>(rng() % 5); k < n; ++k)
                status["conditions"].push_back(random_entry(rng, "type", types));
          }
          if (rng() % 4 != 0) {
            status["variants"] = json::array();
            for (int k = 0, n = static_cast<int>(rng() % 4); k < n; ++k)
              status["variants"].push_back(random_entry(rng, "name", variants));
          }
        }
        obj["status"] = status;
      }
    } else if (rng() % 2 == 0) {
      obj = json::array();
    }
    VaUpdate u;
    u.key = VaKey{"ns", "va"};
    for (int k = 0, n = static_cast<int>(rng() % 4); k < n; ++k) {
      Decision d;
      d.variant = pick(rng, variants);
      d.desired = static_cast<int>(rng() % 3);
      d.current = static_cast<int>(rng() % 3) - 1;
      d.held = rng() % 3 == 0;
      if (rng() % 2 == 0) d.accelerator = "H100";
      if (rng() % 2 == 0) d.reason = "because";
      if (rng() % 2 == 0) d.analyzer = "capacity";
      u.decisions.push_back(d);
    }
    u.write_allocation = rng() % 4 != 0;
    for (int k = 0, n = static_cast<int>(rng() % 5); k < n; ++k)
      u.conditions.push_back({pick(rng, types), pick(rng, statuses), rng() % 5 == 0 ? "" : "Why", "message"});
    const json* current = rng() % 10 == 0 ? nullptr : &obj;
    ASSERT_EQ(build_status_patch(u, current, now), build_status_patch_before(u, current, now)) << obj.dump();
    const auto events = plan_events(u, current), before = plan_events_before(u, current);
    ASSERT_EQ(events.size(), before.size()) << obj.dump();
    for (std::size_t e = 0; e < events.size(); ++e) {
      EXPECT_EQ(events[e].type, before[e].type);
      EXPECT_EQ(events[e].reason, before[e].reason);
      EXPECT_EQ(events[e].message, before[e].message);
    }
  }
}

}  // namespace
}  // namespace wva::plugins::status
