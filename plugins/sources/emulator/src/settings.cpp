#include "settings.h"

#include <climits>
#include <filesystem>
#include <fstream>
#include <map>

namespace wva::emulator {

bool is_dynamic(const nlohmann::json& config) {
  return config.is_object() && (config.contains("variants") || config.contains("workloads"));
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
  check_keys(v,
             {"namespace", "model", "profile", "maxNumSeqs", "maxNumBatchedTokens", "kvCacheTokens", "prefixCaching",
              "gpusPerReplica", "costPerGpuHour", "startupDelay", "terminationGracePeriod", "replicas", "minReplicas",
              "maxReplicas", "hpa"},
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
  if (v.contains("prefixCaching"))
    if (auto b = get_bool(v["prefixCaching"], vp + ".prefixCaching", errors)) spec.engine.prefix_caching = *b;
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
      errors.add(tp, "must be a file name or {file, speedup, loop, skip, blockTokens}");
    } else {
      check_keys(t, {"file", "speedup", "loop", "skip", "blockTokens"}, tp, errors);
      if (t.contains("file")) out.trace_file = get_string(t["file"], tp + ".file", errors).value_or("");
      else errors.add(tp + ".file", "missing");
      if (t.contains("speedup")) {
        auto s = get_number(t["speedup"], tp + ".speedup", errors);
        if (s && *s <= 0) errors.add(tp + ".speedup", "must be > 0");
        else if (s) out.trace.speedup = *s;
      }
      if (t.contains("loop")) out.trace.loop = get_bool(t["loop"], tp + ".loop", errors).value_or(false);
      if (t.contains("skip")) out.trace.skip = get_seconds(t["skip"], tp + ".skip", errors).value_or(0);
      if (t.contains("blockTokens"))
        if (auto n = get_int(t["blockTokens"], tp + ".blockTokens", errors, 1)) out.trace.block_tokens = *n;
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

namespace {

sdk::Setting seconds(std::string name, std::string description) {
  return sdk::Setting::duration(std::move(name), std::nullopt, std::move(description)).seconds_when_number();
}

// The dynamic mode's fields. Those only dynamic mode reads have no default in the schema (the default is
// the simulator's, in the description), so that check_settings sees whether they were written.
std::vector<sdk::Setting> dynamic_fields() {
  using sdk::Setting;
  return {
      Setting::custom("variants", nullptr, "a map of Deployment name -> {model, profile, replicas, ...}",
                      "The simulated fleet, one entry per Deployment (dynamic mode; see the README)."),
      Setting::custom("workloads", nullptr, "a list of {model, trace | rate, ...}",
                      "The requests sent to the fleet (dynamic mode; see the README)."),
      Setting::object(
          "router",
          {Setting::enumeration("policy", {"leastOutstanding", "roundRobin", "prefixAware"}, std::nullopt,
                                "How the router picks a ready pod (prefixAware: least outstanding work less the "
                                "prompt tokens the pod has cached); not set: leastOutstanding."),
           Setting::integer("maxQueue", std::nullopt, "Requests waiting at the router for a ready pod; not set: 10000.")
               .at_least(0),
           seconds("queueTimeout", "A request waiting this long at the router fails; not set: 60s.")},
          "The router in front of the pods (dynamic mode)."),
      Setting::object(
          "client",
          {seconds("ttftTimeout", "A request with no first token after this is cancelled; not set: never.").above(0),
           seconds("timeout", "A request not finished after this is cancelled; not set: never.").above(0)},
          "Clients that give up (dynamic mode)."),
      Setting::custom("hpa", nullptr, "a map {enabled, syncPeriod, tolerance, behavior, ...}",
                      "The Kubernetes HPA model every variant gets unless it sets its own; enabled: false turns it "
                      "off."),
      Setting::integer("seed", 1, "Seed of every random stream (workloads get their own from it).").at_least(0),
      seconds("loadWindow", "Window of the load the source reports (dynamic mode); not set: 60s.").above(0),
      seconds("samplePeriod", "Period of the report's time series (dynamic mode); not set: 5s.").above(0),
      Setting::string("baseDir", std::nullopt, "Relative trace and profile files resolve against it."),
      Setting::string("profilesFile", std::nullopt,
                      "A profile digest (JSON) the variants' profile names refer to (dynamic mode)."),
      Setting::string("reportFile", std::nullopt,
                      "Where stop() writes the summary and time series (JSON) (dynamic mode)."),
  };
}

void parse_validated(const nlohmann::json& validated, const std::string& path, EmulatorSettings& out,
                     ConfigErrors& errors) {
  parse_fixed(validated, path, out.fixed, errors);
  out.fixed_mode = validated.contains("fixedMetrics") || validated.contains("fixedLoad");
  if (is_dynamic(validated)) {
    if (out.fixed_mode) errors.add(path, "fixedMetrics/fixedLoad and variants/workloads are two modes; use one");
    out.dynamic.emplace();
    parse_dynamic(validated, path, *out.dynamic, errors);
    return;
  }
  for (const char* k : {"router", "client", "loadWindow", "samplePeriod", "profilesFile", "reportFile"})
    if (validated.contains(k)) errors.add(path + "." + k, "applies to dynamic mode only (needs variants)");
}

}  // namespace

sdk::SettingsSchema settings_schema() {
  using sdk::Setting;
  std::vector<Setting> fields = {
      Setting::custom("fixedMetrics", nullptr,
                      "a map of Deployment name -> list of {kvCacheUsage, waiting, running, kvCapacityTokens}",
                      "Fixed mode: the per-pod metrics reported verbatim, one entry per pod."),
      Setting::custom(
          "fixedLoad", nullptr,
          "a map of Deployment name -> {arrivalRate, inputTokens, outputTokens, ttftMs, itlMs, promptTokensCv}",
          "Fixed mode: the per-variant load reported verbatim (the model's `promptTokensCv` is the largest of its "
          "variants').")};
  for (auto& f : dynamic_fields()) fields.push_back(std::move(f));
  return {
      "A simulated vLLM fleet: fixed metrics reported verbatim (fixedMetrics, fixedLoad), or a simulated "
      "fleet and its workload (variants, workloads, ...); with neither, a sink that hands decisions to the "
      "fleet's HPA model.",
      std::move(fields)};
}

sdk::SettingsSchema dynamic_settings_schema() { return {"A simulated fleet and its workload.", dynamic_fields()}; }

std::vector<sdk::Error> check_settings(const nlohmann::json& validated, const std::string& path) {
  ConfigErrors errors;
  EmulatorSettings unused;
  parse_validated(validated, path, unused, errors);
  return errors.to_errors();
}

EmulatorSettings read_settings(const nlohmann::json& validated, const std::string& path) {
  ConfigErrors errors;  // empty: check_settings passed
  EmulatorSettings out;
  parse_validated(validated, path, out, errors);
  return out;
}

sdk::ParsedSettings<EmulatorSettings> parse_settings(const nlohmann::json& config, const std::string& path) {
  return sdk::parse_settings_with<EmulatorSettings>(
      settings_schema(), config, path, check_settings,
      [&path](const nlohmann::json& validated) { return read_settings(validated, path); });
}

sdk::ParsedSettings<DynamicConfig> parse_dynamic_settings(const nlohmann::json& config, const std::string& path) {
  ConfigErrors errors;
  DynamicConfig out;
  return sdk::parse_settings_with<DynamicConfig>(
      dynamic_settings_schema(), config, path,
      [&](const nlohmann::json& validated, const std::string& p) {
        parse_dynamic(validated, p, out, errors);
        return errors.to_errors();
      },
      [&](const nlohmann::json&) { return out; });
}

void parse_dynamic(const nlohmann::json& config, const std::string& path, DynamicConfig& out, ConfigErrors& errors) {
  out.path = path;
  const sdk::SettingsReader r(config);
  out.seed = static_cast<std::uint64_t>(r.integer("seed"));
  if (r.has("baseDir")) out.base_dir = r.string("baseDir");
  if (r.has("profilesFile")) out.profiles_file = r.string("profilesFile");
  if (r.has("reportFile")) out.report_file = r.string("reportFile");
  if (r.has("loadWindow")) out.load_window_s = r.seconds("loadWindow");
  if (r.has("samplePeriod")) out.sample_period_s = r.seconds("samplePeriod");
  if (r.has("router")) {
    const sdk::SettingsReader router = r.child("router");
    if (router.has("policy")) {
      const std::string policy = router.string("policy");
      out.router.policy = policy == "roundRobin"    ? RouterConfig::Policy::kRoundRobin
                          : policy == "prefixAware" ? RouterConfig::Policy::kPrefixAware
                                                    : RouterConfig::Policy::kLeastOutstanding;
    }
    if (router.has("maxQueue")) out.router.max_queue = static_cast<std::size_t>(router.integer("maxQueue"));
    if (router.has("queueTimeout")) out.router.queue_timeout_s = router.seconds("queueTimeout");
  }
  if (r.has("client")) {
    const sdk::SettingsReader client = r.child("client");
    if (client.has("ttftTimeout")) out.client.ttft_timeout_s = client.seconds("ttftTimeout");
    if (client.has("timeout")) out.client.request_timeout_s = client.seconds("timeout");
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
  std::map<std::string, std::shared_ptr<const Trace>> traces;
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
        auto loaded = load_trace(file);
        if (!loaded.ok()) return sdk::make_error(loaded.error().code, loaded.error().message, w.path + ".trace");
        rows = std::make_shared<const Trace>(std::move(loaded.value()));
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
