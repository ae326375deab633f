// The capacity analyzer's settings (pipelines.yaml `analyzers: {capacity: {...}}`): the typed values the
// policy (policy.h) decides with, and their schema, which the host validates before configure().
#pragma once

#include <string>

#include "wva/sdk/plugin.h"

namespace wva::capacity {

struct Settings {
  double latency_margin = 0.8;       // size so the predicted ITL / TTFT are at most this fraction of the SLO
  double max_utilization = 0.9;      // per-token work per pod, whatever the SLO (stability: a looser SLO never
                                     // lets the fleet run into its queueing knee)
  double kv_target = 0.8;            // KV-cache use per pod the fleet is sized to
  double drain_s = 60;               // backlog (waiting requests) drained within this time
  double startup_s = 90;             // pod start-up (model load) ...
  double reaction_s = 75;            // ... plus HPA sync, one cycle and half the load window: the horizon
  double swap_payback_s = 1800;      // a cheaper accelerator mix must repay its cold start within this
  double scale_down_window_s = 300;  // the HPA's scale-down stabilization: removed pods are paid this long
  double load_window_s = 60;         // the window of the source's rates: learning waits for a pod count this old
  double token_budget = 8192;        // max_num_batched_tokens (prefill chunk per step)
  double burst_memory_s = 1800;      // after demand outran the fleet (a burst), its peak is held this long
  double burst_jump = 1.5;           // a burst: the demand needs this many times the ready pods
  double safety_kv = 0.95;           // safety net: a pod this full ...
  double safety_waiting = 20;        // ... or this many waiting per ready pod adds one replica
  double default_ttft_ms = 2000;     // when the model has no SLO class
  double default_itl_ms = 50;
  double prior_sd = 0.5;
  // Per-request ITL tail: the fraction of requests allowed a mean ITL over the SLO, and the spread
  // (coefficient of variation) of prompt lengths assumed when the source gives only their mean.
  double tail_allowance = 0.05;
  double prompt_cv = 1.0;
  // Calibrate the tail's spread on the measured fraction of requests over the ITL SLO (the source's
  // Load::request_tpot_buckets), downward only.
  bool calibrate_tail = true;
  // Cold-start headroom: until one horizon of demand has been observed, demand is sized at the level x
  // (1 + this), fading linearly to the level over that horizon.
  double cold_start_headroom = 0.6;
  // Size the KV so that the busiest pod, at the measured spread between pods, stays under safety_kv.
  bool kv_spread = true;
};

sdk::SettingsSchema settings_schema();
Settings read_settings(const sdk::Config& validated);
// Schema and typed read at once, for tests: the settings or every error, each with its path.
sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path);

}  // namespace wva::capacity
