#include "fixed_mode.h"

#include "wva/sdk/util/histogram.h"

#include <algorithm>
#include <limits>

namespace wva::emulator {

namespace {

std::optional<double> bounded(const nlohmann::json& j, const std::string& path, double lo, double hi,
                              ConfigErrors& errors) {
  auto v = get_number(j, path, errors);
  if (!v) return std::nullopt;
  if (*v < lo || *v > hi) {
    if (hi == std::numeric_limits<double>::infinity()) errors.add(path, "must be >= " + format_number(lo));
    else errors.add(path, "must be in [" + format_number(lo) + "," + format_number(hi) + "]");
    return std::nullopt;
  }
  return v;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

void parse_fixed(const nlohmann::json& config, const std::string& path, FixedConfig& out, ConfigErrors& errors) {
  if (auto it = config.find("fixedMetrics"); it != config.end()) {
    const std::string mpath = path + ".fixedMetrics";
    if (!it->is_object()) {
      errors.add(mpath, "must be a map of deployment -> list of pods");
    } else {
      for (const auto& [deployment, pods] : it->items()) {
        const std::string dpath = mpath + "." + deployment;
        if (!pods.is_array()) {
          errors.add(dpath, "must be a list with one entry per pod");
          continue;
        }
        std::vector<FixedPod> parsed;
        for (std::size_t i = 0; i < pods.size(); ++i) {
          const std::string ppath = dpath + "[" + std::to_string(i) + "]";
          const auto& pod = pods[i];
          if (!pod.is_object()) {
            errors.add(ppath, "must be a map with kvCacheUsage, waiting, running");
            continue;
          }
          check_keys(pod, {"kvCacheUsage", "waiting", "running", "kvCapacityTokens"}, ppath, errors);
          FixedPod p;
          if (pod.contains("kvCacheUsage"))
            p.kv_cache_usage = bounded(pod["kvCacheUsage"], ppath + ".kvCacheUsage", 0, 1, errors);
          if (pod.contains("waiting")) p.waiting = bounded(pod["waiting"], ppath + ".waiting", 0, kInf, errors);
          if (pod.contains("running")) p.running = bounded(pod["running"], ppath + ".running", 0, kInf, errors);
          if (pod.contains("kvCapacityTokens"))
            p.kv_capacity_tokens = bounded(pod["kvCapacityTokens"], ppath + ".kvCapacityTokens", 1, kInf, errors);
          parsed.push_back(p);
        }
        out.metrics[deployment] = std::move(parsed);
      }
    }
  }
  if (auto it = config.find("fixedLoad"); it != config.end()) {
    const std::string lpath = path + ".fixedLoad";
    if (!it->is_object()) {
      errors.add(lpath, "must be a map of deployment -> {arrivalRate, inputTokens, outputTokens}");
    } else {
      for (const auto& [deployment, load] : it->items()) {
        const std::string dpath = lpath + "." + deployment;
        if (!load.is_object()) {
          errors.add(dpath, "must be a map with arrivalRate, inputTokens, outputTokens");
          continue;
        }
        check_keys(load, {"arrivalRate", "inputTokens", "outputTokens", "ttftMs", "itlMs", "promptTokensCv"}, dpath,
                   errors);
        sdk::Load l;
        if (load.contains("arrivalRate"))
          l.arrival_rate = bounded(load["arrivalRate"], dpath + ".arrivalRate", 0, kInf, errors);
        if (load.contains("inputTokens"))
          l.avg_input_tokens = bounded(load["inputTokens"], dpath + ".inputTokens", 0, kInf, errors);
        if (load.contains("outputTokens"))
          l.avg_output_tokens = bounded(load["outputTokens"], dpath + ".outputTokens", 0, kInf, errors);
        if (load.contains("ttftMs")) l.ttft_ms = bounded(load["ttftMs"], dpath + ".ttftMs", 0, kInf, errors);
        if (load.contains("itlMs")) l.itl_ms = bounded(load["itlMs"], dpath + ".itlMs", 0, kInf, errors);
        if (load.contains("promptTokensCv"))
          l.prompt_tokens_cv = bounded(load["promptTokensCv"], dpath + ".promptTokensCv", 0, 100, errors);
        out.load[deployment] = l;
      }
    }
  }
}

sdk::Load combine_loads(const std::map<std::string, sdk::Load>& by_variant) {
  sdk::Load total;
  double rate = 0, in_w = 0, out_w = 0, ttft_w = 0, itl_w = 0;
  double w_in = 0, w_out = 0, w_ttft = 0, w_itl = 0;
  bool any_rate = false;
  for (const auto& [name, l] : by_variant) {
    if (!l.arrival_rate) continue;
    any_rate = true;
    const double r = *l.arrival_rate;
    rate += r;
    if (l.avg_input_tokens) in_w += r * *l.avg_input_tokens, w_in += r;
    if (l.avg_output_tokens) out_w += r * *l.avg_output_tokens, w_out += r;
    if (l.ttft_ms) ttft_w += r * *l.ttft_ms, w_ttft += r;
    if (l.itl_ms) itl_w += r * *l.itl_ms, w_itl += r;
  }
  if (!any_rate) {
    // No rates: take the first variant's token shape alone, if any.
    for (const auto& [name, l] : by_variant) {
      if (l.avg_input_tokens || l.avg_output_tokens) {
        total.avg_input_tokens = l.avg_input_tokens;
        total.avg_output_tokens = l.avg_output_tokens;
        break;
      }
    }
    return total;
  }
  total.arrival_rate = rate;
  auto mean = [](double sum, double w, std::optional<double>& out) {
    if (w > 0) out = sum / w;
  };
  mean(in_w, w_in, total.avg_input_tokens);
  mean(out_w, w_out, total.avg_output_tokens);
  mean(ttft_w, w_ttft, total.ttft_ms);
  mean(itl_w, w_itl, total.itl_ms);
  for (const auto& [name, l] : by_variant) {
    // Without the buckets the pooled spread is unknown: the largest of the variants' is the cautious pick.
    if (l.prompt_tokens_cv) total.prompt_tokens_cv = std::max(total.prompt_tokens_cv.value_or(0), *l.prompt_tokens_cv);
    if (l.prompt_tokens_rate) total.prompt_tokens_rate = total.prompt_tokens_rate.value_or(0) + *l.prompt_tokens_rate;
    if (l.generation_tokens_rate)
      total.generation_tokens_rate = total.generation_tokens_rate.value_or(0) + *l.generation_tokens_rate;
    sdk::util::add_buckets(total.request_tpot_buckets, l.request_tpot_buckets);  // one layout: they add up
  }
  // Zero total rate: the weighted means are undefined; fall back to any variant's token shape.
  if (rate == 0) {
    for (const auto& [name, l] : by_variant) {
      if (!total.avg_input_tokens) total.avg_input_tokens = l.avg_input_tokens;
      if (!total.avg_output_tokens) total.avg_output_tokens = l.avg_output_tokens;
    }
  }
  return total;
}

namespace {

template <class Map>
auto find_key(const Map& map, const std::string& ns, const std::string& name) {
  auto it = map.find(ns + "/" + name);
  if (it == map.end()) it = map.find(name);
  return it;
}

}  // namespace

sdk::ModelMetrics fixed_metrics_for(const FixedConfig& fixed, const sdk::ModelView& model, sdk::TimePoint now) {
  sdk::ModelMetrics m;
  m.collected_at = now;
  bool any = false;
  for (const auto& variant : model.variants) {
    if (auto it = find_key(fixed.metrics, model.key.ns, variant.name); it != fixed.metrics.end()) {
      any = true;
      for (std::size_t i = 0; i < it->second.size(); ++i) {
        const FixedPod& p = it->second[i];
        sdk::ReplicaMetrics r;
        r.pod = variant.name + "-" + std::to_string(i);
        r.variant = variant.name;
        r.kv_cache_usage = p.kv_cache_usage;
        r.waiting = p.waiting;
        r.running = p.running;
        r.kv_capacity_tokens = p.kv_capacity_tokens;
        r.sample_time = now;
        m.replicas.push_back(std::move(r));
      }
    }
    if (auto it = find_key(fixed.load, model.key.ns, variant.name); it != fixed.load.end()) {
      any = true;
      m.load_by_variant[variant.name] = it->second;
    }
  }
  if (!any) {
    m.state = sdk::MetricsState::kNoData;
    std::string names;
    for (const auto& v : model.variants) names += (names.empty() ? "" : ", ") + v.name;
    m.message = "emulator: no fixedMetrics or fixedLoad configured for " +
                (names.empty() ? std::string("any variant of ") + model.key.to_string()
                               : "variant(s) " + names + " of " + model.key.to_string());
    return m;
  }
  m.state = sdk::MetricsState::kOk;
  m.load = combine_loads(m.load_by_variant);
  return m;
}

}  // namespace wva::emulator
