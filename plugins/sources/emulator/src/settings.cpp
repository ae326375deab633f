#include "settings.h"

#include <climits>
#include <filesystem>
#include <fstream>
#include <map>

namespace wva::emulator {

bool is_dynamic(const nlohmann::json& config) {
  return config.is_object() && (config.contains("variants") || config.contains("workloads"));
}

const std::vector<std::string>& dynamic_keys() {
  static const std::vector<std::string> kKeys = {"variants", "workloads",    "router",     "client",
                                                 "hpa",      "seed",         "loadWindow", "samplePeriod",
                                                 "baseDir",  "profilesFile", "reportFile"};
  return kKeys;
}

namespace {

std::optional<int> get_int(const nlohmann::json& j, const std::string& path, ConfigErrors& errors, long long min) {
  auto v = get_count(j, path, errors);
  if (!v) return std::nullopt;
  if (*v < min) {
    errors.add(path, "must be >= " + std::to_string(min));
    return std::nullopt;
  }
  return static_cast<int>(std::min<long long>(*v, INT_MAX));
}

void parse_variant(const std::string& name, const nlohmann::json& v, const std::string& vp, const DynamicConfig& cfg,
                   VariantSpec& spec, ConfigErrors& errors) {
  spec.name = name;
  if (!v.is_object()) {
    errors.add(vp, "must be a map {model, profile, replicas, ...}");
    return;
  }
  check_keys(
      v,
      {"namespace", "model", "profile", "maxNumSeqs", "maxNumBatchedTokens", "kvCacheTokens", "gpusPerReplica",
       "costPerGpuHour", "startupDelay", "terminationGracePeriod", "replicas", "minReplicas", "maxReplicas", "hpa"},
      vp, errors);
  if (v.contains("namespace")) spec.ns = get_string(v["namespace"], vp + ".namespace", errors).value_or("default");
  if (v.contains("model")) spec.model = get_string(v["model"], vp + ".model", errors).value_or("");
  else errors.add(vp + ".model", "missing (the model id this Deployment serves)");
  if (!v.contains("profile")) {
    errors.add(vp + ".profile", "missing (e.g. llama-3.1-8b/H100, or a map of coefficients)");
  } else if (!cfg.profiles_file) {
    if (auto p = parse_profile_ref(v["profile"], builtin_profiles(), vp + ".profile", errors)) spec.engine.profile = *p;
  }
  if (v.contains("maxNumSeqs"))
    if (auto n = get_int(v["maxNumSeqs"], vp + ".maxNumSeqs", errors, 1)) spec.engine.max_num_seqs = *n;
  if (v.contains("maxNumBatchedTokens"))
    if (auto n = get_int(v["maxNumBatchedTokens"], vp + ".maxNumBatchedTokens", errors, 1))
      spec.engine.max_num_batched_tokens = *n;
  if (v.contains("kvCacheTokens"))
    if (auto n = get_int(v["kvCacheTokens"], vp + ".kvCacheTokens", errors, 1)) spec.engine.kv_cache_tokens = *n;
  if (v.contains("gpusPerReplica"))
    if (auto n = get_int(v["gpusPerReplica"], vp + ".gpusPerReplica", errors, 1)) spec.gpus_per_replica = *n;
  if (v.contains("costPerGpuHour")) {
    auto c = get_number(v["costPerGpuHour"], vp + ".costPerGpuHour", errors);
    if (c && *c < 0) errors.add(vp + ".costPerGpuHour", "must be >= 0");
    else if (c) spec.cost_per_gpu_hour = *c;
  }
  if (v.contains("startupDelay"))
    if (auto s = get_seconds(v["startupDelay"], vp + ".startupDelay", errors)) spec.startup_s = *s;
  if (v.contains("terminationGracePeriod"))
    if (auto s = get_seconds(v["terminationGracePeriod"], vp + ".terminationGracePeriod", errors)) spec.grace_s = *s;
  if (v.contains("replicas"))
    if (auto n = get_int(v["replicas"], vp + ".replicas", errors, 0)) spec.initial_replicas = *n;
  spec.hpa = cfg.hpa;
  if (v.contains("hpa")) spec.hpa = parse_hpa(v["hpa"], cfg.hpa, vp + ".hpa", errors);
  if (v.contains("minReplicas"))
    if (auto n = get_int(v["minReplicas"], vp + ".minReplicas", errors, 0)) spec.hpa.min_replicas = *n;
  if (v.contains("maxReplicas"))
    if (auto n = get_int(v["maxReplicas"], vp + ".maxReplicas", errors, 1)) spec.hpa.max_replicas = *n;
  if (spec.hpa.max_replicas && spec.hpa.min_replicas > *spec.hpa.max_replicas)
    errors.add(vp + ".minReplicas", "must be <= maxReplicas");
}

void parse_workload(const nlohmann::json& w, const std::string& wp, std::uint64_t seed, WorkloadConfig& out,
                    ConfigErrors& errors) {
  out.path = wp;
  if (!w.is_object()) {
    errors.add(wp, "must be a map {model, trace | rate, ...}");
    return;
  }
  check_keys(w,
             {"model", "namespace", "trace", "rate", "scale", "start", "duration", "inputTokens", "outputTokens",
              "arrivals", "slo", "seed"},
             wp, errors);
  if (w.contains("model")) out.model = get_string(w["model"], wp + ".model", errors).value_or("");
  else errors.add(wp + ".model", "missing");
  if (w.contains("namespace")) out.ns = get_string(w["namespace"], wp + ".namespace", errors).value_or("default");
  const bool has_trace = w.contains("trace"), has_rate = w.contains("rate");
  if (has_trace == has_rate) errors.add(wp, "needs exactly one of trace or rate");
  std::optional<double> start, duration;
  if (w.contains("start")) start = get_seconds(w["start"], wp + ".start", errors);
  if (w.contains("duration")) duration = get_seconds(w["duration"], wp + ".duration", errors);
  if (w.contains("seed")) {
    if (auto s = get_count(w["seed"], wp + ".seed", errors)) seed = static_cast<std::uint64_t>(*s);
  }
  if (w.contains("slo")) {
    const auto& s = w["slo"];
    if (!s.is_object()) {
      errors.add(wp + ".slo", "must be {ttftMs, itlMs}");
    } else {
      check_keys(s, {"ttftMs", "itlMs"}, wp + ".slo", errors);
      if (s.contains("ttftMs")) out.slo_ttft_ms = get_number(s["ttftMs"], wp + ".slo.ttftMs", errors);
      if (s.contains("itlMs")) out.slo_itl_ms = get_number(s["itlMs"], wp + ".slo.itlMs", errors);
    }
  }
  if (has_trace && !has_rate) {
    out.is_trace = true;
    const auto& t = w["trace"];
    const std::string tp = wp + ".trace";
    if (t.is_string()) {
      out.trace_file = t.get<std::string>();
    } else if (!t.is_object()) {
      errors.add(tp, "must be a file name or {file, speedup, loop, skip}");
    } else {
      check_keys(t, {"file", "speedup", "loop", "skip"}, tp, errors);
      if (t.contains("file")) out.trace_file = get_string(t["file"], tp + ".file", errors).value_or("");
      else errors.add(tp + ".file", "missing");
      if (t.contains("speedup")) {
        auto s = get_number(t["speedup"], tp + ".speedup", errors);
        if (s && *s <= 0) errors.add(tp + ".speedup", "must be > 0");
        else if (s) out.trace.speedup = *s;
      }
      if (t.contains("loop")) out.trace.loop = get_bool(t["loop"], tp + ".loop", errors).value_or(false);
      if (t.contains("skip")) out.trace.skip = get_seconds(t["skip"], tp + ".skip", errors).value_or(0);
    }
    for (const char* k : {"inputTokens", "outputTokens", "arrivals", "scale"})
      if (w.contains(k)) errors.add(wp + "." + k, "applies to rate workloads only (a trace has its own)");
    out.trace.start = start.value_or(0);
    out.trace.duration = duration;
  }
  if (has_rate && !has_trace) {
    if (auto p = parse_rate_profile(w["rate"], wp + ".rate", errors)) out.rate.profile = *p;
    if (w.contains("inputTokens")) {
      if (auto d = parse_token_dist(w["inputTokens"], wp + ".inputTokens", errors)) out.rate.input = *d;
    } else {
      errors.add(wp + ".inputTokens", "missing (a count or a distribution)");
    }
    if (w.contains("outputTokens")) {
      if (auto d = parse_token_dist(w["outputTokens"], wp + ".outputTokens", errors)) out.rate.output = *d;
    } else {
      errors.add(wp + ".outputTokens", "missing (a count or a distribution)");
    }
    if (w.contains("scale")) {
      auto s = get_number(w["scale"], wp + ".scale", errors);
      if (s && *s < 0) errors.add(wp + ".scale", "must be >= 0");
      else if (s) out.rate.scale = *s;
    }
    if (w.contains("arrivals")) {
      auto a = get_string(w["arrivals"], wp + ".arrivals", errors);
      if (a && *a == "poisson") out.rate.poisson = true;
      else if (a && *a == "uniform") out.rate.poisson = false;
      else if (a) errors.add(wp + ".arrivals", "must be poisson or uniform");
    }
    out.rate.start = start.value_or(0);
    out.rate.duration = duration;
    out.rate.seed = seed;
  }
}

}  // namespace

void parse_dynamic(const nlohmann::json& config, const std::string& path, DynamicConfig& out, ConfigErrors& errors) {
  out.path = path;
  if (config.contains("seed"))
    if (auto s = get_count(config["seed"], path + ".seed", errors)) out.seed = static_cast<std::uint64_t>(*s);
  if (config.contains("baseDir")) out.base_dir = get_string(config["baseDir"], path + ".baseDir", errors).value_or("");
  if (config.contains("profilesFile"))
    out.profiles_file = get_string(config["profilesFile"], path + ".profilesFile", errors);
  if (config.contains("reportFile")) out.report_file = get_string(config["reportFile"], path + ".reportFile", errors);
  if (config.contains("loadWindow")) {
    auto s = get_seconds(config["loadWindow"], path + ".loadWindow", errors);
    if (s && *s <= 0) errors.add(path + ".loadWindow", "must be > 0");
    else if (s) out.load_window_s = *s;
  }
  if (config.contains("samplePeriod")) {
    auto s = get_seconds(config["samplePeriod"], path + ".samplePeriod", errors);
    if (s && *s <= 0) errors.add(path + ".samplePeriod", "must be > 0");
    else if (s) out.sample_period_s = *s;
  }
  if (config.contains("hpa")) {
    const auto& h = config["hpa"];
    nlohmann::json rest = h;
    if (h.is_object() && h.contains("enabled")) {
      out.hpa_enabled = get_bool(h["enabled"], path + ".hpa.enabled", errors).value_or(true);
      rest.erase("enabled");
    }
    out.hpa = parse_hpa(rest, HpaConfig{}, path + ".hpa", errors);
  }
  if (config.contains("router")) {
    const auto& r = config["router"];
    const std::string rp = path + ".router";
    if (!r.is_object()) {
      errors.add(rp, "must be a map {policy, maxQueue, queueTimeout}");
    } else {
      check_keys(r, {"policy", "maxQueue", "queueTimeout"}, rp, errors);
      if (r.contains("policy")) {
        auto p = get_string(r["policy"], rp + ".policy", errors);
        if (p && *p == "leastOutstanding") out.router.policy = RouterConfig::Policy::kLeastOutstanding;
        else if (p && *p == "roundRobin") out.router.policy = RouterConfig::Policy::kRoundRobin;
        else if (p) errors.add(rp + ".policy", "must be leastOutstanding or roundRobin, got \"" + *p + "\"");
      }
      if (r.contains("maxQueue"))
        if (auto n = get_count(r["maxQueue"], rp + ".maxQueue", errors))
          out.router.max_queue = static_cast<std::size_t>(*n);
      if (r.contains("queueTimeout"))
        if (auto s = get_seconds(r["queueTimeout"], rp + ".queueTimeout", errors)) out.router.queue_timeout_s = *s;
    }
  }
  if (config.contains("client")) {
    const auto& c = config["client"];
    const std::string cp = path + ".client";
    if (!c.is_object()) {
      errors.add(cp, "must be a map {ttftTimeout, timeout}");
    } else {
      check_keys(c, {"ttftTimeout", "timeout"}, cp, errors);
      auto positive = [&](const char* key) -> std::optional<double> {
        if (!c.contains(key)) return std::nullopt;
        auto s = get_seconds(c[key], cp + "." + key, errors);
        if (s && *s <= 0) {
          errors.add(cp + "." + key, "must be > 0");
          return std::nullopt;
        }
        return s;
      };
      out.client.ttft_timeout_s = positive("ttftTimeout");
      out.client.request_timeout_s = positive("timeout");
    }
  }
  if (!config.contains("variants")) {
    errors.add(path + ".variants", "missing: dynamic mode needs at least one variant (Deployment)");
  } else if (!config["variants"].is_object() || config["variants"].empty()) {
    errors.add(path + ".variants", "must be a non-empty map of Deployment name -> {model, profile, ...}");
  } else {
    for (const auto& [name, v] : config["variants"].items()) {
      VariantSpec spec;
      parse_variant(name, v, path + ".variants." + name, out, spec, errors);
      out.variants.push_back(std::move(spec));
      out.variant_profile_json.push_back(v.is_object() && v.contains("profile") ? v["profile"] : nlohmann::json());
    }
  }
  if (config.contains("workloads")) {
    const auto& ws = config["workloads"];
    if (!ws.is_array()) {
      errors.add(path + ".workloads", "must be a list");
    } else {
      for (std::size_t i = 0; i < ws.size(); ++i) {
        WorkloadConfig w;
        const std::string wp = path + ".workloads[" + std::to_string(i) + "]";
        parse_workload(ws[i], wp, out.seed * 1000003ULL + i, w, errors);
        bool served = false;
        for (const auto& v : out.variants) served = served || (v.model == w.model && v.ns == w.ns);
        if (!w.model.empty() && !served)
          errors.add(wp + ".model", "no variant serves model \"" + w.model + "\" in namespace \"" + w.ns + "\"");
        out.workloads.push_back(std::move(w));
      }
    }
  }
}

sdk::Result<WorldConfig> build_world_config(const DynamicConfig& config) {
  namespace fs = std::filesystem;
  auto resolve = [&](const std::string& file) {
    fs::path p(file);
    if (p.is_relative() && !config.base_dir.empty()) p = fs::path(config.base_dir) / p;
    return p.string();
  };
  WorldConfig world;
  world.variants = config.variants;
  world.router = config.router;
  world.client = config.client;
  world.sample_period_s = config.sample_period_s;
  world.hpa_sync_period_s = config.hpa.sync_period_s;
  world.hpa_enabled = config.hpa_enabled;
  if (config.profiles_file) {
    const std::string file = resolve(*config.profiles_file);
    std::ifstream in(file);
    if (!in) return sdk::make_error(sdk::ErrorCode::kNotFound, "cannot open " + file, config.path + ".profilesFile");
    nlohmann::json digest = nlohmann::json::parse(in, nullptr, false);
    if (digest.is_discarded())
      return sdk::make_error(sdk::ErrorCode::kInvalidConfig, file + " is not valid JSON",
                             config.path + ".profilesFile");
    ConfigErrors errors;
    auto profiles = parse_profiles(digest, file, errors);
    for (std::size_t v = 0; v < world.variants.size(); ++v)
      if (auto p = parse_profile_ref(config.variant_profile_json[v], profiles,
                                     config.path + ".variants." + world.variants[v].name + ".profile", errors))
        world.variants[v].engine.profile = *p;
    if (!errors.empty()) return errors.to_error();
  }
  std::map<std::string, std::shared_ptr<const std::vector<TraceRow>>> traces;
  for (const auto& w : config.workloads) {
    WorkloadSpec spec;
    spec.model = w.model;
    spec.ns = w.ns;
    spec.slo_ttft_ms = w.slo_ttft_ms;
    spec.slo_itl_ms = w.slo_itl_ms;
    if (w.is_trace) {
      const std::string file = resolve(w.trace_file);
      auto& rows = traces[file];
      if (!rows) {
        auto loaded = load_azure_trace(file);
        if (!loaded.ok()) return sdk::make_error(loaded.error().code, loaded.error().message, w.path + ".trace");
        rows = std::make_shared<const std::vector<TraceRow>>(std::move(loaded.value()));
      }
      auto opts = w.trace;
      spec.make_stream = [rows = rows, opts] { return make_trace_stream(rows, opts); };
      spec.description = "trace " + fs::path(file).filename().string() + " x" + format_number(opts.speedup) +
                         (opts.loop ? " (looped)" : "");
    } else {
      auto opts = w.rate;
      spec.make_stream = [opts] { return make_rate_stream(opts); };
      spec.description = "rate profile";
    }
    world.workloads.push_back(std::move(spec));
  }
  return world;
}

}  // namespace wva::emulator
