#include "settings.h"

#include <vector>

namespace wva::capacity {

namespace {

// A time in seconds: a duration ("90s", "2m") or a bare number of seconds, within [min_s, max_s].
sdk::Setting seconds(std::string name, const char* def, double min_s, double max_s, std::string description) {
  return sdk::Setting::duration(std::move(name), def, std::move(description))
      .seconds_when_number()
      .in_range(min_s * 1000, max_s * 1000);
}

}  // namespace

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  return {
      "Capacity learned online, demand in tokens forecast over the start-up horizon, one accelerator mix, "
      "a saturation safety net.",
      {Setting::object("defaultSlo",
                       {Setting::number("ttftMs", 2000, "Time to first token, ms.").above(0),
                        Setting::number("itlMs", 50, "Inter-token latency, ms.").above(0)},
                       "The SLO of a model without a service class."),
       Setting::number("latencyMargin", 0.8,
                       "Size so the predicted ITL / TTFT are at most this fraction of "
                       "the SLO (the target: a fraction of a pod is rounded down while the SLO itself is met "
                       "and the pods carry at most 5 % more work than this allows).")
           .in_range(0.1, 1),
       Setting::number("maxUtilization", 0.9, "Per-token work per pod, whatever the SLO.").in_range(0.1, 0.99),
       Setting::number("kvTarget", 0.8, "KV-cache use per pod the fleet is sized to.").in_range(0.1, 1),
       seconds("drainTime", "60s", 1, 3600, "Backlog (waiting requests) drained within this time."),
       seconds("startupDelay", "90s", 0, 3600, "Pod start-up (model load)."),
       seconds("reaction", "75s", 0, 3600,
               "HPA sync + one cycle + half the load window: with startupDelay, "
               "the horizon."),
       seconds("swapPayback", "30m", 0, 86400, "A cheaper accelerator mix must repay its cold start within this."),
       seconds("loadWindow", "60s", 0, 3600,
               "The window of the tokens/s and ITL the metrics source reports: a variant is learned from once "
               "its count of pods has held this long."),
       seconds("scaleDownWindow", "5m", 0, 3600,
               "The HPA's scale-down stabilization window: pods a mix change removes are paid this long, and "
               "no mix change follows another within it."),
       Setting::number("tokenBudget", 8192, "vLLM max_num_batched_tokens (prefill chunk per step).").in_range(16, 1e7),
       seconds("burstMemory", "30m", 0, 86400, "After a burst, its peak is held this long."),
       Setting::number("burstJump", 1.5, "A burst: the demand needs this many times the ready pods.")
           .in_range(1.05, 100),
       Setting::number("safetyKvCache", 0.95, "Safety net: a pod this full adds one replica.").in_range(0.1, 1),
       Setting::number("safetyWaitingPerPod", 20, "Safety net: this many waiting per ready pod adds one replica.")
           .in_range(1, 1e6),
       Setting::number("priorUncertainty", 0.5, "Uncertainty of the profile-free prior.").in_range(0.01, 10),
       Setting::number("tailAllowance", 0.05,
                       "Per-request ITL tail: the fraction of requests allowed to miss the ITL SLO under "
                       "prefill interference.")
           .in_range(0.001, 0.5),
       Setting::number("promptLengthCv", 1.0,
                       "Prompt-length spread (coefficient of variation) assumed until the source measures it "
                       "(Load::prompt_tokens_cv, from vLLM's request_prompt_tokens histogram), and the prior "
                       "the first measurements are averaged with.")
           .in_range(0, 10),
       Setting::boolean("calibrateTail", true,
                        "Calibrate the ITL tail's spread on the measured fraction of requests over the ITL SLO "
                        "(Load::request_tpot_buckets, from vLLM's request_time_per_output_token_seconds "
                        "histogram): the spread is only ever scaled down, where fewer requests miss than it "
                        "predicts at the running fleet."),
       Setting::number("coldStartHeadroom", 0.6,
                       "Until one horizon of demand has been observed, demand is sized at the level x (1 + this), "
                       "fading to the level over the horizon.")
           .in_range(0, 10),
       Setting::boolean("kvSpread", true,
                        "Size the KV cache so that the busiest pod, at the spread between pods measured "
                        "(vLLM's kv_cache_usage_perc per pod), stays under safetyKvCache, not only the mean "
                        "pod at kvTarget: where few sequences fill a pod, one pod fills while the mean has room.")}};
}

Settings read_settings(const sdk::Config& validated) {
  const sdk::SettingsReader r(validated);
  Settings s;
  const sdk::SettingsReader slo = r.child("defaultSlo");
  s.default_ttft_ms = slo.number("ttftMs");
  s.default_itl_ms = slo.number("itlMs");
  s.latency_margin = r.number("latencyMargin");
  s.max_utilization = r.number("maxUtilization");
  s.kv_target = r.number("kvTarget");
  s.drain_s = r.seconds("drainTime");
  s.startup_s = r.seconds("startupDelay");
  s.reaction_s = r.seconds("reaction");
  s.swap_payback_s = r.seconds("swapPayback");
  s.scale_down_window_s = r.seconds("scaleDownWindow");
  s.load_window_s = r.seconds("loadWindow");
  s.token_budget = r.number("tokenBudget");
  s.burst_memory_s = r.seconds("burstMemory");
  s.burst_jump = r.number("burstJump");
  s.safety_kv = r.number("safetyKvCache");
  s.safety_waiting = r.number("safetyWaitingPerPod");
  s.prior_sd = r.number("priorUncertainty");
  s.tail_allowance = r.number("tailAllowance");
  s.prompt_cv = r.number("promptLengthCv");
  s.calibrate_tail = r.boolean("calibrateTail");
  s.cold_start_headroom = r.number("coldStartHeadroom");
  s.kv_spread = r.boolean("kvSpread");
  return s;
}

sdk::ParsedSettings<Settings> parse_settings(const sdk::Config& config, const std::string& path) {
  return sdk::parse_settings_with<Settings>(
      settings_schema(), config, path, [](const sdk::Config&, const std::string&) { return std::vector<sdk::Error>{}; },
      read_settings);
}

}  // namespace wva::capacity
