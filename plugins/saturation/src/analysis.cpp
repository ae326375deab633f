#include "analysis.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <utility>

#include "text.h"

namespace wva::saturation {

namespace {

struct VariantState {
  const sdk::Variant* v = nullptr;
  int reporting = 0;  // pods with at least one value
  int saturated = 0;
  int included = 0;  // pods in the spare averages
  int n_kv = 0;      // included pods with a KV value
  int n_q = 0;
  double sum_spare_kv = 0;
  double sum_spare_q = 0;
  // Over every reporting pod (for sizing when all of them are saturated).
  int n_kv_all = 0;
  int n_q_all = 0;
  double sum_kv_all = 0;
  double sum_q_all = 0;
  std::vector<std::string> saturated_pods;
  int unknown = 0;  // ready pods without metrics (pendingAsCapacity)
  int pending = 0;  // pending pods counted in flight (pendingAsCapacity)
  int target = 0;
  bool in_analysis() const { return reporting > 0; }
};

// A signal's mean load over the pods used, with how many pods carry it.
struct Signal {
  std::optional<double> avg_spare;  // threshold - mean load
  int base = 0;                     // pods over which the load is spread (with the unknown ones)
  int supply = 0;                   // base + pending
};

std::string plural(int n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

std::string cost_text(const sdk::Variant& v) {
  return v.cost_per_replica ? "cost " + format_cost(*v.cost_per_replica) : "cost unknown";
}

int hold_value(const sdk::Variant& v) {
  return v.previous_desired && *v.previous_desired != 0 ? *v.previous_desired : v.current_replicas;
}

// Cheapest first; unknown cost after every known one; ties by name (alphabetical).
bool cheaper(const sdk::Variant* a, const sdk::Variant* b) {
  if (a->cost_per_replica.has_value() != b->cost_per_replica.has_value()) return a->cost_per_replica.has_value();
  if (a->cost_per_replica && *a->cost_per_replica != *b->cost_per_replica)
    return *a->cost_per_replica < *b->cost_per_replica;
  return a->name < b->name;
}

// Most expensive first; unknown cost before every known one; ties by name (reverse alphabetical).
bool dearer(const sdk::Variant* a, const sdk::Variant* b) {
  if (a->cost_per_replica.has_value() != b->cost_per_replica.has_value()) return !a->cost_per_replica.has_value();
  if (a->cost_per_replica && *a->cost_per_replica != *b->cost_per_replica)
    return *a->cost_per_replica > *b->cost_per_replica;
  return a->name > b->name;
}

}  // namespace

Outcome analyze_model(const sdk::ModelView& model, const Thresholds& th, const Options& opt,
                      const std::string& analyzer) {
  Outcome out;
  Details& d = out.details;
  sdk::Recommendation& rec = out.recommendation;
  rec.analyzer = analyzer;

  const bool missing_is_zero = !opt.pending_as_capacity;  // upstream: a missing KV or queue value is 0
  const double kvT = th.kv_cache_threshold, qT = th.queue_length_threshold;
  const double kvS = th.kv_spare_trigger, qS = th.queue_spare_trigger;

  std::vector<VariantState> states(model.variants.size());
  std::map<std::string, std::size_t, std::less<>> by_name;
  for (std::size_t i = 0; i < model.variants.size(); ++i) {
    states[i].v = &model.variants[i];
    by_name.emplace(model.variants[i].name, i);
  }

  // Conditions that hold whatever the metrics say.
  for (const auto& v : model.variants)
    if (!v.cost_per_replica)
      rec.conditions.push_back(sdk::Condition{
          "CostAvailable", "False", "AcceleratorCostUnknown",
          "variant " + v.name + (v.accelerator.empty() ? "" : " (" + v.accelerator + ")") + " has no cost" +
              (v.cost_source.empty() ? "" : ": " + v.cost_source) + "; it is scaled up last and scaled down first"});

  // 1. Per-pod saturation and spare capacity (docs/upstream.md section 4.2).
  if (model.metrics.state == sdk::MetricsState::kOk) {
    for (const auto& r : model.metrics.replicas) {
      auto it = by_name.find(r.variant);
      if (it == by_name.end()) continue;  // a pod of no variant of this model
      VariantState& s = states[it->second];
      std::optional<double> kv = r.kv_cache_usage, q = r.waiting;
      auto sanitize = [&](std::optional<double>& x) {
        if (x && !std::isfinite(*x)) x = missing_is_zero ? std::optional<double>(0.0) : std::nullopt;
      };
      sanitize(kv);
      sanitize(q);
      if (!kv && !q) continue;  // a pod without any value does not report
      if (missing_is_zero) {
        if (!kv) kv = 0.0;
        if (!q) q = 0.0;
      }
      if (q) q = std::trunc(*q);  // waiting requests are a count (upstream: int(value))
      const bool saturated = (kv && *kv >= kvT) || (q && *q >= qT);
      ++s.reporting;
      if (saturated) {
        ++s.saturated;
        s.saturated_pods.push_back(r.pod);
      }
      if (kv) {
        ++s.n_kv_all;
        s.sum_kv_all += *kv;
      }
      if (q) {
        ++s.n_q_all;
        s.sum_q_all += *q;
      }
      if (saturated && !opt.count_saturated) continue;
      ++s.included;
      if (kv) {
        ++s.n_kv;
        s.sum_spare_kv += kvT - *kv;
      }
      if (q) {
        ++s.n_q;
        s.sum_spare_q += qT - *q;
      }
    }
  }

  int reporting = 0, included = 0, saturated = 0, unknown = 0, pending = 0;
  for (auto& s : states) {
    reporting += s.reporting;
    included += s.included;
    saturated += s.saturated;
    if (opt.pending_as_capacity) {
      const int non_reporting = std::max(0, s.v->current_replicas - s.reporting);
      s.pending = std::min(std::max(0, s.v->pending_replicas), non_reporting);
      s.unknown = non_reporting - s.pending;
      unknown += s.unknown;
      pending += s.pending;
    }
  }
  d.has_metrics = reporting > 0;
  d.replicas_counted = included;
  d.saturated = saturated;
  d.unknown = unknown;
  d.pending = pending;

  // No metrics at all: no opinion; the host holds the last decision.
  if (!d.has_metrics) {
    rec.has_opinion = false;
    rec.scale_down_safe = false;
    rec.confidence = 0;
    rec.reason = model.metrics.state != sdk::MetricsState::kOk
                     ? std::string("no metrics (") + sdk::to_string(model.metrics.state) +
                           (model.metrics.message.empty() ? "" : ": " + model.metrics.message) +
                           "); holding the last decision"
                     : "no pod of the model reports KV-cache or queue metrics; holding the last decision";
    rec.conditions.push_back(sdk::Condition{
        "MetricsAvailable", "False",
        model.metrics.state == sdk::MetricsState::kOk
            ? "NoPodMetrics"
            : (model.metrics.state == sdk::MetricsState::kStale
                   ? "MetricsStale"
                   : (model.metrics.state == sdk::MetricsState::kError ? "MetricsUnavailable" : "NoMetrics")),
        rec.reason});
    for (const auto& v : model.variants) rec.targets.push_back({v.name, hold_value(v), rec.reason});
    return out;
  }

  // 2. Model-level averages (all variants pooled). Upstream pools per-variant means weighted by counts.
  auto pooled = [&](int VariantState::*n, double VariantState::*sum) -> std::optional<double> {
    int total = 0;
    double weighted = 0;
    for (const auto& s : states) {
      if (s.*n == 0) continue;
      const double avg = s.*sum / s.*n;
      weighted += avg * s.*n;
      total += s.*n;
    }
    if (total == 0) return std::nullopt;
    return weighted / total;
  };
  auto all_mean = [&](int VariantState::*n, double VariantState::*sum) -> std::optional<double> {
    int total = 0;
    double acc = 0;
    for (const auto& s : states) {
      total += s.*n;
      acc += s.*sum;
    }
    if (total == 0) return std::nullopt;
    return acc / total;
  };

  Signal kv, q;
  const bool all_excluded = included == 0;  // every reporting pod saturated (and saturated ones excluded)
  if (!all_excluded) {
    kv.avg_spare = pooled(&VariantState::n_kv, &VariantState::sum_spare_kv);
    q.avg_spare = pooled(&VariantState::n_q, &VariantState::sum_spare_q);
    kv.base = q.base = included + unknown;
  } else if (missing_is_zero) {
    kv.avg_spare = q.avg_spare = 0.0;  // upstream: averages are 0 when no replica is non-saturated
    kv.base = q.base = 0;
  } else {
    // pendingAsCapacity: estimate the load from every reporting pod, so that capacity in flight is
    // weighed against the real load rather than against "0 spare".
    if (auto m = all_mean(&VariantState::n_kv_all, &VariantState::sum_kv_all)) kv.avg_spare = kvT - *m;
    if (auto m = all_mean(&VariantState::n_q_all, &VariantState::sum_q_all)) q.avg_spare = qT - *m;
    kv.base = q.base = reporting + unknown;
  }
  kv.supply = kv.base + pending;
  q.supply = q.base + pending;
  // Sizing (proportional steps) needs a load even when every pod is saturated: take all pods then.
  Signal kv_size = kv, q_size = q;
  if (all_excluded) {
    kv_size = q_size = Signal{std::nullopt, reporting + unknown, reporting + unknown + pending};
    if (auto m = all_mean(&VariantState::n_kv_all, &VariantState::sum_kv_all)) kv_size.avg_spare = kvT - *m;
    if (auto m = all_mean(&VariantState::n_q_all, &VariantState::sum_q_all)) q_size.avg_spare = qT - *m;
  }
  d.avg_spare_kv = kv.avg_spare;
  d.avg_spare_queue = q.avg_spare;

  // Spare per replica once the capacity in flight has come up.
  auto effective_spare = [&](const Signal& s, double T) -> std::optional<double> {
    if (!s.avg_spare) return std::nullopt;
    if (s.supply == s.base || s.supply == 0) return s.avg_spare;
    return T - (T - *s.avg_spare) * (static_cast<double>(s.base) / static_cast<double>(s.supply));
  };
  const auto spare_kv = effective_spare(kv, kvT);
  const auto spare_q = effective_spare(q, qT);
  d.spare_kv = spare_kv.value_or(0);
  d.spare_queue = spare_q.value_or(0);
  d.kv_low = spare_kv && *spare_kv < kvS;
  d.queue_low = spare_q && *spare_q < qS;
  d.scale_up = d.kv_low || d.queue_low;

  // 3. N-1 safety: the non-saturated load spread over `k` fewer replicas keeps the trigger headroom.
  const double kv_need = kvS + (opt.hysteresis ? opt.kv_hysteresis : 0.0);
  const double q_need = qS + (opt.hysteresis ? opt.queue_hysteresis : 0.0);
  std::string unsafe_why;
  auto safe_after = [&](int k, std::optional<double>* rem_kv, std::optional<double>* rem_q) {
    bool any = false, ok = true;
    auto check = [&](const Signal& s, double T, double need, std::optional<double>* rem) {
      if (!s.avg_spare || s.supply - k < 1) return;
      const double load = T - *s.avg_spare;
      const double f = static_cast<double>(s.base) / static_cast<double>(s.supply - k);
      const double r = T - load * f;
      if (rem) *rem = r;
      any = true;
      if (!(r >= need)) ok = false;
    };
    check(kv, kvT, kv_need, rem_kv);
    check(q, qT, q_need, rem_q);
    return any && ok;
  };
  const int supply = std::max(kv.supply, q.supply);
  if (opt.count_saturated && saturated > 0) {
    std::string pods;
    for (const auto& s : states)
      for (const auto& p : s.saturated_pods) pods += (pods.empty() ? "" : ", ") + p;
    unsafe_why = plural(saturated, "replica") + " saturated (" + pods + ")";
  } else if (all_excluded || supply < 2) {
    const int counted = all_excluded ? 0 : supply;
    unsafe_why = "only " + std::to_string(counted) +
                 (opt.count_saturated || opt.pending_as_capacity ? " replica" : " non-saturated replica") +
                 (counted == 1 ? "" : "s") + " (at least 2 needed)";
  } else {
    d.scale_down_safe = safe_after(1, &d.rem_kv, &d.rem_queue);
    if (!d.scale_down_safe) {
      std::string parts;
      auto add_part = [&](const char* name, const std::optional<double>& rem, double need, double trig, int dec) {
        if (rem && !(*rem >= need))
          parts += (parts.empty() ? "" : ", ") + std::string(name) + " spare after removing one replica " +
                   fixed(*rem, dec) + " < " + fixed(trig, dec) +
                   (opt.hysteresis ? " + hysteresis " + fixed(need - trig, dec) : "");
      };
      add_part("KV", d.rem_kv, kv_need, kvS, 2);
      add_part("queue", d.rem_queue, q_need, qS, 2);
      unsafe_why = parts.empty() ? "no signal to judge it" : parts;
    }
  }

  // Population text for reasons.
  std::string population;
  if (all_excluded) {
    population = "all " + plural(reporting, "replica") + " saturated (KV >= " + fixed(kvT, 2) +
                 " or queue >= " + fixed(qT, 2) + ")";
  } else {
    population =
        "on " + (opt.count_saturated
                     ? plural(included, "replica") + (saturated ? " (" + std::to_string(saturated) + " saturated)" : "")
                     : std::to_string(included) + " non-saturated replica" + (included == 1 ? "" : "s"));
    if (unknown) population += " + " + std::to_string(unknown) + " without metrics (assumed at the mean)";
    if (pending) population += " + " + std::to_string(pending) + " pending (capacity in flight)";
  }
  auto signal_text = [&](bool low_only) {
    std::string t;
    auto one = [&](const char* name, const std::optional<double>& sp, double trig, bool low) {
      if (!sp || (low_only && !low)) return;
      t += (t.empty() ? "" : " and ") + std::string(name) + " spare " + fixed(*sp, 2) + (low ? " < " : " >= ") +
           "trigger " + fixed(trig, 2);
    };
    one("KV cache", spare_kv, kvS, d.kv_low);
    one("queue", spare_q, qS, d.queue_low);
    return t;
  };

  // 4. Targets (CalculateSaturationTargets).
  for (auto& s : states) s.target = hold_value(*s.v);
  auto floor_of = [&](const sdk::Variant& v) { return opt.unblock_transitions ? std::max(1, v.min_replicas) : 1; };
  const bool bounded = opt.unblock_transitions || opt.proportional_steps;

  if (!opt.unblock_transitions) {
    std::string why;
    for (const auto& s : states) {
      if (!s.in_analysis()) continue;
      const auto& v = *s.v;
      const bool desired_differs =
          v.previous_desired && *v.previous_desired != 0 && *v.previous_desired != v.current_replicas;
      const bool count_differs = s.reporting != v.current_replicas;
      if (desired_differs)
        why += (why.empty() ? "" : "; ") + v.name + ": desired " + std::to_string(*v.previous_desired) +
               " != current " + std::to_string(v.current_replicas);
      if (count_differs)
        why += (why.empty() ? "" : "; ") + v.name + ": " + std::to_string(s.reporting) + " of " +
               std::to_string(v.current_replicas) + " replicas report metrics";
    }
    if (!why.empty()) {
      d.in_transition = true;
      d.transition_why = why;
      rec.reason = "model in transition (" + why + "); holding every variant";
      rec.scale_down_safe = false;
      for (const auto& s : states) {
        const auto& v = *s.v;
        int t = v.current_replicas;
        if (!s.in_analysis()) t = hold_value(v);
        else if (v.previous_desired && *v.previous_desired != 0 && *v.previous_desired != v.current_replicas)
          t = *v.previous_desired;
        rec.targets.push_back({v.name, t, rec.reason});
      }
      return out;
    }
    for (auto& s : states)
      if (s.in_analysis()) s.target = s.reporting;
  } else {
    for (auto& s : states) {
      const auto& v = *s.v;
      int t = std::max(v.current_replicas, v.min_replicas);
      if (v.max_replicas) t = std::min(t, *v.max_replicas);
      s.target = std::max(t, 0);
    }
  }

  std::string action;
  std::vector<bool> changed(states.size(), false);
  std::size_t cheapest_all = 0, dearest_all = 0;
  for (std::size_t i = 1; i < states.size(); ++i) {
    if (cheaper(states[i].v, states[cheapest_all].v)) cheapest_all = i;
    if (dearer(states[i].v, states[dearest_all].v)) dearest_all = i;
  }
  if (d.scale_up) {
    int add = 1;
    bool sizing_capped = false;
    std::string sizing;
    if (opt.proportional_steps) {
      int needed = 0;
      auto need_for = [&](const Signal& s, double T, double trig) {
        if (!s.avg_spare || T - trig <= 0) return;
        const double load = (T - *s.avg_spare) * s.base;  // replica-equivalents of load
        const double n = std::ceil(load / (T - trig) - 1e-9);
        if (std::isfinite(n)) needed = std::max(needed, static_cast<int>(std::min(n, 1e6)));
      };
      need_for(kv_size, kvT, kvS);
      need_for(q_size, qT, qS);
      const int have = std::max(kv_size.supply, q_size.supply);
      const int in_flight = have - std::max(kv_size.base, q_size.base);
      // A waiting backlog is a one-off to drain, not a steady rate, and it keeps growing until new pods
      // are ready; sizing for it every cycle cascades (wva simulate, Azure conv x10: 2 -> 24 pods before
      // the first new pod was ready). So: at most double per cycle, and while a step is still in
      // flight, +1 at most until it lands and the signals are measured again.
      const int cap = in_flight > 0 ? 1 : std::max(1, have);
      add = std::min(std::max(1, needed - have), cap);
      if (needed - have > cap) sizing_capped = true;
      if (needed > 0)
        sizing =
            "load needs " + std::to_string(needed) + " replicas, " + std::to_string(have) + " counted" +
            (sizing_capped ? (in_flight > 0 ? " (step in flight: +1 at most)" : " (at most doubling per cycle)") : "") +
            "; ";
    }
    if (opt.max_scale_up_step) add = std::min(add, *opt.max_scale_up_step);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < states.size(); ++i) {
      const auto& s = states[i];
      if (opt.pending_as_capacity || (s.in_analysis() && s.v->pending_replicas == 0)) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return cheaper(states[a].v, states[b].v); });
    int left = add;
    std::string parts;
    bool first_pick = true;
    for (std::size_t i : order) {
      if (left == 0) break;
      auto& s = states[i];
      const int room = bounded && s.v->max_replicas ? *s.v->max_replicas - s.target : INT_MAX;
      if (room <= 0) continue;
      const int take = std::min(left, room);
      s.target += take;
      left -= take;
      changed[i] = true;
      d.step += take;
      parts += (parts.empty() ? "" : ", ") + std::string("+") + std::to_string(take) + " on " + s.v->name + " (" +
               (first_pick ? (i == cheapest_all ? "cheapest, " : "cheapest available, ") : "") + cost_text(*s.v) +
               (bounded && s.v->max_replicas && s.target == *s.v->max_replicas ? ", at max" : "") + ")";
      first_pick = false;
    }
    const std::string head = all_excluded ? population : signal_text(true) + " " + population;
    if (d.step > 0) {
      action = sizing + parts;
    } else {
      std::string why = opt.pending_as_capacity ? "every variant is at its max"
                                                : (bounded ? "every variant has pending replicas or is at its max"
                                                           : "every variant has pending replicas");
      if (order.empty() && !opt.pending_as_capacity) why = "every variant has pending replicas";
      action = "no variant can take a replica (" + why + "); holding";
    }
    rec.reason = head + "; " + action;
  } else if (d.scale_down_safe) {
    // One replica per cycle, also with proportionalSteps: the N-1 check is a proof for one step only.
    // Removing k at once by extrapolating KV use also removes compute that KV does not measure; in
    // `wva simulate` (Azure conv x10) bulk removal emptied a 24-pod fleet to 2 and flapped back.
    const int remove = 1;
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < states.size(); ++i)
      if (opt.pending_as_capacity || states[i].in_analysis()) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return dearer(states[a].v, states[b].v); });
    int left = remove;
    std::string parts;
    bool first_pick = true;
    for (std::size_t i : order) {
      if (left == 0) break;
      auto& s = states[i];
      const int can = s.target - floor_of(*s.v);
      if (can <= 0) continue;
      const int take = std::min(left, can);
      s.target -= take;
      left -= take;
      changed[i] = true;
      d.step -= take;
      parts += (parts.empty() ? "" : ", ") + std::string("-") + std::to_string(take) + " on " + s.v->name + " (" +
               (first_pick ? (i == dearest_all ? "most expensive, " : "most expensive available, ") : "") +
               cost_text(*s.v) + ")";
      first_pick = false;
    }
    std::string after = "spare after removing " + std::string(remove == 1 ? "one replica" : "replicas") + ":";
    if (d.rem_kv) after += " KV " + fixed(*d.rem_kv, 2) + " >= " + fixed(kv_need, 2);
    if (d.rem_queue)
      after += std::string(d.rem_kv ? "," : "") + " queue " + fixed(*d.rem_queue, 2) + " >= " + fixed(q_need, 2);
    rec.reason = signal_text(false) + " " + population + "; " + after + "; " +
                 (d.step < 0 ? parts : "every variant is at its floor; holding");
  } else {
    rec.reason = signal_text(false) + " " + population + "; no scale-down: " + unsafe_why + "; holding";
  }

  rec.scale_down_safe = !d.scale_up && d.scale_down_safe;
  for (std::size_t i = 0; i < states.size(); ++i) {
    const auto& s = states[i];
    std::string reason = rec.reason;
    if (!s.in_analysis() && !changed[i] && !opt.pending_as_capacity)
      reason = "no pod of " + s.v->name + " reports metrics; keeping " + std::to_string(s.target);
    rec.targets.push_back({s.v->name, s.target, std::move(reason)});
  }
  return out;
}

}  // namespace wva::saturation
