#include "analyzer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wva::queueing {

namespace {

sdk::Condition condition(std::string status, std::string reason, std::string message) {
  return sdk::Condition{"OptimizationReady", std::move(status), std::move(reason), std::move(message)};
}

sdk::Recommendation no_opinion(const std::string& analyzer, const std::string& reason, const std::string& message) {
  sdk::Recommendation r;
  r.analyzer = analyzer;
  r.has_opinion = false;
  r.reason = message;
  r.confidence = 0;
  r.conditions.push_back(condition("False", reason, message));
  return r;
}

struct ResolvedProfile {
  sdk::PerformanceProfile profile;
  int gpus = 1;
  std::string source;
};

std::optional<ResolvedProfile> resolve_profile(const sdk::ModelView& model, const sdk::Variant& v,
                                               const Snapshot& snapshot, const Settings& settings) {
  if (v.profile) return ResolvedProfile{*v.profile, std::max(1, v.gpus_per_replica), "VA spec.modelProfile"};
  const std::string acc = upper(v.accelerator);
  if (auto it = snapshot.profiles.find(ProfileKey{model.key.model_id, acc}); it != snapshot.profiles.end())
    return ResolvedProfile{it->second.profile, it->second.gpus, "ConfigMap " + settings.profiles_config_map};
  return std::nullopt;
}

std::optional<sdk::Slo> resolve_slo(const sdk::ModelView& model, const Snapshot& snapshot) {
  if (model.slo && (model.slo->ttft_ms || model.slo->itl_ms || model.slo->tps)) return model.slo;
  // The host's SLO comes from service-classes-config (with the VA's sloClassRef); this plugin's own
  // ConfigMap (serviceClassConfigMap) is read by the same parser and matched by the same rules.
  return sdk::util::find_slo(snapshot.service_classes, model.key);
}

}  // namespace

std::string format_number(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

ModelPlan plan_model(const sdk::ModelView& model, const Snapshot& snapshot, const Settings& settings) {
  ModelPlan plan;
  auto refuse = [&](std::string reason, std::string message) {
    plan.sizable = false;
    plan.no_opinion_reason = std::move(reason);
    plan.no_opinion_message = std::move(message);
    return plan;
  };
  const auto& metrics = model.metrics;
  if (metrics.state == sdk::MetricsState::kError || metrics.state == sdk::MetricsState::kStale)
    return refuse("MetricsUnavailable", std::string("metrics ") + sdk::to_string(metrics.state) +
                                            (metrics.message.empty() ? "" : ": " + metrics.message) +
                                            "; cannot size from the queueing model");
  // Profiles.
  std::vector<ResolvedProfile> profiles;
  for (size_t i = 0; i < model.variants.size(); ++i) {
    const auto& v = model.variants[i];
    if (auto p = resolve_profile(model, v, snapshot, settings)) {
      VariantSizing s;
      s.index = i;
      s.profile_source = p->source;
      plan.sized.push_back(std::move(s));
      profiles.push_back(*p);
    } else {
      plan.unsized.push_back(v.name);
    }
  }
  if (plan.sized.empty())
    return refuse(
        "NoProfile", "no performance profile for any variant (accelerators: " +
                         [&] {
                           std::string a;
                           for (const auto& v : model.variants)
                             a += (a.empty() ? "" : ", ") + (v.accelerator.empty() ? "?" : v.accelerator);
                           return a;
                         }() +
                         "); set spec.modelProfile.accelerators[] or the ConfigMap " + settings.profiles_config_map);
  // SLO.
  auto slo = resolve_slo(model, snapshot);
  if (!slo)
    return refuse("NoSLO", "no SLO for model " + model.key.model_id + " in " + settings.service_class_config_map);
  plan.slo = *slo;

  // Load: per variant when every running variant has its own, else the model's.
  const auto& by_variant = metrics.load_by_variant;
  bool complete = !by_variant.empty();
  std::vector<std::string> missing;
  for (const auto& v : model.variants) {
    auto it = by_variant.find(v.name);
    const bool has = it != by_variant.end() && it->second.arrival_rate;
    if (!has && v.current_replicas > 0) {
      complete = false;
      missing.push_back(v.name);
    }
  }
  double rate_sum = 0, in_w = 0, out_w = 0, weight = 0;
  std::optional<double> in_any, out_any;
  for (const auto& [name, load] : by_variant) {
    if (!load.arrival_rate) continue;
    const bool sized = std::any_of(plan.sized.begin(), plan.sized.end(), [&, &name = name](const VariantSizing& s) {
      return model.variants[s.index].name == name;
    });
    const bool known = std::any_of(model.variants.begin(), model.variants.end(),
                                   [&, &name = name](const sdk::Variant& v) { return v.name == name; });
    if (!known || !sized) continue;  // load of unsized variants stays on them
    rate_sum += *load.arrival_rate;
    if (load.avg_input_tokens) in_any = load.avg_input_tokens;
    if (load.avg_output_tokens) out_any = load.avg_output_tokens;
    if (load.avg_input_tokens && load.avg_output_tokens && *load.arrival_rate > 0) {
      in_w += *load.arrival_rate * *load.avg_input_tokens;
      out_w += *load.arrival_rate * *load.avg_output_tokens;
      weight += *load.arrival_rate;
    }
  }
  std::optional<double> in_tokens, out_tokens;
  if (complete) {
    plan.load = rate_sum;
    plan.load_note = "per-variant load";
    if (weight > 0) {
      in_tokens = in_w / weight;
      out_tokens = out_w / weight;
    } else {
      in_tokens = in_any ? in_any : metrics.load.avg_input_tokens;
      out_tokens = out_any ? out_any : metrics.load.avg_output_tokens;
    }
  } else if (metrics.load.arrival_rate) {
    plan.load = *metrics.load.arrival_rate;
    // Load that per-variant data places on variants we cannot size stays on them.
    for (const auto& name : plan.unsized)
      if (auto it = by_variant.find(name); it != by_variant.end() && it->second.arrival_rate)
        plan.load = std::max(0.0, plan.load - *it->second.arrival_rate);
    plan.load_note = missing.empty() ? "model-level load (no per-variant load)"
                                     : "model-level load (no per-variant load for " +
                                           [&] {
                                             std::string a;
                                             for (const auto& m : missing) a += (a.empty() ? "" : ", ") + m;
                                             return a;
                                           }() +
                                           ")";
    in_tokens = metrics.load.avg_input_tokens ? metrics.load.avg_input_tokens
                                              : (weight > 0 ? std::optional<double>(in_w / weight) : in_any);
    out_tokens = metrics.load.avg_output_tokens ? metrics.load.avg_output_tokens
                                                : (weight > 0 ? std::optional<double>(out_w / weight) : out_any);
  } else {
    std::string m = "no arrival rate for the model";
    if (!missing.empty()) {
      m += " (running variants without load: ";
      for (size_t i = 0; i < missing.size(); ++i) m += (i ? ", " : "") + missing[i];
      m += ")";
    }
    return refuse("NoLoad", m);
  }
  if (!std::isfinite(plan.load) || plan.load < 0) return refuse("NoLoad", "arrival rate is not a number >= 0");
  if (plan.load > 0 && (!in_tokens || !out_tokens))
    return refuse("NoLoad", "arrival rate " + format_number(plan.load) +
                                " req/s but no mean input/output token counts; cannot size");
  // Zero output tokens with traffic: a request still produces one token.
  plan.in_tokens = in_tokens ? std::max(0.0, *in_tokens) : 0.0;
  plan.out_tokens = out_tokens ? std::max(1.0, *out_tokens) : 1.0;
  if (plan.slo.tps && plan.out_tokens > 0) {
    const double tps_rate = *plan.slo.tps / plan.out_tokens;
    if (tps_rate > plan.load) {
      plan.load = tps_rate;
      plan.load_note += "; raised to the TPS target " + format_number(*plan.slo.tps, 0) + " tokens/s";
    }
  }

  // Max rate per replica of each sized variant.
  SloTargets targets{plan.slo.ttft_ms, plan.slo.itl_ms, plan.slo.tps};
  bool any_feasible = false;
  for (size_t k = 0; k < plan.sized.size(); ++k) {
    auto& s = plan.sized[k];
    const auto& prof = profiles[k].profile;
    ServiceParams params{prof.alpha,     prof.beta,      prof.gamma,      prof.delta,
                         prof.max_batch, plan.in_tokens, plan.out_tokens, settings.queue_to_batch_ratio};
    auto qm = QueueModel::make(params);
    if (!qm) {
      s.max.feasible = false;
      s.max.reason = "invalid profile (" + s.profile_source + "): " + qm.error().message;
      continue;
    }
    s.model = *qm;
    s.max = max_rate(*s.model, targets);
    any_feasible = any_feasible || s.max.feasible;
  }
  if (!any_feasible &&
      std::none_of(plan.sized.begin(), plan.sized.end(), [](const VariantSizing& s) { return s.model.has_value(); }))
    return refuse("NoProfile", "no valid performance profile: " + plan.sized.front().max.reason);
  if (!any_feasible && plan.load > 0) {
    // No rate meets the SLO: size for stability (the most a replica carries) and say so.
    plan.slo_infeasible = true;
    std::string why;
    for (auto& s : plan.sized) {
      const auto& v = model.variants[s.index];
      why += (why.empty() ? "" : "; ") + v.name + ": " + s.max.reason;
      if (s.model) {
        s.max = max_rate(*s.model, SloTargets{});
        s.max.reason = "SLO infeasible; stability limit " + format_number(s.max.rate, 3) + " req/s per replica";
      }
    }
    plan.infeasible_note = why;
  }

  // The allocation problem.
  double max_cost_per_gpu = 0;
  for (const auto& s : plan.sized) {
    const auto& v = model.variants[s.index];
    if (v.cost_per_replica)
      max_cost_per_gpu = std::max(max_cost_per_gpu, *v.cost_per_replica / std::max(1, v.gpus_per_replica));
  }
  plan.problem.keep_one = !model.scale_to_zero;
  plan.problem.penalty_factor = settings.transition_penalty;
  plan.problem.load = plan.load;
  for (size_t k = 0; k < plan.sized.size(); ++k) {
    const auto& s = plan.sized[k];
    const auto& v = model.variants[s.index];
    VariantOption o;
    o.name = v.name;
    o.accelerator = upper(v.accelerator.empty() ? v.name : v.accelerator);
    o.gpus_per_replica = std::max(1, profiles[k].gpus);
    if (v.cost_per_replica) {
      o.cost_per_replica = *v.cost_per_replica;
    } else {
      // Unknown cost is never 0: price it like the dearest known GPU (or 1 per GPU when none is known),
      // so the variant is used last.
      o.cost_known = false;
      o.cost_per_replica = (max_cost_per_gpu > 0 ? max_cost_per_gpu : 1.0) * o.gpus_per_replica;
      plan.notes.push_back(v.name + ": cost unknown (" + (v.cost_source.empty() ? "no cost" : v.cost_source) +
                           "), priced at " + format_number(o.cost_per_replica) + " per replica");
    }
    o.current = v.current_replicas;
    o.floor = model.scale_to_zero ? 0 : std::max(0, v.min_replicas);
    o.max = v.max_replicas;
    o.rate_per_replica = s.max.feasible ? s.max.rate : 0.0;
    plan.problem.variants.push_back(o);
  }
  plan.candidates = candidate_allocations(plan.problem);
  plan.sizable = true;
  return plan;
}

sdk::Recommendation recommend(const sdk::ModelView& model, const ModelPlan& plan, const std::vector<int>& replicas,
                              const std::string& analyzer, const std::string& extra_reason) {
  sdk::Recommendation rec;
  rec.analyzer = analyzer;
  double capacity = 0, cost = 0;
  for (size_t k = 0; k < plan.sized.size(); ++k) {
    capacity += replicas[k] * plan.problem.variants[k].rate_per_replica;
    cost += replicas[k] * plan.problem.variants[k].cost_per_replica;
  }
  for (size_t k = 0; k < plan.sized.size(); ++k) {
    const auto& s = plan.sized[k];
    const auto& o = plan.problem.variants[k];
    const auto& v = model.variants[s.index];
    std::string reason = v.name + " (" + (v.accelerator.empty() ? "?" : v.accelerator) +
                         "): " + std::to_string(replicas[k]) + " replica" + (replicas[k] == 1 ? "" : "s") + "; " +
                         s.max.reason + " [profile: " + s.profile_source + "]";
    if (replicas[k] > 0 && o.rate_per_replica > 0 && capacity > 0 && plan.load > 0 && s.model) {
      const double share = plan.load * o.rate_per_replica / capacity;  // capacity-proportional routing
      const auto at = s.model->at(share);
      reason += "; at " + format_number(share, 3) + " req/s per replica: TTFT " + format_number(at.ttft_ms, 1) +
                " ms, ITL " + format_number(at.itl_ms, 2) + " ms";
    }
    if (!o.cost_known) reason += "; cost unknown";
    rec.targets.push_back(sdk::VariantTarget{v.name, replicas[k], reason});
  }
  std::string summary = "load " + format_number(plan.load, 3) + " req/s (" + plan.load_note + "; " +
                        format_number(plan.in_tokens, 0) + " in / " + format_number(plan.out_tokens, 0) +
                        " out tokens); ";
  if (plan.load == 0) {
    summary += std::string("zero load: minimum replicas") + (model.scale_to_zero ? " (scale-to-zero on)" : "");
  } else {
    std::string alloc;
    for (size_t k = 0; k < plan.sized.size(); ++k)
      if (replicas[k] > 0)
        alloc += (alloc.empty() ? "" : " + ") + std::to_string(replicas[k]) + " x " + plan.problem.variants[k].name;
    summary += "allocation " + (alloc.empty() ? std::string("none") : alloc) + " carries " +
               format_number(capacity, 3) + " req/s within the SLO at cost " + format_number(cost);
  }
  if (plan.candidates.size() > 1) {
    summary += "; next best: ";
    for (size_t c = 0; c < plan.candidates.size() && c < 3; ++c) {
      if (plan.candidates[c].replicas == replicas) continue;
      std::string alloc;
      for (size_t k = 0; k < plan.sized.size(); ++k)
        if (plan.candidates[c].replicas[k] > 0)
          alloc += (alloc.empty() ? "" : " + ") + std::to_string(plan.candidates[c].replicas[k]) + " x " +
                   plan.problem.variants[k].name;
      summary += alloc + " at value " + format_number(plan.candidates[c].value);
      break;
    }
  }
  if (!plan.unsized.empty()) {
    summary += "; no profile (no opinion) for";
    for (const auto& n : plan.unsized) summary += " " + n;
  }
  for (const auto& n : plan.notes) summary += "; " + n;
  if (!extra_reason.empty()) summary += "; " + extra_reason;
  rec.reason = summary;

  if (plan.slo_infeasible) {
    rec.confidence = 0.5;
    rec.conditions.push_back(condition("False", "SLOInfeasible",
                                       "no variant meets the SLO at any arrival rate (" + plan.infeasible_note +
                                           "); sized for queue stability instead"));
  } else if (plan.load > capacity * (1 + 1e-9) && plan.load > 0) {
    rec.conditions.push_back(condition("False", "MaxReplicasLimit",
                                       "the load " + format_number(plan.load, 3) + " req/s exceeds the " +
                                           format_number(capacity, 3) + " req/s the allowed replicas carry"));
  } else {
    rec.conditions.push_back(condition("True", "Optimized", summary));
  }
  return rec;
}

sdk::Recommendation analyze_model(const sdk::ModelView& model, const Snapshot& snapshot, const Settings& settings,
                                  const std::string& analyzer) {
  ModelPlan plan = plan_model(model, snapshot, settings);
  if (!plan.sizable) return no_opinion(analyzer, plan.no_opinion_reason, plan.no_opinion_message);
  std::string warn;
  for (const auto& w : snapshot.warnings) warn += (warn.empty() ? "" : "; ") + w;
  if (!settings.limited) return recommend(model, plan, plan.candidates.front().replicas, analyzer, warn);

  auto it = snapshot.plan.find(model.key);
  if (!snapshot.limited_planned || it == snapshot.plan.end()) {
    auto rec = recommend(model, plan, plan.candidates.front().replicas, analyzer,
                         "limited mode: no capacity plan for this model this cycle (it had no load when the cycle "
                         "was prepared); sized without the GPU limit" +
                             (warn.empty() ? "" : "; " + warn));
    rec.confidence = 0.5;
    return rec;
  }
  const auto& lr = it->second;
  if (!lr.allocated || lr.replicas.size() != plan.sized.size()) {
    auto rec = no_opinion(analyzer, "InsufficientCapacity", "limited mode: " + lr.reason);
    return rec;
  }
  auto rec =
      recommend(model, plan, lr.replicas, analyzer, "limited mode: " + lr.reason + (warn.empty() ? "" : "; " + warn));
  if (lr.best_effort) {
    rec.confidence = 0.5;
    rec.conditions.clear();
    rec.conditions.push_back(condition("False", "InsufficientCapacity", "limited mode: " + lr.reason));
  }
  return rec;
}

std::map<sdk::ModelKey, LimitedResult> plan_limited(std::span<const sdk::ModelView> models, const Snapshot& snapshot,
                                                    const Settings& settings) {
  std::map<std::string, int> capacity = snapshot.capacity;
  std::vector<ModelCandidates> input;
  std::vector<sdk::ModelKey> keys;
  for (const auto& m : models) {
    ModelPlan plan = plan_model(m, snapshot, settings);
    if (!plan.sizable) {
      // No opinion: it keeps what it runs, so its GPUs are not free for others.
      for (const auto& v : m.variants) {
        const std::string type = upper(v.accelerator.empty() ? v.name : v.accelerator);
        if (auto c = capacity.find(type); c != capacity.end())
          c->second = std::max(0, c->second - v.current_replicas * std::max(1, v.gpus_per_replica));
      }
      continue;
    }
    // Unsized variants of a sized model also keep their GPUs.
    for (const auto& name : plan.unsized)
      for (const auto& v : m.variants)
        if (v.name == name)
          if (auto c = capacity.find(upper(v.accelerator.empty() ? v.name : v.accelerator)); c != capacity.end())
            c->second = std::max(0, c->second - v.current_replicas * std::max(1, v.gpus_per_replica));
    ModelCandidates mc;
    mc.id = m.key.to_string();
    mc.priority = plan.slo.priority;
    mc.candidates = plan.candidates;
    for (const auto& o : plan.problem.variants) {
      mc.gpus_per_replica.push_back(o.gpus_per_replica);
      mc.types.push_back(o.type());
      mc.current_value += o.current * o.cost_per_replica;
    }
    input.push_back(std::move(mc));
    keys.push_back(m.key);
  }
  auto results = allocate_limited(input, capacity, settings.best_effort);
  std::map<sdk::ModelKey, LimitedResult> out;
  for (size_t i = 0; i < results.size(); ++i) out[keys[i]] = std::move(results[i]);
  return out;
}

}  // namespace wva::queueing
