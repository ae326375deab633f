#include "host/decide.h"

#include <algorithm>
#include <memory>
#include <string_view>

namespace wva::framework {
namespace {

std::string_view first_reason(const std::vector<sdk::Recommendation>& chain) {
  for (const auto& r : chain)
    if (!r.reason.empty()) return r.reason;
  return "no analyzer had an opinion";
}

// `prefix` + `why` + ")" in one allocation of its exact size (operator+ chains leave up to twice that).
std::string wrapped(std::string_view prefix, std::string_view why) {
  std::string out;
  out.reserve(prefix.size() + why.size() + 1);
  out += prefix;
  out += why;
  out += ')';
  return out;
}

}  // namespace

sdk::Condition metrics_condition(const sdk::ModelMetrics& m) {
  switch (m.state) {
    case sdk::MetricsState::kOk:
      // A message with kOk names samples the source rejected (e.g. out of their domain).
      return {"MetricsAvailable", "True", "MetricsFound",
              std::string(sdk::kMetricsFoundMessage) + (m.message.empty() ? "" : "; " + m.message)};
    case sdk::MetricsState::kNoData:
      return {"MetricsAvailable", "False", "MetricsMissing",
              m.message.empty() ? std::string(sdk::kMetricsMissingMessage) : m.message};
    case sdk::MetricsState::kStale:
      return {"MetricsAvailable", "False", "MetricsStale", m.message.empty() ? "Metrics are stale" : m.message};
    case sdk::MetricsState::kError:
      return {"MetricsAvailable", "False", m.reason.empty() ? "SourceError" : m.reason,
              m.message.empty() ? "Failed to get metrics from the metrics source" : m.message};
  }
  return {};
}

void decide(const sdk::ModelView& model, const std::vector<sdk::Recommendation>& chain, const CombinedTargets& targets,
            bool analyzed, const std::optional<Hold>& hold, const std::string& disabled, DecisionMemory& memory,
            sdk::TimePoint now, std::vector<sdk::Decision>& out) {
  std::size_t chain_conditions = 0;
  for (const auto& rec : chain) chain_conditions += rec.conditions.size();
  // The model's conditions, in the order every decision lists them: the chain's, then MetricsAvailable.
  // A variant with a target adds its own OptimizationReady; the held ones share one more vector that
  // ends with the model's OptimizationReady=False.
  bool any_target = false;
  for (const auto& v : model.variants) any_target = any_target || targets.count(v.name) > 0;
  auto common = std::make_shared<std::vector<sdk::Condition>>();
  common->reserve(chain_conditions + (any_target ? 1 : 2));
  for (const auto& rec : chain) common->insert(common->end(), rec.conditions.begin(), rec.conditions.end());
  common->push_back(disabled.empty() ? metrics_condition(model.metrics)
                                     : sdk::Condition{"MetricsAvailable", "Unknown", "PipelineDisabled", disabled});
  const std::shared_ptr<const std::vector<sdk::Condition>> shared_common = common;
  std::shared_ptr<const std::vector<sdk::Condition>> shared_held;  // built at the first held variant
  std::string_view why;  // the hold's words (model-wide): the message of shared_held's OptimizationReady

  for (const auto& v : model.variants) {
    sdk::Decision& d = out.emplace_back();  // built where it stays
    d.trail.reserve(chain.size());
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
    }
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
      d.shared_conditions = shared_common;
      d.conditions.reserve(1);
      d.conditions.push_back({"OptimizationReady", "True", "OptimizationSucceeded", d.reason});
      memory.remember(d);
      continue;
    }
    if (!shared_held) {
      std::string message(hold       ? std::string_view(hold->message)
                          : analyzed ? first_reason(chain)
                                     : std::string_view(common->back().message));
      // Without a variant that has a target nobody shares `common`: the held vector is it, extended.
      auto held = any_target ? std::make_shared<std::vector<sdk::Condition>>() : common;
      if (any_target) {
        held->reserve(common->size() + 1);
        *held = *common;
      }
      held->push_back({"OptimizationReady", "False",
                       !disabled.empty() ? "PipelineDisabled"
                       : hold            ? hold->reason
                       : analyzed        ? "OptimizationFailed"
                                         : "MetricsUnavailable",
                       std::move(message)});
      why = held->back().message;  // valid while the shared vector lives (this function keeps it)
      shared_held = std::move(held);
    }
    if (auto last = memory.last(model.key, v.name)) {
      d.desired = last->desired;
      d.analyzer = last->analyzer;
      d.reason = wrapped("holding last decision (", why);
    } else {
      d.desired = v.current_replicas;
      d.reason = wrapped("keeping current replicas (", why);
    }
    d.held = true;
    d.shared_conditions = shared_held;
  }
}

}  // namespace wva::framework
