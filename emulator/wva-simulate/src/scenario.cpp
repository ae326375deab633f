#include "scenario.h"

#include <cmath>
#include <regex>

#include "wva/framework/simulation.h"
#include "wva/sdk/duration.h"
#include "wva/sdk/util/suggest.h"
#include "wva/sdk/util/yaml.h"

namespace wva::simulate {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kTopKeys = {"name",      "description",     "traffic",  "duration",
                                           "manifests", "initialReplicas", "emulator", "analyzers",
                                           "sinks",     "pipelines"};
const std::vector<std::string> kPipelineKeys = {"description", "interval", "analyzers", "combine",
                                                "sinks",       "selector", "static"};

struct Checker {
  std::string file;
  std::vector<std::string>& errors;
  void add(const std::string& path, const std::string& message) {
    errors.push_back(file + ": " + path + ": " + message);
  }
  void keys(const json& object, const std::vector<std::string>& known, const std::string& prefix) {
    for (const auto& [key, value] : object.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      const auto best = sdk::closest_match(key, known);
      add(prefix.empty() ? key : prefix + "." + key,
          "unknown key" + (best ? " (did you mean \"" + *best + "\"?)" : std::string()));
    }
  }
};

}  // namespace

std::optional<std::chrono::milliseconds> scenario_duration(const json& value) {
  if (value.is_number()) {
    const double s = value.get<double>();
    if (!std::isfinite(s) || s < 0 || s > 1e9) return std::nullopt;
    return std::chrono::milliseconds(static_cast<long long>(std::llround(s * 1000)));
  }
  if (!value.is_string()) return std::nullopt;
  const std::string text = value.get<std::string>();
  // Bare seconds written as a string ("1800", "1.5").
  static const std::regex kNumber(R"(^\s*[0-9]+(\.[0-9]+)?\s*$)");
  if (std::regex_match(text, kNumber)) return scenario_duration(json(std::stod(text)));
  auto d = sdk::parse_duration(text);
  if (!d.ok()) return std::nullopt;
  return d.value();
}

std::string scenario_error_text(const std::string& host_error) {
  std::string out = host_error;
  // Line marks refer to the generated config, not the scenario: drop them.
  static const std::regex kGeneratedLine(R"( \(<generated>:[0-9]+\))");
  out = std::regex_replace(out, kGeneratedLine, "");
  static const std::regex kGeneratedName(R"(<generated>: ?)");
  out = std::regex_replace(out, kGeneratedName, "");
  static const std::regex kEmulatorPath(R"(\bsources\.emulator\b)");
  out = std::regex_replace(out, kEmulatorPath, "emulator");
  return out;
}

ScenarioLoad load_scenario(const fs::path& path) {
  ScenarioLoad out;
  const fs::path file = fs::absolute(path);
  Checker check{file.string(), out.errors};
  json root;
  std::vector<std::string> pipeline_order, variant_order;  // file order (a JSON object sorts its keys)
  {
    auto read = framework::read_input_file(file);
    auto parsed = read.ok() ? sdk::yaml::load(*read) : sdk::Result<sdk::yaml::Node>(read.error());
    if (!parsed.ok()) {
      out.errors.push_back(read.ok() ? file.string() + ": " + parsed.error().message : parsed.error().message);
      return out;
    }
    const sdk::yaml::Node& node = parsed.value();
    root = sdk::yaml::to_json(node);
    if (node["pipelines"].is_mapping())
      for (const auto& kv : node["pipelines"].entries()) pipeline_order.push_back(kv.first.scalar());
    if (node["emulator"]["variants"].is_mapping())
      for (const auto& kv : node["emulator"]["variants"].entries()) variant_order.push_back(kv.first.scalar());
  }
  if (!root.is_object()) {
    out.errors.push_back(file.string() + ": must be a map {name, duration, manifests, emulator, pipelines, ...}");
    return out;
  }
  Scenario s;
  s.file = file;
  s.dir = file.parent_path();
  check.keys(root, kTopKeys, "");
  for (const char* key : {"duration", "manifests", "emulator", "pipelines"})
    if (!root.contains(key)) check.add(key, "missing");
  s.name = root.contains("name") && root["name"].is_string() ? root["name"].get<std::string>() : file.stem().string();
  if (root.contains("traffic")) {
    const auto& t = root["traffic"];
    if (!t.is_string() || (t != "smooth" && t != "ramp" && t != "bursty"))
      check.add("traffic", "must be smooth, ramp or bursty");
    else s.traffic = t.get<std::string>();
  }
  if (root.contains("duration")) {
    auto d = scenario_duration(root["duration"]);
    if (!d || d->count() <= 0)
      check.add("duration",
                "must be a duration like 1h, 30m, 1m30s or a number of seconds (1800), got " + root["duration"].dump());
    else s.duration = *d;
  }
  if (root.contains("manifests")) {
    if (!root["manifests"].is_string()) {
      check.add("manifests", "must be a folder name");
    } else {
      s.manifests = s.dir / root["manifests"].get<std::string>();
      if (!fs::is_directory(s.manifests)) check.add("manifests", s.manifests.string() + " is not a folder");
    }
  }
  if (root.contains("emulator")) {
    if (!root["emulator"].is_object()) check.add("emulator", "must be a map {variants, workloads, ...}");
    else s.emulator = root["emulator"];
  }
  for (const char* key : {"analyzers", "sinks"}) {
    if (!root.contains(key) || root[key].is_null()) continue;
    if (!root[key].is_object()) check.add(key, "must be a map of instance name -> {plugin, ...}");
    else (std::string(key) == "analyzers" ? s.analyzers : s.sinks) = root[key];
  }
  // Variants as the emulator sees them (it checks the rest itself, with paths under emulator.).
  if (s.emulator.contains("variants") && s.emulator["variants"].is_object()) {
    for (const auto& name : variant_order) {
      if (!s.emulator["variants"].contains(name)) continue;
      const json& v = s.emulator["variants"][name];
      VariantInfo info;
      info.name = name;
      if (!v.is_object()) continue;
      info.ns = v.value("namespace", std::string("default"));
      if (v.contains("maxReplicas") && v["maxReplicas"].is_number_integer()) info.max_replicas = v["maxReplicas"];
      if (v.contains("gpusPerReplica") && v["gpusPerReplica"].is_number_integer())
        info.gpus_per_replica = v["gpusPerReplica"];
      if (v.contains("costPerGpuHour") && v["costPerGpuHour"].is_number()) info.cost_per_gpu_hour = v["costPerGpuHour"];
      s.variants.push_back(info);
    }
  }
  if (root.contains("initialReplicas")) {
    const auto& ir = root["initialReplicas"];
    std::vector<std::string> names;
    for (const auto& v : s.variants) names.push_back(v.name);
    if (!ir.is_object()) {
      check.add("initialReplicas", "must be a map Deployment -> replicas");
    } else {
      for (const auto& [vname, n] : ir.items()) {
        if (std::find(names.begin(), names.end(), vname) == names.end()) {
          const auto best = sdk::closest_match(vname, names);
          check.add("initialReplicas." + vname,
                    "no such emulator variant" + (best ? " (did you mean \"" + *best + "\"?)" : std::string()));
        } else if (!n.is_number_integer() || n.get<long long>() < 0 || n.get<long long>() > 10000) {
          check.add("initialReplicas." + vname, "must be a replica count >= 0");
        } else {
          s.initial_replicas[vname] = n.get<int>();
        }
      }
    }
  }
  if (root.contains("pipelines")) {
    const auto& ps = root["pipelines"];
    if (!ps.is_object() || ps.empty()) {
      check.add("pipelines", "must be a non-empty map name -> {interval, analyzers, ...} or {static: {...}}");
    } else {
      for (const auto& pname : pipeline_order) {
        if (!ps.contains(pname)) continue;
        const json& p = ps[pname];
        const std::string pp = "pipelines." + pname;
        PipelineSpec spec;
        spec.name = pname;
        if (!p.is_object()) {
          check.add(pp, "must be a map {interval, analyzers, combine, sinks, selector} or {static: {...}}");
          continue;
        }
        check.keys(p, kPipelineKeys, pp);
        if (p.contains("interval")) {
          auto d = scenario_duration(p["interval"]);
          if (!d || d->count() <= 0) check.add(pp + ".interval", "must be a duration like 30s or a number of seconds");
          else spec.interval = *d;
        }
        if (p.contains("static")) {
          const auto& st = p["static"];
          if (!st.is_object() || st.empty()) {
            check.add(pp + ".static", "must be a map Deployment -> replicas");
          } else {
            std::map<std::string, int> fleet;
            std::vector<std::string> names;
            for (const auto& v : s.variants) names.push_back(v.name);
            for (const auto& [vname, n] : st.items()) {
              if (std::find(names.begin(), names.end(), vname) == names.end()) {
                const auto best = sdk::closest_match(vname, names);
                check.add(pp + ".static." + vname,
                          "no such emulator variant" + (best ? " (did you mean \"" + *best + "\"?)" : std::string()));
              } else if (!n.is_number_integer() || n.get<long long>() < 0 || n.get<long long>() > 10000) {
                check.add(pp + ".static." + vname, "must be a replica count >= 0");
              } else {
                fleet[vname] = n.get<int>();
              }
            }
            spec.static_fleet = fleet;
          }
          for (const char* k : {"analyzers", "combine"})
            if (p.contains(k)) check.add(pp + "." + k, "a static pipeline has no analyzers (its fleet is fixed)");
        } else {
          if (!p.contains("analyzers")) check.add(pp + ".analyzers", "missing (or give static: {...})");
          else if (!p["analyzers"].is_array()) check.add(pp + ".analyzers", "must be a list of analyzer names");
          else {
            spec.analyzers = p["analyzers"];
            std::vector<std::string> known;
            for (const auto& [k, v] : s.analyzers.items()) known.push_back(k);
            for (std::size_t i = 0; i < spec.analyzers.size(); ++i) {
              const auto& a = spec.analyzers[i];
              if (!a.is_string()) {
                check.add(pp + ".analyzers[" + std::to_string(i) + "]", "must be a name");
              } else if (std::find(known.begin(), known.end(), a.get<std::string>()) == known.end()) {
                const auto best = sdk::closest_match(a.get<std::string>(), known);
                check.add(pp + ".analyzers[" + std::to_string(i) + "]",
                          "no analyzer \"" + a.get<std::string>() +
                              "\" under analyzers:" + (best ? " (did you mean \"" + *best + "\"?)" : std::string()));
              }
            }
          }
          if (p.contains("combine")) {
            if (!p["combine"].is_string()) check.add(pp + ".combine", "must be a name");
            else spec.combine = p["combine"].get<std::string>();
          }
        }
        if (p.contains("sinks")) {
          if (!p["sinks"].is_array()) check.add(pp + ".sinks", "must be a list of sink names");
          else spec.sinks = p["sinks"];
        }
        if (p.contains("selector")) spec.selector = p["selector"];
        s.pipelines.push_back(std::move(spec));
      }
    }
  }
  if (out.errors.empty()) out.scenario = std::move(s);
  return out;
}

}  // namespace wva::simulate
