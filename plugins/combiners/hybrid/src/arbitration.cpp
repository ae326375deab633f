#include "arbitration.h"

#include <algorithm>

namespace wva::combiners::hybrid {

namespace {

int sign(int target, int current) { return target > current ? 1 : (target < current ? -1 : 0); }

const char* action(int s) { return s > 0 ? "up" : (s < 0 ? "down" : "hold"); }

}  // namespace

HybridOutcome arbitrate_variant(int current, const sdk::VariantTarget* sat, const sdk::VariantTarget* mod,
                                bool scale_down_safe, const std::string& sat_name, const std::string& mod_name) {
  HybridOutcome out;
  const std::string cur = std::to_string(current);
  if (!sat && !mod) {
    out.row = "-";
    out.replicas = current;
    out.winner = "hold";
    out.reason = "hybrid: no opinion from either analyzer; holding " + cur;
    return out;
  }
  if (!sat) {
    out.row = "0a";
    out.replicas = mod->replicas;
    out.winner = mod_name;
    out.reason = "hybrid row 0a (" + sat_name + " has no opinion): " + mod_name + " target " +
                 std::to_string(mod->replicas) + " (current " + cur + "); " + mod->reason;
    return out;
  }
  if (!mod) {
    out.row = "0b";
    out.replicas = sat->replicas;
    out.winner = sat_name;
    out.reason = "hybrid row 0b (" + mod_name + " has no opinion): " + sat_name + " target " +
                 std::to_string(sat->replicas) + " (current " + cur + "); " + sat->reason;
    return out;
  }
  const int s = sign(sat->replicas, current);
  const int m = sign(mod->replicas, current);
  const std::string both = " (" + sat_name + " " + action(s) + " to " + std::to_string(sat->replicas) + ", " +
                           mod_name + " " + action(m) + " to " + std::to_string(mod->replicas) + ", current " + cur +
                           ")";
  auto pick = [&](const char* row, int replicas, const std::string& winner, const std::string& what,
                  const std::string& detail) {
    out.row = row;
    out.replicas = replicas;
    out.winner = winner;
    out.reason = std::string("hybrid row ") + row + both + ": " + what + (detail.empty() ? "" : "; " + detail);
  };
  if (s > 0 && m > 0) {
    const bool model_wins = mod->replicas >= sat->replicas;
    pick("1", std::max(sat->replicas, mod->replicas), model_wins ? mod_name : sat_name,
         "both scale up, the larger target wins", model_wins ? mod->reason : sat->reason);
  } else if (s > 0) {
    pick("2", sat->replicas, sat_name, "saturation forces scale-up over the model", sat->reason);
  } else if (m < 0 && !scale_down_safe) {
    pick("3", current, "hold", "saturation vetoes the model's scale-down (not safe to lose a replica)", sat->reason);
  } else if (m > 0) {
    pick("4", mod->replicas, mod_name, "the model scales up ahead of saturation", mod->reason);
  } else if (m < 0) {
    pick("5", mod->replicas, mod_name, "the model's scale-down is safe", mod->reason);
  } else if (s < 0) {
    pick("6", current, "hold", "the model says the current replicas are right; no saturation-driven scale-down",
         mod->reason);
  } else {
    pick("7", current, "hold", "both hold", "");
  }
  return out;
}

sdk::Recommendation combine_hybrid(const sdk::ModelView& model, const sdk::Recommendation& saturation,
                                   const sdk::Recommendation& model_based, const std::string& saturation_default,
                                   const std::string& model_default) {
  sdk::Recommendation out;
  out.analyzer = "hybrid";
  out.scale_down_safe = saturation.scale_down_safe;
  out.confidence = std::min(saturation.has_opinion ? saturation.confidence : 1.0,
                            model_based.has_opinion ? model_based.confidence : 1.0);
  out.conditions = model_based.conditions;
  for (const auto& c : saturation.conditions) {
    // The model-based analyzer owns OptimizationReady; saturation's other conditions pass through.
    const bool dup = std::any_of(out.conditions.begin(), out.conditions.end(),
                                 [&](const sdk::Condition& x) { return x.type == c.type; });
    if (!dup) out.conditions.push_back(c);
  }
  const std::string sat_name = saturation.analyzer.empty() ? saturation_default : saturation.analyzer;
  const std::string mod_name = model_based.analyzer.empty() ? model_default : model_based.analyzer;
  if (!saturation.has_opinion && !model_based.has_opinion) {
    out.has_opinion = false;
    out.reason = "hybrid: neither " + sat_name + " (" + saturation.reason + ") nor " + mod_name + " (" +
                 model_based.reason + ") has an opinion";
    return out;
  }
  std::string rows;
  for (const auto& v : model.variants) {
    const sdk::VariantTarget* s = saturation.has_opinion ? saturation.target_for(v.name) : nullptr;
    const sdk::VariantTarget* m = model_based.has_opinion ? model_based.target_for(v.name) : nullptr;
    if (!s && !m) continue;
    auto o = arbitrate_variant(v.current_replicas, s, m, saturation.has_opinion ? saturation.scale_down_safe : true,
                               sat_name, mod_name);
    out.targets.push_back(sdk::VariantTarget{v.name, o.replicas, o.reason});
    rows += (rows.empty() ? "" : ", ") + v.name + ": row " + o.row + " -> " + std::to_string(o.replicas) + " (" +
            o.winner + ")";
  }
  out.has_opinion = !out.targets.empty();
  out.reason = "hybrid of " + sat_name + " and " + mod_name + ": " + (rows.empty() ? "no variant" : rows);
  return out;
}

}  // namespace wva::combiners::hybrid
