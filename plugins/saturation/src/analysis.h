// The saturation rules: pure functions of one ModelView, its thresholds and the analyzer's options.
// Compatible mode (all options off) is the upstream V1 analyzer rule for rule
// (docs/upstream.md sections 4.2-4.4); each option changes one rule (settings.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "settings.h"
#include "thresholds.h"
#include "wva/sdk/types.h"

namespace wva::saturation {

// The intermediate values of one analysis, for tests and for the reason text.
struct Details {
  bool has_metrics = false;    // some pod of the model reports a value
  bool in_transition = false;  // compatible: the model-level freeze
  std::string transition_why;
  int replicas_counted = 0;            // pods in the spare averages (compatible: the non-saturated ones)
  int saturated = 0;                   // saturated pods
  int unknown = 0;                     // ready pods without metrics assumed at the mean load (pendingAsCapacity)
  int pending = 0;                     // pending replicas counted as capacity in flight (pendingAsCapacity)
  std::optional<double> avg_spare_kv;  // nullopt: no pod reports the signal (improved only)
  std::optional<double> avg_spare_queue;
  double spare_kv = 0;  // spare per replica including the capacity in flight
  double spare_queue = 0;
  bool kv_low = false;  // spare_kv < kvSpareTrigger
  bool queue_low = false;
  bool scale_up = false;
  bool scale_down_safe = false;  // the N-1 check (with hysteresis when on)
  std::optional<double> rem_kv;  // spare after removing one replica, when computed
  std::optional<double> rem_queue;
  int step = 0;  // replicas added (> 0) or removed (< 0) in total
};

struct Outcome {
  sdk::Recommendation recommendation;
  Details details;
};

// Analyzes one model. `analyzer` names the recommendation (the plugin instance name).
Outcome analyze_model(const sdk::ModelView& model, const Thresholds& thresholds, const Options& options,
                      const std::string& analyzer = "saturation");

}  // namespace wva::saturation
