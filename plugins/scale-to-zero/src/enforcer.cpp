#include "enforcer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wva::scale_to_zero {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string seconds_text(std::chrono::milliseconds d) {
  const long long s = d.count() / 1000;
  if (s % 3600 == 0 && s >= 3600) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0 && s >= 60) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

bool at_zero(const sdk::ModelView& model) {
  if (model.variants.empty()) return false;
  return std::all_of(model.variants.begin(), model.variants.end(),
                     [](const sdk::Variant& v) { return v.current_replicas == 0; });
}

// Every variant at 0 except `keep` at `replicas`.
std::vector<sdk::VariantTarget> only(const sdk::ModelView& model, const sdk::Variant* keep, int replicas,
                                     const std::string& reason) {
  std::vector<sdk::VariantTarget> out;
  for (const auto& v : model.variants) out.push_back({v.name, keep && v.name == keep->name ? replicas : 0, reason});
  return out;
}

}  // namespace

std::optional<Demand> observe_demand(const sdk::ModelView& model) {
  const sdk::ModelMetrics& m = model.metrics;
  // Evidence of demand counts whatever the state (it can only keep capacity).
  if (m.load.router_queue && *m.load.router_queue > 0)
    return Demand{true, number(*m.load.router_queue) + " request(s) waiting at the router"};
  double waiting = 0, running = 0;
  bool every_pod_reports = !m.replicas.empty();
  for (const auto& r : m.replicas) {
    waiting += r.waiting.value_or(0);
    running += r.running.value_or(0);
    if (!r.waiting || !r.running) every_pod_reports = false;
  }
  if (waiting > 0 || running > 0)
    return Demand{true, number(running) + " running and " + number(waiting) + " waiting request(s) on the pods"};
  std::optional<double> arrivals = m.load.arrival_rate;
  for (const auto& [variant, load] : m.load_by_variant)
    if (load.arrival_rate) arrivals = std::max(arrivals.value_or(0), *load.arrival_rate);
  if (arrivals && *arrivals > 0) return Demand{true, "arrival rate " + number(*arrivals) + "/s"};

  // No demand seen: is that an observation or a lack of one?
  if (at_zero(model)) {
    if (m.load.router_queue) return Demand{false, "no request waiting at the router"};
    return std::nullopt;  // no pods and no router signal: nothing to observe
  }
  if (m.state != sdk::MetricsState::kOk || !every_pod_reports) return std::nullopt;
  return Demand{false, "no request running or waiting" + std::string(arrivals ? ", arrival rate 0" : "")};
}

const sdk::Variant* cheapest_variant(const sdk::ModelView& model) {
  const sdk::Variant* best = nullptr;
  for (const auto& v : model.variants) {
    if (!best) {
      best = &v;
      continue;
    }
    const bool known = v.cost_per_replica.has_value(), best_known = best->cost_per_replica.has_value();
    if (known != best_known) {
      if (known) best = &v;
      continue;
    }
    if (known && *v.cost_per_replica != *best->cost_per_replica) {
      if (*v.cost_per_replica < *best->cost_per_replica) best = &v;
      continue;
    }
    if (v.name < best->name) best = &v;
  }
  return best;
}

sdk::Recommendation enforce(const ZeroPolicy& policy, const sdk::ModelView& model, const sdk::Recommendation* upstream,
                            Activity& activity, sdk::TimePoint now) {
  const auto demand = observe_demand(model);
  if (!demand) {
    activity.observed_since.reset();  // a gap in what we saw: the quiet window starts again
  } else {
    if (!activity.observed_since) activity.observed_since = now;
    if (demand->any) activity.last_demand = now;
  }
  const bool zero = at_zero(model);
  const sdk::Variant* cheapest = cheapest_variant(model);
  const bool upstream_opinion = upstream && upstream->has_opinion;

  sdk::Recommendation rec;
  rec.scale_down_safe = upstream ? upstream->scale_down_safe : true;
  if (upstream_opinion) {
    rec.targets = upstream->targets;
    rec.reason = upstream->reason;
  }
  int upstream_sum = 0;
  for (const auto& t : rec.targets) upstream_sum += std::max(0, t.replicas);

  // 1. Scale from zero: demand for a model that runs nothing.
  if (zero && demand && demand->any) {
    const std::string why = "scale from zero: " + demand->what;
    if (upstream_opinion && upstream_sum > 0) {
      rec.reason = why + "; " + rec.reason;
      return rec;
    }
    rec.targets = only(model, cheapest, 1, why + " (1 replica on the cheapest variant)");
    rec.reason = why;
    return rec;
  }
  if (policy.enabled) {
    // 2. At zero without demand: stays there.
    if (zero) {
      const std::string why = "scaled to zero (" + policy.source +
                              "): " + (demand ? demand->what : std::string("no router queue signal to watch"));
      rec.targets = only(model, nullptr, 0, why);
      rec.reason = why;
      return rec;
    }
    // 3. Quiet for the whole retention window.
    if (demand && !demand->any && activity.observed_since) {
      const sdk::TimePoint quiet_since =
          std::max(*activity.observed_since, activity.last_demand.value_or(*activity.observed_since));
      const auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(now - quiet_since);
      if (quiet >= policy.retention) {
        const std::string why = "scale to zero: no demand for " + seconds_text(quiet) + " (retention " +
                                seconds_text(policy.retention) + ", " + policy.source + ")";
        rec.targets = only(model, nullptr, 0, why);
        rec.reason = why;
        return rec;
      }
    }
  }
  // 4. Never to zero otherwise: the cheapest variant keeps one replica.
  const std::string keep_why = policy.enabled ? "the cheapest variant keeps 1 replica until the model has had no "
                                                "demand for " +
                                                    seconds_text(policy.retention)
                                              : "the cheapest variant keeps 1 replica (scale to zero is off)";
  if (upstream_opinion) {
    if (upstream_sum == 0 && cheapest)
      for (auto& t : rec.targets)
        if (t.variant == cheapest->name) {
          t.replicas = 1;
          t.reason = keep_why;
        }
    if (upstream_sum == 0 && cheapest && !rec.target_for(cheapest->name))
      rec.targets.push_back({cheapest->name, 1, keep_why});
    return rec;
  }
  if (zero && cheapest) {  // a model at zero with scale to zero off comes back
    rec.targets = only(model, cheapest, 1, keep_why);
    rec.reason = keep_why;
    return rec;
  }
  rec.has_opinion = false;
  rec.reason = upstream ? upstream->reason : "no upstream recommendation";
  return rec;
}

}  // namespace wva::scale_to_zero
