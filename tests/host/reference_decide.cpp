#include "reference_decide.h"

#include <algorithm>

namespace wva::framework::reference {
namespace {

std::string first_reason(const std::vector<sdk::Recommendation>& chain) {
  for (const auto& r : chain)
    if (!r.reason.empty()) return r.reason;
  return "no analyzer had an opinion";
}

}  // namespace

void decide(const sdk::ModelView& model, const std::vector<sdk::Recommendation>& chain, const CombinedTargets& targets,
            bool analyzed, const std::optional<Hold>& hold, const std::string& disabled, DecisionMemory& memory,
            sdk::TimePoint now, std::vector<sdk::Decision>& out) {
  std::size_t chain_conditions = 0;
  for (const auto& rec : chain) chain_conditions += rec.conditions.size();
  const sdk::Condition metrics = disabled.empty()
                                     ? metrics_condition(model.metrics)
                                     : sdk::Condition{"MetricsAvailable", "Unknown", "PipelineDisabled", disabled};
  for (const auto& v : model.variants) {
    sdk::Decision& d = out.emplace_back();
    d.trail.reserve(chain.size());
    d.conditions.reserve(chain_conditions + 2);
    d.model = model.key;
    d.variant = v.name;
    d.va_name = model.va_name;
    d.accelerator = v.accelerator;
    d.current = v.current_replicas;
    d.time = now;
    for (const auto& rec : chain) {
      const auto* t = rec.target_for(v.name);
      d.trail.push_back({rec.analyzer, rec.has_opinion && t ? std::optional<int>(t->replicas) : std::nullopt,
                         t && !t->reason.empty() ? t->reason : rec.reason});
      for (const auto& c : rec.conditions) d.conditions.push_back(c);
    }
    d.conditions.push_back(metrics);
    if (auto it = targets.find(v.name); it != targets.end()) {
      int desired = std::max(it->second.replicas, v.min_replicas);
      if (v.max_replicas) desired = std::min(desired, *v.max_replicas);
      d.desired = desired;
      d.analyzer = it->second.analyzer;
      d.reason = it->second.reason;
      if (desired != it->second.replicas)
        d.reason += " (clamped to [" + std::to_string(v.min_replicas) + ", " +
                    (v.max_replicas ? std::to_string(*v.max_replicas) : std::string("inf")) + "]" +
                    (v.hpa_bounded ? " by the HorizontalPodAutoscaler of Deployment " + model.key.ns + "/" + v.name
                                   : std::string()) +
                    ")";
      d.conditions.push_back({"OptimizationReady", "True", "OptimizationSucceeded", d.reason});
      memory.remember(d);
    } else {
      const std::string why = hold ? hold->message : analyzed ? first_reason(chain) : metrics.message;
      if (auto last = memory.last(model.key, v.name)) {
        d.desired = last->desired;
        d.analyzer = last->analyzer;
        d.reason = "holding last decision (" + why + ")";
      } else {
        d.desired = v.current_replicas;
        d.reason = "keeping current replicas (" + why + ")";
      }
      d.held = true;
      d.conditions.push_back({"OptimizationReady", "False",
                              !disabled.empty() ? "PipelineDisabled"
                              : hold            ? hold->reason
                              : analyzed        ? "OptimizationFailed"
                                                : "MetricsUnavailable",
                              why});
    }
  }
}

}  // namespace wva::framework::reference
