// The capacity policy: per model, demand in tokens (prefill and decode tokens/s, KV tokens in use, the
// backlog to drain within a bounded time), forecast over the start-up horizon, divided by what a pod of
// each variant serves at the SLO (step_model.h, learned online), then one accelerator mix kept unless a
// cheaper one pays for its cold start, held on the way down for the horizon, and a saturation safety net
// that can only add. Plain C++ on SDK types; the plugin object (capacity_plugin.h) adds locking.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "settings.h"
#include "step_model.h"
#include "wva/sdk/plugin.h"

namespace wva::capacity {

// A profile-free prior for a variant: the VA's profile (alpha, beta, delta) when given, else generic.
// The parameter count in billions a model ID names ("meta/llama-3.1-8b": 8, "Qwen2.5-32B-Instruct": 32,
// "mixtral-8x7b": 56): the last number followed by a 'b' that ends a word; nullopt when none does.
std::optional<double> parameters_in_id(std::string_view id);
// A variant's prior: its profile when given, else a generic 8B-class one scaled to the parameters per GPU
// that the model ID names.
Coefficients prior_for(const sdk::Variant& v, std::string_view model_id = {});

// What one variant needs for the whole demand, per the model.
struct Need {
  double pods = 0;         // fractional pods for all the demand, sized at latencyMargin x the SLO
  double pods_at_slo = 0;  // the same at the SLO itself (no margin): the fewest that still meet it
  double rho_target = 0;   // per-pod utilization it is sized at
  double predicted_itl_ms = 0;
  std::string bound;                      // which limit sized it: itl, ttft, utilization, kv
  std::optional<std::string> infeasible;  // why no count meets the SLO
};

struct Demand {
  double decode_tps = 0, prefill_tps = 0, context_tokens = 0, input_tokens = 0;
  double kv_tokens_in_use = 0;
  double output_tokens = 0;  // mean output length (0: unknown, no tail bound)
  double prompt_cv = 1.0;    // spread of the prompt lengths (standard deviation / mean)
  double tail_scale = 1.0;   // the calibrated scale of the tail's spread (TailCalibration)
};

// Cycles a variant is measured before its own learned coefficients are compared with another's (about
// one start-up horizon at a 30 s interval).
inline constexpr std::size_t kSettledObservations = 6;

// An unmeasured variant's prior, corrected coefficient by coefficient by the ratio learned / prior of a
// measured variant.
Coefficients corrected_prior(const StepModel& unmeasured, const StepModel& measured);

// The upper z-score of a standard normal tail of probability p in (0, 0.5).
double normal_upper_z(double p);

struct Slo {
  double ttft_ms, itl_ms;
};

// The per-request ITL tail at N pods (size_at's model): a request's mean ITL meets the SLO while the work
// fraction its pod sees, mean rho_total / N and standard deviation spread_sd / sqrt(N), stays under
// rho_max = 1 - base / ITL SLO. absent: no tail (no prompts, no outputs or no work).
struct TailModel {
  double rho_total = 0, rho_max = 0, spread_sd = 0;
  // The margin at N pods in standard deviations of the unscaled spread: the normal quantile of the
  // predicted fraction of requests over the SLO is z(N) / tail_scale.
  double z_at(double pods) const { return (rho_max - rho_total / pods) / (spread_sd / std::sqrt(pods)); }
};
std::optional<TailModel> tail_model(const Coefficients& c, const Demand& d, const Slo& slo, double margin);

// The tail's calibration. Each load window in which a variant's fleet held its size, the fraction of its
// requests measured over the ITL SLO is compared with the fraction the model predicts there, at each scale
// of a grid of the tail's spread (a binomial likelihood; a window weighs as at most kTailWindowRequests
// requests, since the misses of one window come together, older windows forgotten by kTailForget each);
// the scale is the most likely one under a lognormal prior centred on 1. Downward only: misses the model
// does not predict include some that more pods do not remove (a few-token answer whose one step carries a
// prefill chunk), and buying pods for them costs much for little (measured on the Azure code trace).
inline constexpr std::size_t kTailScales = 21;  // scales e^-1.5 (0.22) .. 1, evenly in log
inline constexpr double kTailLogScaleMin = -1.5;
inline constexpr double kTailWindowRequests = 30;
inline constexpr double kTailForget = 0.97;  // per window: about 30 windows count
inline constexpr double kTailPriorSd = 0.5;  // of the log scale
struct TailCalibration {
  std::array<float, kTailScales> log_likelihood{};  // per scale of the grid
  std::uint32_t windows = 0;
};
double tail_grid_scale(std::size_t i);
// One window: `fraction` of `requests` over the SLO where the model's margin is z (z_at, > 0).
void observe_tail(TailCalibration& cal, double z, double fraction, double requests);
// The most likely scale, in [e^-1.5, 1]; 1 before any window.
double tail_scale(const TailCalibration& cal);

// What the policy derives from its settings once rather than per model and cycle.
struct Derived {
  double tail_z = 0;  // normal_upper_z(tail_allowance)
};
Derived derive(const Settings& s);

// Pods of a variant with coefficients c and KV capacity kv_capacity (0: unknown) for demand d at slo.
// Whole pods for a fractional need: latencyMargin is the target and the SLO the limit, so the nearest
// whole count when that many still meet the SLO itself and carry at most kMarginOvershoot more work than
// the margin allows, else the next one up. Where the SLO is a small multiple of the step floor (a 32B
// model at 50 ms ITL steps in 25-30 ms), the mean ITL of a pod loaded half a pod past the margin is at the
// SLO, and the per-request spread puts many requests over it: measured on Qwen2.5-32B on H100 at a
// steady 8 req/s, 3 pods (3.2-3.5 needed at the margin) meet the SLO for 81 % of requests, 4 for 99.5 %.
inline constexpr double kMarginOvershoot = 0.05;
int whole_pods(double pods, double pods_at_slo);

Need need_for(const Coefficients& c, double kv_capacity, const Demand& d, const Slo& slo, const Settings& s,
              const Derived& derived);
inline Need need_for(const Coefficients& c, double kv_capacity, const Demand& d, const Slo& slo, const Settings& s) {
  return need_for(c, kv_capacity, d, slo, s, derive(s));
}

// The arrivals' work (without the backlog) at one cycle.
struct ArrivalSample {
  double t, decode_tps, prefill_tps;
};

// Theil-Sen slopes (per second: the median of the pairwise slopes) of decode and prefill tokens/s over the
// samples; 0 with fewer than 2.
std::pair<double, double> arrival_slopes(std::span<const ArrivalSample> samples);

// The cold-start headroom (a fraction of the level) after observed_s seconds of demand: headroom at the
// first cycle, fading linearly to 0 at one horizon.
double cold_start_fraction(double headroom, double observed_s, double horizon_s);

// A rise of the arrivals over the first horizon is extrapolated at once (the recent half horizon that
// confirms a ramp holds too few samples yet) when it exceeds this many standard deviations of one
// sample's Poisson noise.
inline constexpr double kRampSignificance = 5;
// The fleet was caught out by a burst when the measured mean ITL exceeds this multiple of the ITL SLO
// while the arrivals need more than the ready pods: deep overload, not the margin a lagging ramp eats.
inline constexpr double kCaughtOutItl = 2;
// The HorizontalPodAutoscaler's default tolerance: a target within it of the replicas is left as it is.
inline constexpr double kHpaTolerance = 0.1;
// Whether a rise of rise_tps tokens/s across the arrivals' samples exceeds kRampSignificance standard
// deviations of a rate measured over window_s at `rate` requests/s of tokens_per_request each.
bool significant_rise(double rise_tps, double tokens_per_request, double rate, double window_s);

// A queue that grows while every ready pod has safety_waiting requests waiting: the fleet is short now.
bool fleet_short(double waiting_now, double waiting_before, int ready_pods, double safety_waiting);

// A few values keyed by variant name (a model has a handful of variants): a flat list, searched in order.
template <class T>
class ByVariant {
 public:
  T* find(std::string_view name) {
    for (auto& [n, v] : items_)
      if (n == name) return &v;
    return nullptr;
  }
  const T* find(std::string_view name) const { return const_cast<ByVariant*>(this)->find(name); }
  T& at(std::string_view name) {
    if (T* v = find(name)) return *v;
    throw std::out_of_range("capacity: no state for variant " + std::string(name));
  }
  const T& at(std::string_view name) const { return const_cast<ByVariant*>(this)->at(name); }
  T& emplace(std::string name, T value) { return items_.emplace_back(std::move(name), std::move(value)).second; }
  std::size_t size() const { return items_.size(); }
  void reserve(std::size_t n) { items_.reserve(n); }

 private:
  std::vector<std::pair<std::string, T>> items_;
};

// The few samples of one horizon, oldest first, on a vector: nothing allocated while empty and exactly
// what the samples need (a std::deque takes over 500 bytes per model before its first sample).
template <class T>
class HorizonQueue {
 public:
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const T& front() const { return items_.front(); }
  void pop_front() { items_.erase(items_.begin()); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return items_.emplace_back(std::forward<Args>(args)...);
  }
  void push_back(T value) { items_.push_back(std::move(value)); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  std::span<const T> items() const { return items_; }

 private:
  std::vector<T> items_;
};

// Targets ordered over the last horizon, for the hold: one row per cycle, one column per variant name
// seen (a variant absent at a cycle holds nothing there).
struct RequiredHistory {
  static constexpr int kNone = std::numeric_limits<int>::min();
  std::vector<std::string> names;  // the columns
  HorizonQueue<std::pair<double, std::vector<int>>> rows;
};

// The trend's track record. Each cycle's forecast (the level and the rise the trend predicts over the
// horizon, per token kind) is kept until it is one horizon old, then compared with the arrivals then: a
// regression through the origin of the realized rise on the predicted one, with older forecasts
// forgotten, gives the fraction of a predicted rise that comes true (1 on a ramp, near 0 where rises
// revert within the horizon, as a periodic peak does). The forecast extrapolates that fraction only.
struct TrendForecast {
  double t;
  float level_decode, level_prefill, rise_decode, rise_prefill;  // tokens/s: float's precision suffices
};
struct TrendSkill {
  HorizonQueue<TrendForecast> pending;
  double xy = 0, xx = 0;  // sums of realized x predicted and predicted^2 (rises relative to the level)
};
// Forecasts one horizon old at `now` scored against the arrivals now (decode and prefill tokens/s).
void score_forecasts(TrendSkill& skill, double now, double horizon, double decode_now, double prefill_now);
// The fraction of predicted rises that came true, in [0, 1]; 1 before any forecast was scored.
double trend_skill(const TrendSkill& skill);

// What is kept per variant: its learned step model, and its count of pods with metrics and since when
// that count holds (learning waits until it held a load window).
struct VariantState {
  StepModel model;
  int pods = -1;
  double pods_since = 0;
  // Since when the Deployment has had fewer replicas than the target last published for it (beyond the
  // HPA's tolerance).
  std::optional<double> below_target_since;
};

// State kept per model between cycles.
struct ModelState {
  ByVariant<VariantState> variants;  // per variant
  double level_decode = 0, level_prefill = 0, trend_decode = 0, trend_prefill = 0;
  std::optional<double> last_t;
  HorizonQueue<ArrivalSample> arrivals;   // the last horizon's arrivals, for the trend's bound
  TrendSkill trend_skill;                 // how much of the trend's predicted rises came true
  std::optional<double> first_t;          // the first cycle: the cold-start headroom fades over a horizon
  bool cold_start = true;                 // no target was published for the model before first_t
  double last_waiting = 0;                // the backlog at the last cycle (a growing queue: the fleet is short)
  std::optional<double> backlog_ordered;  // the backlog counted when no pod was starting
  RequiredHistory required;               // (time, targets) for the hold
  std::string primary;                    // the accelerator mix kept: the variant carrying the demand
  std::optional<double> last_swap;        // when the mix last moved to another variant
  // Burst memory: the demand (tokens/s) at the last burst's peak, and when demand last came near it.
  double burst_decode = 0, burst_prefill = 0;
  std::optional<double> burst_seen;
  // The prompts' squared spread (CV^2) as measured by the source, smoothed over about kSpreadRequests
  // requests; promptLengthCv until the first measurement.
  std::optional<double> prompt_cv2;
  TailCalibration tail;  // the ITL tail's scale, calibrated on measured misses
  // The busiest pod's KV over the mean pod's, as (max / mean - 1) x sqrt(mean tokens): the excess of a sum
  // of sequences shrinks as the square root of its size, so a spread measured at one load carries to a
  // pod sized at kvTarget. Absent until measured.
  std::optional<double> kv_excess;
};

// Requests a measured prompt spread is averaged over: one window of a few requests says little about a
// tail, and the spread is a slow property of the traffic.
inline constexpr double kSpreadRequests = 600;

// One cycle for one model at time now_s (seconds). `derived` is derive(s).
sdk::Recommendation decide(const Settings& s, const Derived& derived, const sdk::ModelView& model, ModelState& state,
                           double now_s);
inline sdk::Recommendation decide(const Settings& s, const sdk::ModelView& model, ModelState& state, double now_s) {
  return decide(s, derive(s), model, state, now_s);
}

}  // namespace wva::capacity
