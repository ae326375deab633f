#include "run.h"

#include <chrono>
#include <fstream>
#include <iostream>

#include "wva/sdk/util/yaml.h"

#include "settings.h"  // the emulator plugin's own parser (plugins/sources/emulator)
#include "wva/framework/simulation.h"
#include "wva/sdk/duration.h"

namespace wva::simulate {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

// The analyzer instance a static pipeline runs (the host needs one; its decisions go nowhere because the
// HPA model is off).
constexpr const char* kStaticAnalyzer = "static-fleet-hold";

// Names the HPA objects the simulated cluster holds for the emulator's HPA model: <Deployment>-hpa.
constexpr const char* kEmulatedHpaSuffix = "-hpa";

// Counts the host's cycles and decisions, and prints progress on stderr every 2 s of wall time.
class RunObserver final : public framework::DecisionObserver {
 public:
  RunObserver(const std::string& pipeline, sdk::TimePoint sim_start, double duration_s, bool progress)
      : pipeline_(pipeline), sim_start_(sim_start), duration_s_(duration_s), progress_(progress) {}

  void on_cycle(const framework::SimulatedCycle& cycle) override {
    if (!cycle.idle_check) ++cycles;
    decisions += cycle.decisions.size();
    if (!cycle.errors.empty()) ++failed_cycles;
    const auto now = std::chrono::steady_clock::now();
    if (progress_ && now - last_progress_ > std::chrono::seconds(2)) {
      last_progress_ = now;
      std::cerr << "wva simulate: " << pipeline_ << " "
                << clock_text(std::chrono::duration<double>(cycle.time - sim_start_).count()) << " / "
                << clock_text(duration_s_) << " simulated\n";
    }
  }

  std::size_t cycles = 0, decisions = 0, failed_cycles = 0;

 private:
  std::string pipeline_;
  sdk::TimePoint sim_start_;
  double duration_s_;
  bool progress_;
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
};

// The HorizontalPodAutoscaler the emulator's HPA model stands for, one per variant it scales: WVA reads
// their bounds as it reads a real cluster's. Nothing when the HPA model is off (static fleets) or the
// settings do not parse (the emulator reports every error with its path when it starts).
std::vector<json> emulated_hpas(const json& emulator_settings) {
  std::vector<json> out;
  const auto parsed = emulator::parse_settings(emulator_settings, "emulator");
  if (!parsed.ok() || !parsed->dynamic || !parsed->dynamic->hpa_enabled) return out;
  for (const auto& v : parsed->dynamic->variants) {
    json spec = {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", v.name}}},
                 {"minReplicas", v.hpa.min_replicas}};
    if (v.hpa.max_replicas) spec["maxReplicas"] = *v.hpa.max_replicas;
    out.push_back({{"apiVersion", "autoscaling/v2"},
                   {"kind", "HorizontalPodAutoscaler"},
                   {"metadata", {{"name", v.name + kEmulatedHpaSuffix}, {"namespace", v.ns}}},
                   {"spec", std::move(spec)}});
  }
  return out;
}

}  // namespace

json run_totals(const json& summary, double duration_s, const Scenario& scenario) {
  double cost = 0, gpu_hours = 0, pod_hours = 0, changes = 0;
  bool any_cost = false;
  json fleet_mean = json::object();
  for (const auto& v : summary["variants"]) {
    const std::string name = v["name"].get<std::string>();
    int gpus = 1;
    for (const auto& info : scenario.variants)
      if (info.name == name) gpus = info.gpus_per_replica;
    if (v["cost"].is_number()) cost += v["cost"].get<double>(), any_cost = true;
    gpu_hours += v["gpuHours"].get<double>();
    const double pods = duration_s > 0 ? v["gpuHours"].get<double>() / gpus / (duration_s / 3600) : 0;
    fleet_mean[name] = pods;
    pod_hours += v["gpuHours"].get<double>() / gpus;
    changes += v["replicaChanges"].get<double>();
  }
  json t = {{"gpuHours", gpu_hours},
            {"meanPods", duration_s > 0 ? pod_hours / (duration_s / 3600) : 0},
            {"meanPodsByVariant", fleet_mean},
            {"replicaChanges", changes},
            {"replicaChangesPerHour", duration_s > 0 ? changes / (duration_s / 3600) : 0}};
  t["cost"] = any_cost ? json(cost) : json(nullptr);
  // Attainment over all models, weighted by requests.
  double met = 0, requests = 0;
  bool any = false;
  for (const auto& m : summary["models"]) {
    if (!m["sloAttainment"].is_number()) continue;
    any = true;
    met += m["sloAttainment"].get<double>() * m["requests"].get<double>();
    requests += m["requests"].get<double>();
  }
  t["sloAttainment"] = any && requests > 0 ? json(met / requests) : json(nullptr);
  return t;
}

RunOutcome run_pipeline(const Scenario& scenario, const PipelineSpec& pipe, const RunEnv& env) {
  RunOutcome out;
  const bool is_static = pipe.static_fleet.has_value();
  json emu = scenario.emulator;
  if (!emu.contains("baseDir")) emu["baseDir"] = scenario.dir.string();
  std::error_code ec;
  const fs::path emulator_report = env.work / (pipe.name + ".emulator.json");
  fs::remove(emulator_report, ec);
  emu["reportFile"] = emulator_report.string();
  json analyzers = scenario.analyzers;
  json analyzer_list = pipe.analyzers;
  if (is_static) {
    if (!emu.contains("hpa") || !emu["hpa"].is_object()) emu["hpa"] = json::object();
    emu["hpa"]["enabled"] = false;
    analyzers[kStaticAnalyzer] = {{"plugin", "saturation"}};
    analyzer_list = json::array({kStaticAnalyzer});
  }
  json sinks_list = json::array({"emulator"});
  for (const auto& s : pipe.sinks) sinks_list.push_back(s);
  json sinks = scenario.sinks.is_object() ? scenario.sinks : json::object();
  sinks["emulator"] = json::object();
  const std::string interval = sdk::format_duration(is_static ? std::chrono::minutes(5) : pipe.interval);
  json pipeline_cfg = {{"selector", pipe.selector},
                       {"interval", interval},
                       {"source", "emulator"},
                       {"analyzers", analyzer_list},
                       {"sinks", sinks_list}};
  if (pipe.combine) pipeline_cfg["combine"] = *pipe.combine;
  json config = {{"sources", {{"emulator", emu}}},
                 {"analyzers", analyzers},
                 {"sinks", sinks},
                 {"pipelines", {{pipe.name, pipeline_cfg}}}};

  // A fixed start time, so runs are reproducible.
  framework::Simulation sim({.config_text = config.dump(2),  // JSON is YAML
                             .config_source = "<generated>",
                             .manifests = scenario.manifests,
                             .objects = is_static ? std::vector<json>() : emulated_hpas(emu),
                             .system_namespace = env.system_ns,
                             .plugin_paths = env.plugin_paths,
                             .base_dir = scenario.dir,
                             .start = sdk::TimePoint(std::chrono::seconds(1767225600)),  // 2026-01-01
                             .verbose = env.verbose});
  if (auto r = sim.load_cluster(); !r.ok()) {
    out.errors.push_back(r.error().to_string());
    return out;
  }
  if (is_static) {
    // Every variant at its fixed size; the ones not named have none. Pods start warm (the emulator
    // starts a Deployment's replicas ready).
    for (const auto& v : scenario.variants) {
      const auto it = pipe.static_fleet->find(v.name);
      const int n = it == pipe.static_fleet->end() ? 0 : it->second;
      if (auto r = sim.scale(v.ns, v.name, n); !r.ok())
        out.errors.push_back("pipelines." + pipe.name + ".static." + v.name + ": " + r.error().to_string());
    }
    if (!out.errors.empty()) return out;
  } else {
    for (const auto& [name, n] : scenario.initial_replicas)
      for (const auto& v : scenario.variants)
        if (v.name == name)
          if (auto r = sim.scale(v.ns, v.name, n); !r.ok())
            out.errors.push_back("initialReplicas." + v.name + ": " + r.error().to_string());
    if (!out.errors.empty()) return out;
  }
  if (auto errors = sim.start(); !errors.empty()) {
    // An error in the emulator's or an analyzer's settings carries its own path in the scenario file
    // (every pipeline shares those sections); anything else is the pipeline's.
    for (const auto& e : errors) {
      std::string text = scenario_error_text(e.to_string());
      const bool own_path =
          text.starts_with("emulator.") || text.starts_with("emulator:") || text.starts_with("analyzers.");
      out.errors.push_back(own_path ? std::move(text) : "pipelines." + pipe.name + ": " + text);
    }
    return out;
  }
  const auto wall0 = std::chrono::steady_clock::now();
  RunObserver observer(pipe.name, sim.clock().now(), std::chrono::duration<double>(scenario.duration).count(),
                       env.progress);
  sim.run(scenario.duration, observer);
  sim.shutdown();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  json emu_report;
  {
    auto read = framework::read_input_file(emulator_report);
    auto parsed = read.ok() ? sdk::yaml::load_json(*read) : sdk::Result<json>(read.error());
    if (!parsed.ok()) {
      out.errors.push_back("pipelines." + pipe.name + ": the emulator wrote no report (" + parsed.error().message +
                           ")");
      return out;
    }
    emu_report = std::move(parsed.value());
  }
  fs::remove(emulator_report, ec);
  std::string description;
  if (is_static) {
    description = "static fleet";
    for (const auto& [v, n] : *pipe.static_fleet) description += " " + v + "=" + std::to_string(n);
    description += ", warm, HPA off";
  } else {
    description = "analyzers [";
    for (std::size_t i = 0; i < pipe.analyzers.size(); ++i)
      description += (i ? ", " : "") + pipe.analyzers[i].get<std::string>();
    description += "], interval " + interval;
    if (pipe.combine) description += ", combine " + *pipe.combine;
  }
  const double duration_s = std::chrono::duration<double>(scenario.duration).count();
  json run = {{"pipeline", pipe.name},     {"description", description},       {"static", is_static},
              {"cycles", observer.cycles}, {"decisions", observer.decisions},  {"failedCycles", observer.failed_cycles},
              {"wallSeconds", wall},       {"summary", emu_report["summary"]}, {"series", emu_report["series"]}};
  if (is_static) run["staticFleet"] = *pipe.static_fleet;
  run["totals"] = run_totals(run["summary"], duration_s, scenario);
  out.run = std::move(run);
  return out;
}

}  // namespace wva::simulate
