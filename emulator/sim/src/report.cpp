#include "report.h"

namespace wva::emulator {

namespace {

nlohmann::json opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json summary_json(const World& world) {
  const Summary s = world.summary();
  nlohmann::json out;
  out["durationSeconds"] = s.duration_s;
  out["models"] = nlohmann::json::array();
  for (const auto& m : s.models) {
    out["models"].push_back({{"namespace", m.ns},
                             {"model", m.model},
                             {"requests", m.requests},
                             {"completed", m.completed},
                             {"failed", m.failed},
                             {"unfinished", m.unfinished},
                             {"failures", m.failures},
                             {"sloAttainment", opt(m.slo_attainment)},
                             {"ttftMisses", m.ttft_misses},
                             {"itlMisses", m.itl_misses},
                             {"ttftP50Ms", opt(m.ttft_p50_ms)},
                             {"ttftP99Ms", opt(m.ttft_p99_ms)},
                             {"itlP50Ms", opt(m.itl_p50_ms)},
                             {"itlP99Ms", opt(m.itl_p99_ms)},
                             {"e2eP50Ms", opt(m.e2e_p50_ms)},
                             {"e2eP99Ms", opt(m.e2e_p99_ms)},
                             {"peakWaiting", m.peak_waiting},
                             {"preemptions", m.preemptions},
                             {"prefixCacheQueryTokens", m.prefix_cache_queries},
                             {"prefixCacheHitTokens", m.prefix_cache_hits}});
  }
  out["variants"] = nlohmann::json::array();
  for (const auto& v : s.variants) {
    out["variants"].push_back({{"namespace", v.ns},
                               {"name", v.name},
                               {"model", v.model},
                               {"accelerator", v.accelerator},
                               {"gpuHours", v.gpu_hours},
                               {"cost", opt(v.cost)},
                               {"replicaChanges", v.replica_changes},
                               {"maxPods", v.max_pods},
                               {"finalReplicas", v.final_replicas}});
  }
  return out;
}

nlohmann::json series_json(const World& world) {
  const auto& samples = world.samples();
  const auto models = world.models();
  nlohmann::json out;
  nlohmann::json t = nlohmann::json::array();
  for (const auto& s : samples) t.push_back(s.t);
  out["t"] = std::move(t);
  out["models"] = nlohmann::json::object();
  for (std::size_t m = 0; m < models.size(); ++m) {
    nlohmann::json rate = nlohmann::json::array(), queue = nlohmann::json::array(), waiting = nlohmann::json::array(),
                   running = nlohmann::json::array(), kv = nlohmann::json::array(), kvmax = nlohmann::json::array(),
                   ttft = nlohmann::json::array(), itl = nlohmann::json::array();
    for (const auto& s : samples) {
      const ModelSample& ms = s.models[m];
      rate.push_back(ms.arrival_rate);
      queue.push_back(ms.router_queue);
      waiting.push_back(ms.waiting + ms.router_queue);
      running.push_back(ms.running);
      kv.push_back(opt(ms.kv_usage_mean));
      kvmax.push_back(opt(ms.kv_usage_max));
      ttft.push_back(opt(ms.ttft_p99_ms));
      itl.push_back(opt(ms.itl_p99_ms));
    }
    out["models"][models[m].first + "/" + models[m].second] = {
        {"arrivalRate", rate}, {"routerQueue", queue}, {"waiting", waiting}, {"running", running},
        {"kvUsageMean", kv},   {"kvUsageMax", kvmax},  {"ttftP99Ms", ttft},  {"itlP99Ms", itl}};
  }
  out["variants"] = nlohmann::json::object();
  const auto& variants = world.config().variants;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    nlohmann::json spec = nlohmann::json::array(), pods = nlohmann::json::array(), ready = nlohmann::json::array(),
                   cost = nlohmann::json::array();
    for (const auto& s : samples) {
      spec.push_back(s.variants[v].spec_replicas);
      pods.push_back(s.variants[v].pods);
      ready.push_back(s.variants[v].ready);
      cost.push_back(s.variants[v].cost_rate_per_hour);
    }
    out["variants"][variants[v].ns + "/" + variants[v].name] = {{"accelerator", variants[v].engine.profile.accelerator},
                                                                {"model", variants[v].model},
                                                                {"replicas", spec},
                                                                {"pods", pods},
                                                                {"ready", ready},
                                                                {"costPerHour", cost}};
  }
  return out;
}

nlohmann::json report_json(const World& world) {
  return {{"summary", summary_json(world)}, {"series", series_json(world)}};
}

}  // namespace wva::emulator
