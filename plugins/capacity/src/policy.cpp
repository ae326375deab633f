#include "policy.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "wva/sdk/util/histogram.h"

namespace wva::capacity {

namespace {

// A double as an ostream with precision 3 writes it (%.3g: to_chars' general format is printf's).
void append_num(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 3);
  out.append(buf, r.ptr);
}

std::string num(double v) {
  std::string s;
  append_num(s, v);
  return s;
}

sdk::Recommendation no_opinion(const std::string& reason, const std::string& condition_reason) {
  sdk::Recommendation r;
  r.has_opinion = false;
  r.reason = reason;
  r.conditions.push_back({"OptimizationReady", "False", condition_reason, reason});
  return r;
}

}  // namespace

Coefficients corrected_prior(const StepModel& unmeasured, const StepModel& measured) {
  const Coefficients& u = unmeasured.coefficients();
  const Coefficients& m = measured.coefficients();
  const Coefficients& mp = measured.prior();
  auto scale = [](double x, double learned, double prior) { return prior > 0 ? x * learned / prior : x; };
  return {scale(u.base_ms, m.base_ms, mp.base_ms), scale(u.a0_us, m.a0_us, mp.a0_us), scale(u.a1_us, m.a1_us, mp.a1_us),
          scale(u.b_us, m.b_us, mp.b_us)};
}

double normal_upper_z(double p) {
  p = std::clamp(p, 1e-9, 0.5);
  double lo = 0, hi = 7;  // P(Z > z) = erfc(z / sqrt 2) / 2, decreasing in z: bisection, 60 steps
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

std::pair<double, double> arrival_slopes(std::span<const ArrivalSample> samples) {
  std::vector<double> decode, prefill;
  for (std::size_t i = 0; i < samples.size(); ++i)
    for (std::size_t j = i + 1; j < samples.size(); ++j) {
      const double dt = samples[j].t - samples[i].t;
      if (dt <= 0) continue;
      decode.push_back((samples[j].decode_tps - samples[i].decode_tps) / dt);
      prefill.push_back((samples[j].prefill_tps - samples[i].prefill_tps) / dt);
    }
  auto median = [](std::vector<double>& x) {
    if (x.empty()) return 0.0;
    std::nth_element(x.begin(), x.begin() + x.size() / 2, x.end());
    return x[x.size() / 2];
  };
  return {median(decode), median(prefill)};
}

double cold_start_fraction(double headroom, double observed_s, double horizon_s) {
  if (horizon_s <= 0 || observed_s >= horizon_s) return 0;
  return headroom * (1 - std::max(0.0, observed_s) / horizon_s);
}

void score_forecasts(TrendSkill& skill, double now, double horizon, double decode_now, double prefill_now) {
  constexpr double kForget = 0.97;  // per forecast scored: about 30 forecasts (15 minutes at 30 s) count
  while (!skill.pending.empty() && skill.pending.front().t <= now - horizon) {
    const TrendForecast& f = skill.pending.front();
    double xy = 0, xx = 0;
    auto add = [&](double level, double rise, double actual) {
      if (level <= 0 || rise <= 0) return;
      // A fall below the level counts as no rise: the forecast orders capacity for rises only, and
      // a fall (the end of a ramp) says nothing of whether rises persist.
      const double predicted = rise / level, realized = std::max(0.0, actual - level) / level;
      xy += predicted * realized, xx += predicted * predicted;
    };
    add(f.level_decode, f.rise_decode, decode_now);
    add(f.level_prefill, f.rise_prefill, prefill_now);
    if (xx > 0) skill.xy = kForget * skill.xy + xy, skill.xx = kForget * skill.xx + xx;
    skill.pending.pop_front();
  }
}

double trend_skill(const TrendSkill& skill) {
  // A prior of one forecast of a 10 % rise that came true: the trend is trusted until forecasts say
  // otherwise.
  constexpr double kPrior = 0.01;
  return std::clamp((skill.xy + kPrior) / (skill.xx + kPrior), 0.0, 1.0);
}

bool significant_rise(double rise_tps, double tokens_per_request, double rate, double window_s) {
  if (!(rise_tps > 0) || !(tokens_per_request > 0) || !(rate > 0) || !(window_s > 0)) return false;
  const double noise_tps = tokens_per_request * std::sqrt(rate / window_s);
  return rise_tps > kRampSignificance * noise_tps;
}

bool fleet_short(double waiting_now, double waiting_before, int ready_pods, double safety_waiting) {
  return waiting_now > waiting_before && waiting_now >= safety_waiting * std::max(1, ready_pods);
}

std::optional<double> parameters_in_id(std::string_view id) {
  std::optional<double> found;
  auto digit = [&](std::size_t i) { return i < id.size() && id[i] >= '0' && id[i] <= '9'; };
  auto alnum = [&](std::size_t i) {
    return i < id.size() && (digit(i) || (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z'));
  };
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (!digit(i) || (i > 0 && (digit(i - 1) || id[i - 1] == '.'))) continue;  // the start of a number
    std::size_t j = i;
    while (digit(j)) ++j;
    if (j < id.size() && id[j] == '.' && digit(j + 1))
      for (++j; digit(j);) ++j;
    if (j >= id.size() || (id[j] != 'b' && id[j] != 'B') || alnum(j + 1)) continue;
    double billions = 0;
    if (std::from_chars(id.data() + i, id.data() + j, billions).ec != std::errc{} || !(billions > 0)) continue;
    // Experts: "8x7b" reads every expert's weights per decode step of a batch.
    std::size_t k = i;
    if (k >= 2 && (id[k - 1] == 'x' || id[k - 1] == 'X') && digit(k - 2)) {
      std::size_t e = k - 1;
      while (e > 0 && digit(e - 1)) --e;
      double experts = 0;
      if (std::from_chars(id.data() + e, id.data() + k - 1, experts).ec == std::errc{} && experts > 0)
        billions *= experts;
    }
    found = billions;
  }
  return found;
}

Coefficients prior_for(const sdk::Variant& v, std::string_view model_id) {
  Coefficients c;  // generic: an 8B-class model on one current datacenter GPU, wide uncertainty
  // Scaled to the parameters per GPU the model ID names: a decode step reads the weights (its fixed
  // cost grows a little slower than they do), a token's compute grows with them, attention per token of
  // context with the model's width (about the square root).
  if (const auto billions = parameters_in_id(model_id)) {
    const double r = std::clamp(*billions / (8.0 * std::max(1, v.gpus_per_replica)), 0.05, 20.0);
    c.base_ms *= std::pow(r, 0.9);
    c.a0_us *= r;
    c.a1_us *= std::sqrt(r);
    c.b_us *= r;
  }
  if (v.profile && v.profile->alpha > 0) {
    c.base_ms = v.profile->alpha;
    // ITL(n) = alpha + beta n at a typical context: beta is the per-sequence cost including attention.
    c.a0_us = v.profile->beta * 1000 * 0.3;
    c.a1_us = v.profile->beta * 1000 * 0.7;  // per 1000 tokens of context (beta fitted near 1000 tokens)
    if (v.profile->delta > 0) c.b_us = v.profile->delta * 1000;
  }
  return c;
}

Derived derive(const Settings& s) { return Derived{normal_upper_z(s.tail_allowance)}; }

std::optional<TailModel> tail_model(const Coefficients& c, const Demand& d, const Slo& slo, double margin) {
  if (!(d.output_tokens > 0 && d.input_tokens > 0 && d.prefill_tps > 0)) return std::nullopt;
  // A request's mean ITL is the mean step time over its life T (its output at margin x the ITL SLO); the
  // prompts its pod computes meanwhile arrive at random (Poisson, lambda = prefill requests/s per pod),
  // each adding b x L of work, so the work fraction it sees has standard deviation
  // b sqrt(lambda E[L^2] / T): at N pods, spread_sd / sqrt(N).
  TailModel t;
  t.rho_total = utilization(c, Work{d.decode_tps, d.prefill_tps, d.context_tokens});
  t.rho_max = 1 - c.base_ms / slo.itl_ms;
  const double life_s = d.output_tokens * margin * slo.itl_ms / 1000;
  const double spread = d.prefill_tps * d.input_tokens * (1 + d.prompt_cv * d.prompt_cv) / life_s;
  t.spread_sd = c.b_us * 1e-6 * std::sqrt(spread);
  if (!(t.rho_total > 0) || !(t.spread_sd > 0) || !std::isfinite(t.spread_sd)) return std::nullopt;
  return t;
}

double tail_grid_scale(std::size_t i) {
  return std::exp(kTailLogScaleMin * (1 - static_cast<double>(i) / static_cast<double>(kTailScales - 1)));
}

void observe_tail(TailCalibration& cal, double z, double fraction, double requests) {
  if (!(z > 0) || !std::isfinite(z) || !(requests > 0) || !(fraction >= 0 && fraction <= 1)) return;
  const double w = std::min(requests, kTailWindowRequests);
  for (std::size_t i = 0; i < kTailScales; ++i) {
    const double p = std::clamp(0.5 * std::erfc(z / tail_grid_scale(i) / std::sqrt(2.0)), 1e-9, 1 - 1e-9);
    const double ll = w * (fraction * std::log(p) + (1 - fraction) * std::log1p(-p));
    cal.log_likelihood[i] = static_cast<float>(kTailForget * cal.log_likelihood[i] + ll);
  }
  ++cal.windows;
}

double tail_scale(const TailCalibration& cal) {
  if (cal.windows == 0) return 1;
  double best = -std::numeric_limits<double>::infinity(), scale = 1;
  for (std::size_t i = 0; i < kTailScales; ++i) {
    const double log_scale = std::log(tail_grid_scale(i));
    const double v = cal.log_likelihood[i] - 0.5 * (log_scale / kTailPriorSd) * (log_scale / kTailPriorSd);
    if (v > best) best = v, scale = tail_grid_scale(i);
  }
  return scale;
}

namespace {

// Pods of coefficients c, kv_capacity tokens each, that hold the demand's KV at kvTarget. Decoding
// sequences in flight (Little): decode tokens/s x step time, each holding its context. At N pods the step
// time is base / (1 - rho_total / N), so KV per pod <= kvTarget x capacity needs
// N >= rho_total + decode_tps x context x base / (kvTarget x capacity): it does not depend on the SLO.
// The KV measured in use (scaled to the demand) is a floor.
double kv_pods(const Coefficients& c, double kv_capacity, const Demand& d, const Settings& s) {
  const double kv_pod = s.kv_target * kv_capacity;
  const double rho_total = utilization(c, Work{d.decode_tps, d.prefill_tps, d.context_tokens});
  const double kv_model = rho_total + d.decode_tps * d.context_tokens * c.base_ms / 1000 / kv_pod;
  return std::max(kv_model, d.kv_tokens_in_use / kv_pod);
}

// Sized so the predicted latencies are within margin x the SLO.
Need size_at(const Coefficients& c, double kv_capacity, const Demand& d, const Slo& slo, const Settings& s,
             const Derived& derived, double margin) {
  Need n;
  const double rho_itl = 1 - c.base_ms / (margin * slo.itl_ms);
  const double prefill_steps = std::ceil(std::max(1.0, d.input_tokens) / s.token_budget) + 1;
  const double rho_ttft = 1 - c.base_ms * prefill_steps / (margin * slo.ttft_ms);
  n.rho_target = std::min({rho_itl, rho_ttft, s.max_utilization});
  n.bound = n.rho_target == s.max_utilization ? "utilization" : (rho_itl <= rho_ttft ? "itl" : "ttft");
  if (n.rho_target <= 0.02) {
    n.infeasible = "the SLO (ITL " + num(slo.itl_ms) + " ms, TTFT " + num(slo.ttft_ms) +
                   " ms) is below this variant's step floor (" + num(c.base_ms) + " ms per step)";
    return n;
  }
  const double rho_total = utilization(c, Work{d.decode_tps, d.prefill_tps, d.context_tokens});
  n.pods = rho_total / n.rho_target;
  if (const auto t = tail_model(c, d, slo, margin); t && t->rho_max > 0) {
    // The per-request tail (TailModel): a request's mean ITL meets the SLO while
    // rho/N + z k sd / sqrt(N) <= rho_max, z the normal quantile of the allowed fraction and k the
    // calibrated scale: N >= 1/u^2, u the root of rho u^2 + B u - rho_max.
    const double B = derived.tail_z * d.tail_scale * t->spread_sd;
    const double u = (-B + std::sqrt(B * B + 4 * t->rho_total * t->rho_max)) / (2 * t->rho_total);
    const double tail_pods = 1 / (u * u);
    if (tail_pods > n.pods) n.pods = tail_pods, n.bound = "itl-tail";
  }
  n.predicted_itl_ms = c.base_ms / (1 - n.rho_target);
  if (kv_capacity > 0) {
    const double kv = kv_pods(c, kv_capacity, d, s);
    if (kv > n.pods) n.pods = kv, n.bound = "kv";
  }
  return n;
}

}  // namespace

int whole_pods(double pods, double pods_at_slo) {
  const int meets_slo = static_cast<int>(std::ceil(pods_at_slo - 1e-6));
  const int within_overshoot = static_cast<int>(std::ceil(pods / (1 + kMarginOvershoot) - 1e-6));
  return std::max({meets_slo, static_cast<int>(std::lround(pods)), within_overshoot});
}

Need need_for(const Coefficients& c, double kv_capacity, const Demand& d, const Slo& slo, const Settings& s,
              const Derived& derived) {
  Need n = size_at(c, kv_capacity, d, slo, s, derived, s.latency_margin);
  n.pods_at_slo = n.infeasible || s.latency_margin >= 1 ? n.pods : size_at(c, kv_capacity, d, slo, s, derived, 1).pods;
  return n;
}

sdk::Recommendation decide(const Settings& s, const Derived& derived, const sdk::ModelView& model, ModelState& st,
                           double now) {
  if (model.variants.empty()) return no_opinion("the model has no variant (Deployment)", "NoVariants");
  const sdk::Load& load = model.metrics.load;
  if (!load.arrival_rate)
    return no_opinion("no arrival rate for the model (the source reported none)", "DemandUnknown");
  if (!load.avg_input_tokens || !load.avg_output_tokens) {
    if (*load.arrival_rate > 0)
      return no_opinion("no token lengths for the model's requests (input/output tokens unknown)", "DemandUnknown");
  }
  const double in = load.avg_input_tokens.value_or(0), out = load.avg_output_tokens.value_or(0);
  Slo slo{s.default_ttft_ms, s.default_itl_ms};
  std::string slo_note;
  if (model.slo && (model.slo->ttft_ms || model.slo->itl_ms)) {
    if (model.slo->ttft_ms) slo.ttft_ms = *model.slo->ttft_ms;
    if (model.slo->itl_ms) slo.itl_ms = *model.slo->itl_ms;
  } else {
    slo_note =
        " (no SLO class for the model: default TTFT " + num(slo.ttft_ms) + " ms, ITL " + num(slo.itl_ms) + " ms)";
  }

  // Per variant: its pods' signals, and one learning step of its model.
  struct VariantSignals {
    int pods = 0;
    double kv_used = 0, kv_capacity = 0, waiting = 0, kv_max = 0;
  };
  // Indexed like model.variants; replicas of a variant the view does not list (in `others`) still count
  // in the backlog and the KV in use.
  const std::size_t nv = model.variants.size();
  auto index_of = [&](std::string_view name) {
    std::size_t i = 0;
    while (i < nv && model.variants[i].name != name) ++i;
    return i;
  };
  std::vector<VariantSignals> sig(nv);
  std::vector<std::pair<std::string_view, VariantSignals>> others;
  double waiting_total = 0, kv_in_use = 0;
  double busiest_pod_kv = 0, smallest_cache = 0;  // tokens
  int pods_measured = 0;
  for (const auto& r : model.metrics.replicas) {
    if (r.kv_cache_usage && r.kv_capacity_tokens && *r.kv_capacity_tokens > 0) {
      ++pods_measured;
      busiest_pod_kv = std::max(busiest_pod_kv, *r.kv_cache_usage * *r.kv_capacity_tokens);
      if (smallest_cache <= 0 || *r.kv_capacity_tokens < smallest_cache) smallest_cache = *r.kv_capacity_tokens;
    }
    const std::size_t i = index_of(r.variant);
    VariantSignals* vp = i < nv ? &sig[i] : nullptr;
    if (!vp) {
      for (auto& [name, o] : others)
        if (name == r.variant) vp = &o;
      if (!vp) vp = &others.emplace_back(r.variant, VariantSignals{}).second;
    }
    auto& v = *vp;
    ++v.pods;
    if (r.kv_capacity_tokens) v.kv_capacity = std::max(v.kv_capacity, *r.kv_capacity_tokens);
    if (r.kv_cache_usage && r.kv_capacity_tokens) v.kv_used += *r.kv_cache_usage * *r.kv_capacity_tokens;
    if (r.kv_cache_usage) v.kv_max = std::max(v.kv_max, *r.kv_cache_usage);
    if (r.waiting) v.waiting += *r.waiting, waiting_total += *r.waiting;
  }
  // Variants in name order: sums and ties are taken in one order whatever the order of the view.
  std::vector<std::size_t> by_name(nv);
  std::iota(by_name.begin(), by_name.end(), std::size_t{0});
  std::sort(by_name.begin(), by_name.end(),
            [&](std::size_t a, std::size_t b) { return model.variants[a].name < model.variants[b].name; });
  if (others.empty()) {
    for (const std::size_t i : by_name) kv_in_use += sig[i].kv_used;  // + 0 for a variant without pods
  } else {
    std::vector<std::pair<std::string_view, double>> kv_used;
    kv_used.reserve(nv + others.size());
    for (std::size_t i = 0; i < nv; ++i)
      if (sig[i].pods > 0) kv_used.emplace_back(model.variants[i].name, sig[i].kv_used);
    for (const auto& [name, o] : others) kv_used.emplace_back(name, o.kv_used);
    std::sort(kv_used.begin(), kv_used.end());
    for (const auto& [name, used] : kv_used) kv_in_use += used;
  }
  if (st.variants.size() < nv) st.variants.reserve(nv);  // exactly the model's variants, not a doubling's spare
  for (std::size_t i = 0; i < nv; ++i) {
    const auto& v = model.variants[i];
    VariantState* vs = st.variants.find(v.name);
    if (!vs) vs = &st.variants.emplace(v.name, VariantState{StepModel(prior_for(v, model.key.model_id), s.prior_sd)});
    StepModel* m = &vs->model;
    const auto lv = model.metrics.load_by_variant.find(v.name);
    const auto& sv = sig[i];
    // The tokens/s and the ITL are averages over the source's load window, the pod count is now's: until
    // the count has held for a window, per-pod work would be divided by pods that did not do it (pods
    // just ready make every pod look slower, pods just gone faster).
    // Within the HPA's tolerance (10 % by default) it leaves the Deployment as it is.
    if (v.previous_desired && *v.previous_desired > v.current_replicas * (1 + kHpaTolerance)) {
      if (!vs->below_target_since) vs->below_target_since = now;
    } else {
      vs->below_target_since.reset();
    }
    if (vs->pods != sv.pods) vs->pods = sv.pods, vs->pods_since = now;
    if (now - vs->pods_since < s.load_window_s) continue;
    if (lv == model.metrics.load_by_variant.end() || sv.pods == 0 || !lv->second.itl_ms) continue;
    const sdk::Load& l = lv->second;
    Work w;
    w.context_tokens = l.avg_input_tokens.value_or(in) + l.avg_output_tokens.value_or(out) / 2;
    if (l.generation_tokens_rate) {
      w.decode_tps = *l.generation_tokens_rate / sv.pods;
      w.prefill_tps = l.prompt_tokens_rate.value_or(0) / sv.pods;
    } else if (l.arrival_rate && sv.waiting <= sv.pods) {
      // Offered load stands for served load only when nothing queues.
      w.decode_tps = *l.arrival_rate * l.avg_output_tokens.value_or(out) / sv.pods;
      w.prefill_tps = *l.arrival_rate * l.avg_input_tokens.value_or(in) / sv.pods;
    }
    if (w.decode_tps > 0) m->observe(w, *l.itl_ms);
    // The tail's calibration: the fraction of the window's requests over the ITL SLO against the model's
    // prediction at this fleet and this window's served work. Not under a queue (its misses are the
    // fleet's shortage, not the tail's spread).
    if (s.calibrate_tail && !l.request_tpot_buckets.empty() && l.generation_tokens_rate && l.prompt_tokens_rate &&
        sv.waiting <= sv.pods) {
      const auto over = sdk::util::fraction_above(l.request_tpot_buckets, slo.itl_ms / 1000);
      Demand served;
      served.decode_tps = *l.generation_tokens_rate, served.prefill_tps = *l.prompt_tokens_rate;
      served.input_tokens = l.avg_input_tokens.value_or(in), served.output_tokens = l.avg_output_tokens.value_or(out);
      served.context_tokens = served.input_tokens + served.output_tokens / 2;
      served.prompt_cv = st.prompt_cv2 ? std::sqrt(*st.prompt_cv2) : s.prompt_cv;
      const auto t = tail_model(m->coefficients(), served, slo, s.latency_margin);
      if (over && t) observe_tail(st.tail, t->z_at(sv.pods), over->fraction(), over->total * s.load_window_s);
    }
  }

  // The KV spread between pods, measured where the pods hold a fifth of the smallest cache or more,
  // nothing queues (a queue fills every pod alike) and every variant's pod count has held for a load
  // window (a pod just ready holds less than its elders for a while, which is no spread of the load).
  bool fleet_settled = true;
  for (const auto& v : model.variants) {
    const VariantState& vs = st.variants.at(v.name);
    fleet_settled = fleet_settled && now - vs.pods_since >= s.load_window_s;
  }
  if (fleet_settled && pods_measured >= 2 && pods_measured == static_cast<int>(model.metrics.replicas.size()) &&
      waiting_total <= pods_measured) {
    const double mean = kv_in_use / pods_measured;
    if (mean >= 0.2 * smallest_cache) {
      const double excess = (busiest_pod_kv / mean - 1) * std::sqrt(mean);
      st.kv_excess = st.kv_excess ? 0.8 * *st.kv_excess + 0.2 * excess : excess;
    }
  }

  // Demand now, in tokens, plus the backlog to drain; then its forecast over the start-up horizon.
  const double rate = *load.arrival_rate;
  // The backlog is drained within drainTime, at most doubling the demand: capacity ordered for requests
  // whose clients give up before it is ready would be wasted.
  // While pods are starting, the backlog counted is at most the one they were ordered for: the queue
  // grows until they are ready and they will drain it; ordering again for its growth would bring pods
  // after it has drained (then held by the HPA's scale-down window).
  int pending = 0;
  for (const auto& v : model.variants) pending += v.pending_replicas;
  double backlog = std::min(waiting_total, rate * s.drain_s);
  if (pending > 0 && st.backlog_ordered) backlog = std::min(backlog, *st.backlog_ordered);
  else st.backlog_ordered = backlog;
  const double decode_now = rate * out + backlog * out / s.drain_s;
  const double prefill_now = rate * in + backlog * in / s.drain_s;
  const double horizon = s.startup_s + s.reaction_s;
  int ready_pods = 0;
  for (const auto& v : model.variants) ready_pods += v.ready_replicas;
  // When the fleet is short now (a queue growing on every pod), a rise is no one-cycle spike to smooth
  // away: the level takes it at once, since each cycle of lag is a cycle later that pods are ready.
  const bool short_now = fleet_short(waiting_total, st.last_waiting, ready_pods, s.safety_waiting);
  st.last_waiting = waiting_total;
  if (!st.last_t) {
    st.level_decode = decode_now, st.level_prefill = prefill_now;
  } else if (now > *st.last_t) {
    const double dt = now - *st.last_t;
    constexpr double alpha = 0.5;  // the level's smoothing, projected along the trend of the last cycle
    auto smooth = [&](double x, double& level, double trend) {
      level = alpha * x + (1 - alpha) * (level + trend * dt);
      if (short_now) level = std::max(level, x);
    };
    smooth(decode_now, st.level_decode, st.trend_decode);
    smooth(prefill_now, st.level_prefill, st.trend_prefill);
  }
  st.last_t = now;
  // The trend: the robust slope (Theil-Sen: the median of the pairwise slopes) of the arrivals over the
  // last horizon, at most their robust slope over its recent half. On a ramp the two agree, from the
  // ramp's first half horizon (a smoothed trend, Holt's, lags it by minutes, and after a fall it still
  // points down when the arrivals have turned). A step (a burst's onset) is no ramp: while it is younger
  // than half a horizon most pairs of the whole horizon lie on one side of it, and once older the recent
  // half is flat.
  st.arrivals.push_back({now, rate * out, rate * in});
  while (!st.arrivals.empty() && st.arrivals.front().t < now - horizon) st.arrivals.pop_front();
  const auto [slope_decode, slope_prefill] = arrival_slopes(st.arrivals.items());
  {
    const auto samples = st.arrivals.items();
    std::size_t recent = 0;
    while (recent + 1 < samples.size() && samples[recent].t < now - horizon / 2) ++recent;
    const auto [recent_decode, recent_prefill] = arrival_slopes(samples.subspan(recent));
    st.trend_decode = std::max(0.0, std::min(slope_decode, recent_decode));
    st.trend_prefill = std::max(0.0, std::min(slope_prefill, recent_prefill));
  }
  // A ramp under way when the model is first seen: over the first horizon the recent half holds one or
  // two samples, too few to confirm it, so a rise that the arrivals show beyond their sampling noise is
  // extrapolated at its robust slope at once. Those forecasts rest on a few samples, so they are not
  // scored in the trend's track record.
  const bool first_horizon = !st.first_t || now - *st.first_t < horizon;
  if (first_horizon && st.arrivals.size() >= 2) {
    const double span = st.arrivals.items().back().t - st.arrivals.items().front().t;
    if (significant_rise(slope_decode * span, out, rate, s.load_window_s) ||
        significant_rise(slope_prefill * span, in, rate, s.load_window_s)) {
      st.trend_decode = std::max(st.trend_decode, slope_decode);
      st.trend_prefill = std::max(st.trend_prefill, slope_prefill);
    }
  }
  // How much of the trend to extrapolate: the share of its past predicted rises that came true.
  score_forecasts(st.trend_skill, now, horizon, decode_now, prefill_now);
  if ((st.trend_decode > 0 || st.trend_prefill > 0) && !first_horizon)
    st.trend_skill.pending.push_back({now, static_cast<float>(st.level_decode), static_cast<float>(st.level_prefill),
                                      static_cast<float>(std::max(0.0, st.trend_decode) * horizon),
                                      static_cast<float>(std::max(0.0, st.trend_prefill) * horizon)});
  const double skill = trend_skill(st.trend_skill);
  // Sized on the smoothed level, a horizon ahead when rising (never below the level: on the way down the
  // level itself holds what the recent past needed). A one-cycle spike in the raw rate is halved by the
  // smoothing; sized on raw, the HPA's 5-minute scale-down window would hold every spike's peak.
  auto ahead = [&](double now_value, double level, double trend) {
    const double f = level + skill * std::max(0.0, trend) * horizon;
    return std::min(f, 3 * now_value + 1);
  };
  // Cold start: the first measurements give the level, not how far demand swings around it within a
  // horizon, and a pod ordered after the first cycle arrives after the first swing. Until one horizon of
  // demand has been seen, demand is taken at the level x (1 + coldStartHeadroom), fading to the level.
  // A target published before this state began (the VA's status, e.g. after a controller restart) means
  // the fleet was sized by an earlier run from a longer history: that is no cold start, and a restart
  // must not order headroom for every model at once.
  if (!st.first_t) {
    st.first_t = now;
    st.cold_start = std::none_of(model.variants.begin(), model.variants.end(),
                                 [](const sdk::Variant& v) { return v.previous_desired.has_value(); });
  }
  const double cold =
      1 + (st.cold_start ? cold_start_fraction(s.cold_start_headroom, now - *st.first_t, horizon) : 0.0);
  Demand d;
  d.decode_tps = std::max(ahead(decode_now, st.level_decode, st.trend_decode), cold * st.level_decode);
  d.prefill_tps = std::max(ahead(prefill_now, st.level_prefill, st.trend_prefill), cold * st.level_prefill);
  d.context_tokens = in + out / 2;
  d.input_tokens = in;
  d.output_tokens = out;
  // The prompts' spread: the source's measurement, weighted by the requests behind it (the window's
  // arrivals), smoothed; promptLengthCv until there is one.
  if (load.prompt_tokens_cv && std::isfinite(*load.prompt_tokens_cv) && *load.prompt_tokens_cv >= 0) {
    const double requests = rate * s.load_window_s;
    const double weight = std::min(0.5, requests / kSpreadRequests);
    const double measured = *load.prompt_tokens_cv * *load.prompt_tokens_cv;
    st.prompt_cv2 = st.prompt_cv2 ? (1 - weight) * *st.prompt_cv2 + weight * measured
                                  : (1 - weight) * s.prompt_cv * s.prompt_cv + weight * measured;
  }
  d.prompt_cv = st.prompt_cv2 ? std::sqrt(*st.prompt_cv2) : s.prompt_cv;
  d.tail_scale = s.calibrate_tail ? tail_scale(st.tail) : 1.0;
  // Under a queue the pods admit requests until their KV is full: the KV in use then measures the pods,
  // not the demand (sized on it, each cycle of a queue would order a quarter more pods than ready, while
  // the backlog term already orders for the queue).
  const bool queued = waiting_total > std::max(1, ready_pods);
  d.kv_tokens_in_use = queued ? 0 : kv_in_use * (decode_now > 0 ? d.decode_tps / decode_now : 1);

  // Burst memory. When the arrivals (without the backlog) need burstJump times the ready pods, the fleet
  // was caught out: a start-up delay is longer than the burst's onset, so the next one can only be met
  // from capacity already running. Its peak is remembered and held for burstMemory, refreshed whenever
  // demand comes back near it; smooth traffic, which the forecast orders ahead, never triggers it.
  std::string burst_note;
  {
    int ready = 0;
    for (const auto& v : model.variants) ready += v.ready_replicas;
    const auto& pm = st.variants.at(st.primary.empty() ? model.variants.front().name : st.primary).model;
    // Pods the arrivals alone need (no backlog, no forecast) under every bound of the SLO: where the ITL
    // tail of long prompts, not the utilization, sets the fleet, a burst is measured in what it needs.
    auto pods_for = [&](double decode_tps, double prefill_tps) {
      Demand a = d;
      a.decode_tps = decode_tps, a.prefill_tps = prefill_tps, a.kv_tokens_in_use = 0;
      const Need n = need_for(pm.coefficients(), 0, a, slo, s, derived);
      return n.infeasible ? 0.0 : n.pods;
    };
    const double arrival_pods = pods_for(rate * out, rate * in);
    const double peak_pods = st.burst_seen ? pods_for(st.burst_decode, st.burst_prefill) : 0.0;
    // Caught out: the arrivals need burstJump times the ready pods, or more than the ready pods while
    // it shows (a queue growing on every pod, or the measured mean ITL past kCaughtOutItl x the SLO:
    // a burst of short prompts overloads the pods' steps, not their queues). Not over the first
    // horizon: the demand was there before the model was first seen (the cold start's headroom is for
    // that), and a peak remembered then would cap the forecast of the ramp that follows.
    const bool shows = short_now || (load.itl_ms && *load.itl_ms > kCaughtOutItl * slo.itl_ms);
    const bool caught_out =
        arrival_pods > s.burst_jump * std::max(1, ready) || (!first_horizon && shows && arrival_pods > ready);
    if (caught_out && arrival_pods > peak_pods) {
      st.burst_decode = rate * out, st.burst_prefill = rate * in, st.burst_seen = now;
    } else if (st.burst_seen && arrival_pods >= 0.7 * peak_pods) {
      st.burst_seen = now;
      if (arrival_pods > peak_pods) st.burst_decode = rate * out, st.burst_prefill = rate * in;
    }
    if (st.burst_seen && now - *st.burst_seen <= s.burst_memory_s) {
      if (st.burst_decode > d.decode_tps || st.burst_prefill > d.prefill_tps)
        burst_note = "; holding the last burst's peak";
      // A repeat of a remembered burst is sized at its peak: while the arrivals stay within it, the
      // onset's trend says nothing about going beyond it (the forecast is capped at the peak or now).
      if (!short_now && rate * out <= st.burst_decode && rate * in <= st.burst_prefill) {
        d.decode_tps = std::min(d.decode_tps, std::max(st.burst_decode, decode_now));
        d.prefill_tps = std::min(d.prefill_tps, std::max(st.burst_prefill, prefill_now));
      }
      d.decode_tps = std::max(d.decode_tps, st.burst_decode);
      d.prefill_tps = std::max(d.prefill_tps, st.burst_prefill);
    } else {
      st.burst_seen.reset();
      st.burst_decode = st.burst_prefill = 0;
    }
  }

  // What each variant would need alone. A variant never measured, or measured for fewer than
  // kSettledObservations cycles, is judged by its prior corrected as much as the most measured variant's
  // was: comparing one variant's measured reality with another's untested prior (after one cycle the
  // filter is still mostly its prior) would move the mix to whichever was tried least.
  const StepModel* measured = nullptr;
  for (const auto& v : model.variants) {
    const StepModel& m = st.variants.at(v.name).model;
    if (m.observations() > 0 && (!measured || m.observations() > measured->observations())) measured = &m;
  }
  std::vector<Need> needs(nv);
  std::vector<Coefficients> coefficients(nv);
  std::vector<double> kv_capacity(nv, 0.0);  // tokens per pod counted (0: unknown)
  std::vector<double> kv_busiest(nv, 1.0);   // the busiest pod's KV over the mean at kvTarget (measured)
  std::string infeasible;
  for (std::size_t i = 0; i < nv; ++i) {
    const auto& v = model.variants[i];
    double cap = sig[i].kv_capacity;
    if (cap <= 0 && v.profile && v.profile->kv_capacity_tokens) cap = *v.profile->kv_capacity_tokens;
    if (s.kv_spread && st.kv_excess && cap > 0) {
      // The busiest pod at the measured spread: mean x (1 + excess / sqrt(mean)) <= safetyKvCache.
      kv_busiest[i] = 1 + *st.kv_excess / std::sqrt(s.kv_target * cap);
      cap *= std::min(1.0, s.safety_kv / (s.kv_target * kv_busiest[i]));
    }
    kv_capacity[i] = cap;
    const StepModel& m = st.variants.at(v.name).model;
    const bool settled = m.observations() >= kSettledObservations || !measured || measured == &m;
    const Coefficients& c = coefficients[i] = settled ? m.coefficients() : corrected_prior(m, *measured);
    needs[i] = need_for(c, cap, d, slo, s, derived);
    if (needs[i].infeasible) infeasible += (infeasible.empty() ? "" : "; ") + v.name + ": " + *needs[i].infeasible;
  }
  // Plans: one variant carries the demand, the others stay at their minimum (their capacity counts).
  struct Plan {
    std::vector<int> pods;  // per variant
    double cost = 0;
    double cost_fractional = 0;  // with fractional pods: mixes compare on this, free of rounding flips
    bool cost_known = true;
    bool capped = false;  // the carrying variant is at its maximum; the rest overflows to the others
    // Pods added so that a mix holds the demand's KV at its smallest cache (0: none added), and whose.
    int kv_added = 0;
    std::size_t kv_smallest = 0;
  };
  auto plan_for = [&](std::size_t pi) -> std::optional<Plan> {
    const sdk::Variant& primary = model.variants[pi];
    if (needs[pi].infeasible) return std::nullopt;
    Plan p;
    p.pods.assign(nv, 0);
    double served = 0;  // fraction of the demand the others' minimum pods serve
    for (std::size_t i = 0; i < nv; ++i) {
      if (i == pi) continue;
      const auto& v = model.variants[i];
      p.pods[i] = v.min_replicas;
      if (!needs[i].infeasible && needs[i].pods > 0)
        served += std::min(v.min_replicas, v.ready_replicas) / needs[i].pods;
    }
    const double rest = std::max(0.0, 1 - served);
    int n = whole_pods(rest * needs[pi].pods, rest * needs[pi].pods_at_slo);
    n = std::max(n, primary.min_replicas);
    if (primary.max_replicas && n > *primary.max_replicas) {
      // Overflow to the other variants, in order, each up to its maximum.
      double left = (rest * needs[pi].pods - *primary.max_replicas) / std::max(1e-9, needs[pi].pods);
      n = *primary.max_replicas;
      p.capped = true;
      for (std::size_t i = 0; i < nv; ++i) {
        const auto& v = model.variants[i];
        if (i == pi || needs[i].infeasible || left <= 0) continue;
        int extra = static_cast<int>(std::ceil(left * needs[i].pods - 1e-6));
        if (v.max_replicas) extra = std::min(extra, *v.max_replicas - p.pods[i]);
        extra = std::max(extra, 0);
        p.pods[i] += extra;
        left -= extra / std::max(1e-9, needs[i].pods);
      }
    }
    p.pods[pi] = n;
    double primary_pods = rest * needs[pi].pods;
    // One KV cache for all. A router that balances the requests in flight (least outstanding requests,
    // the usual gateway default; round robin is no better) gives every pod of a mix about as many
    // sequences whatever its KV cache: the pods with the smallest cache fill and preempt while the others
    // have room. A mix holds the demand's KV only with as many pods in all as it needs at that cache.
    std::size_t smallest = nv;
    int in_mix = 0, total = 0;
    for (std::size_t i = 0; i < nv; ++i) {
      total += p.pods[i];
      if (p.pods[i] <= 0) continue;
      ++in_mix;
      if (kv_capacity[i] > 0 && (smallest == nv || kv_capacity[i] < kv_capacity[smallest])) smallest = i;
    }
    if (in_mix > 1 && smallest < nv) {
      int missing = static_cast<int>(std::ceil(kv_pods(coefficients[pi], kv_capacity[smallest], d, s) - 1e-6)) - total;
      // The carrying variant first, then the others in order, each up to its maximum.
      for (std::size_t k = 0; k <= nv && missing > 0; ++k) {
        const std::size_t i = k == 0 ? pi : k - 1;
        if ((k > 0 && i == pi) || needs[i].infeasible) continue;
        const auto& v = model.variants[i];
        const int room = v.max_replicas ? std::max(0, *v.max_replicas - p.pods[i]) : missing;
        const int add = std::min(room, missing);
        if (add <= 0) continue;
        p.pods[i] += add, missing -= add, p.kv_added += add, p.kv_smallest = smallest;
        if (i == pi) primary_pods = p.pods[pi];
      }
    }
    for (std::size_t i = 0; i < nv; ++i) {
      const auto& v = model.variants[i];
      if (!v.cost_per_replica) {
        p.cost_known = false;
        continue;
      }
      p.cost += p.pods[i] * *v.cost_per_replica;
      p.cost_fractional +=
          (i == pi ? std::max(primary_pods, 1e-3) : static_cast<double>(p.pods[i])) * *v.cost_per_replica;
    }
    return p;
  };
  std::vector<std::optional<Plan>> plans(nv);
  bool any_plan = false;
  for (std::size_t i = 0; i < nv; ++i) any_plan |= (plans[i] = plan_for(i)).has_value();
  // A variant whose Deployment has not followed its target for a horizon (its autoscaler is not acting on
  // it) cannot carry the demand while another can: the mix stays on, or returns to, pods that come.
  auto unfollowed = [&](std::size_t i) {
    const auto& since = st.variants.at(model.variants[i].name).below_target_since;
    return since && now - *since >= horizon;
  };
  bool any_followed = false;
  for (std::size_t i = 0; i < nv; ++i) any_followed |= plans[i] && !unfollowed(i);
  if (any_followed)
    for (std::size_t i = 0; i < nv; ++i)
      if (unfollowed(i)) plans[i].reset();
  if (!any_plan) return no_opinion("no variant can meet the SLO" + slo_note + ": " + infeasible, "SloInfeasible");

  // The incumbent mix: kept unless another is cheaper by more than its cold start repaid in swapPayback.
  std::size_t pi = index_of(st.primary);
  if (st.primary.empty() || pi == nv || !plans[pi]) {
    int best_current = -1;
    for (std::size_t i = 0; i < nv; ++i) {
      const auto& v = model.variants[i];
      if (plans[i] && v.current_replicas - v.min_replicas > best_current)
        best_current = v.current_replicas - v.min_replicas, pi = i;
    }
    // First decision with nothing running beyond the minimum: the cheapest plan.
    if (best_current <= 0) {
      double best = 1e300;
      for (const std::size_t i : by_name)
        if (plans[i] && plans[i]->cost_known && plans[i]->cost_fractional < best)
          best = plans[i]->cost_fractional, pi = i;
    }
    // Every variant below its minimum and no cost known: nothing to choose by.
    if (pi == nv || !plans[pi]) throw std::out_of_range("no accelerator mix to keep (no cost, no current replicas)");
    st.primary = model.variants[pi].name;
  }
  std::string mix_note;
  {
    const Plan& inc = *plans[pi];
    std::size_t cheapest = pi;
    for (const std::size_t i : by_name)
      if (plans[i] && plans[i]->cost_known && inc.cost_known &&
          plans[i]->cost_fractional < plans[cheapest]->cost_fractional)
        cheapest = i;
    // A swap is judged only on a settled fleet: nothing starting (the measurements are of a transient),
    // the incumbent measured for a horizon (its correction is what judges the other), and no swap in
    // the HPA's scale-down window (the last swap's removed pods still run: swapping back pays both).
    const bool swap_allowed = pending == 0 &&
                              st.variants.at(model.variants[pi].name).model.observations() >= kSettledObservations &&
                              (!st.last_swap || now - *st.last_swap >= s.scale_down_window_s);
    if (cheapest != pi && swap_allowed) {
      const Plan& alt = *plans[cheapest];
      const sdk::Variant& cv = model.variants[cheapest];
      const sdk::Variant& iv = model.variants[pi];
      const int new_pods = std::max(0, alt.pods[cheapest] - cv.current_replicas);
      const double cold_start = new_pods * cv.cost_per_replica.value_or(0) * (s.startup_s / 3600);
      // The incumbent's pods the swap removes are still paid through the HPA's scale-down window.
      const int removed = std::max(0, iv.current_replicas - alt.pods[pi]);
      const double held = removed * iv.cost_per_replica.value_or(0) * (s.scale_down_window_s / 3600);
      const double per_hour = inc.cost_fractional - alt.cost_fractional;
      const double saving = per_hour * (s.swap_payback_s / 3600);
      if (saving > cold_start + held && per_hour > 0.1 * inc.cost_fractional && alt.cost <= inc.cost) {
        mix_note = "; mix moves to " + cv.name + " (saves " + num(per_hour) + "/h)";
        pi = cheapest;
        st.primary = cv.name;
        st.last_swap = now;
      }
    }
  }
  std::vector<int> targets = plans[pi]->pods;

  // On the way down the forecast (max of now and now + horizon) already holds what will be needed
  // within the horizon. After a mix change the old variant's pods are held for the horizon from the
  // history (make before break: they serve until the new ones have had time to start).
  {
    RequiredHistory& h = st.required;
    while (!h.rows.empty() && h.rows.front().first < now - horizon) h.rows.pop_front();
    if (h.rows.empty()) h.names.clear();
    std::vector<std::size_t> column(nv);
    for (std::size_t i = 0; i < nv; ++i) {
      const auto& name = model.variants[i].name;
      column[i] = static_cast<std::size_t>(std::find(h.names.begin(), h.names.end(), name) - h.names.begin());
      if (column[i] == h.names.size()) {
        h.names.push_back(name);
        for (auto& [t, row] : h.rows) row.push_back(RequiredHistory::kNone);
      }
    }
    std::vector<int> row(h.names.size(), RequiredHistory::kNone);
    for (std::size_t i = 0; i < nv; ++i) row[column[i]] = targets[i];
    if (now >= now - horizon) h.rows.emplace_back(now, std::move(row));
    for (std::size_t i = 0; i < nv; ++i)
      if (i != pi)
        for (const auto& [t, r] : h.rows) targets[i] = std::max(targets[i], r[column[i]]);
  }

  // Make before break, on what is ready: while the pods of the targets that are ready cover less than
  // the demand (and than the targets do), no other variant gives up a pod. The history above holds the old mix for a
  // horizon, but pods that never come (a Deployment at 0 whose HorizontalPodAutoscaler is disabled, a quota, no node)
  // would otherwise leave the model with nothing.
  std::string hold_note;
  {
    // Shares of the demand: what the targets cover (less than 1 when every variant is at its maximum)
    // and what their ready pods cover.
    double planned_cover = 0, ready_cover = 0;
    for (std::size_t i = 0; i < nv; ++i)
      if (!needs[i].infeasible && needs[i].pods > 0) {
        planned_cover += targets[i] / needs[i].pods;
        ready_cover += std::min(targets[i], model.variants[i].ready_replicas) / needs[i].pods;
      }
    if (ready_cover < std::min(1.0, planned_cover) - 1e-9) {
      for (std::size_t i = 0; i < nv; ++i) {
        const auto& v = model.variants[i];
        if (i == pi || targets[i] >= v.current_replicas) continue;
        targets[i] = v.current_replicas;
        hold_note += "; " + v.name + " keeps its " + std::to_string(v.current_replicas) + " pods until " +
                     model.variants[pi].name + "'s are ready";
      }
    }
  }

  // The safety net: saturated pods add a replica (never remove one), unless capacity is already coming.
  std::string safety_note;
  if (pending == 0) {
    for (std::size_t i = 0; i < nv; ++i) {
      const auto& sv = sig[i];
      if (sv.pods == 0) continue;
      if (sv.kv_max >= s.safety_kv || sv.waiting / sv.pods >= s.safety_waiting) {
        const int floor = model.variants[pi].current_replicas + 1;
        if (targets[pi] < floor) {
          targets[pi] = floor;
          safety_note = "; safety net: " + model.variants[i].name + " saturated (KV " + num(sv.kv_max) + ", waiting " +
                        num(sv.waiting) + ")";
        }
      }
    }
  }

  sdk::Recommendation rec;
  const Need& pn = needs[pi];
  const StepModel& pm = st.variants.at(st.primary).model;
  const Coefficients& c = pm.coefficients();
  std::string& why = rec.reason;
  why.reserve(384 + slo_note.size() + mix_note.size() + burst_note.size() + hold_note.size() + safety_note.size());
  auto put = [&why](double v) { append_num(why, v); };
  why += "demand ";
  put(d.prefill_tps);
  why += " prefill + ";
  put(d.decode_tps);
  why += " decode tok/s (now ";
  put(rate);
  why += " req/s, backlog ";
  put(waiting_total);
  why += "); ";
  why += st.primary;
  why += " pod serves ";
  put(pn.rho_target * 100);
  why += "% work at predicted ITL ";
  put(pn.predicted_itl_ms);
  why += " ms (bound ";
  why += pn.bound;
  why += "; step ";
  put(c.base_ms);
  why += " ms + ";
  put(c.a0_us);
  why += "/";
  put(c.a1_us);
  why += "/";
  put(c.b_us);
  why += " us, ";
  why += std::to_string(pm.observations());
  why += " obs)";
  why += "; prompt CV ";
  put(d.prompt_cv);
  why += st.prompt_cv2 ? " measured" : " assumed (promptLengthCv: the source gives no spread)";
  why += slo_note;
  why += mix_note;
  if (d.tail_scale < 0.99) {
    why += "; ITL tail x";
    put(d.tail_scale);
    why += " (calibrated on the requests measured over the ITL SLO)";
  }
  if (skill < 0.95) {
    why += "; trend x";
    put(skill);
    why += " (the share of its predicted rises that came true)";
  }
  if (plans[pi]->capped) {
    const sdk::Variant& pv = model.variants[pi];
    why += "; ";
    why += pv.name;
    why += " at its maximum ";
    why += std::to_string(pv.max_replicas.value_or(0));
    why += pv.hpa_bounded ? " (its HorizontalPodAutoscaler's maxReplicas)" : " (the VariantAutoscaling's maxReplicas)";
    why += ", the rest on the other variants";
  }
  if ((pn.bound == "kv" || plans[pi]->kv_added > 0) && s.safety_kv < s.kv_target * kv_busiest[pi]) {
    why += "; KV sized for the busiest pod (x";
    put(kv_busiest[pi]);
    why += " the mean, measured between pods)";
  }
  if (plans[pi]->kv_added > 0) {
    why += "; ";
    why += std::to_string(plans[pi]->kv_added);
    why += " more pods for the KV cache of ";
    why += model.variants[plans[pi]->kv_smallest].name;
    why += " (a router balancing requests in flight gives each pod of a mix as many sequences)";
  }
  why += burst_note;
  why += hold_note;
  // A target the Deployment has not followed for a horizon: its autoscaler is not acting on it.
  for (const auto& v : model.variants) {
    const auto& since = st.variants.at(v.name).below_target_since;
    if (!since || now - *since < horizon) continue;
    why += "; ";
    why += v.name;
    why += ": ";
    why += std::to_string(*v.previous_desired);
    why += " replicas asked for ";
    put(now - *since);
    why += " s, the Deployment has ";
    why += std::to_string(v.current_replicas);
    why +=
        " (is its HorizontalPodAutoscaler scaling it? With minReplicas >= 1 it does not scale a Deployment "
        "at 0 replicas)";
  }
  why += safety_note;
  rec.targets.reserve(nv);
  for (std::size_t i = 0; i < nv; ++i) {
    const auto& v = model.variants[i];
    rec.targets.push_back({v.name, targets[i], i == pi ? "carries the demand: " + rec.reason : "kept at its minimum"});
  }
  rec.scale_down_safe = waiting_total == 0;
  return rec;
}

}  // namespace wva::capacity
