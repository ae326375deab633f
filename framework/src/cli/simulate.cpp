#include "cli/simulate.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cluster/local_cluster.h"
#include "config/duration.h"
#include "config/pipeline_config.h"
#include "host/clock.h"
#include "host/host.h"
#include "host/loader.h"
#include "host/logger.h"

namespace wva::framework {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSimulateUsage = R"(usage: wva simulate SCENARIO.yaml [--report DIR] [--output text|json]
                    [--plugin-path DIR]... [--verbose]

Runs each pipeline of the scenario in turn, with a virtual clock, against the same simulated fleet and
workload (the emulator plugin), and reports per pipeline: requests, completed, failed, SLO attainment
(TTFT <= SLO and mean ITL <= SLO; unfinished and failed count as misses), TTFT and ITL p50/p99,
GPU-hours and cost per variant, replica changes and peak waiting.

  --report DIR     write DIR/report.json and DIR/report.html (SVG charts over time)
  --output FORMAT  text (default) or json, on stdout
  --plugin-path    folder with lib<name>.so, searched first (repeatable)
  --verbose        host logs at info level on stderr
)";

struct Options {
  std::string scenario;
  std::string report_dir;
  std::string output = "text";
  std::vector<std::string> plugin_paths;
  bool verbose = false;
};

int usage_error(const std::string& message) {
  std::cerr << "wva simulate: " << message << "\n" << kSimulateUsage;
  return 2;
}

std::string fmt(const json& v, int precision = 1, const char* suffix = "") {
  if (!v.is_number()) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(precision) << v.get<double>() << suffix;
  return out.str();
}

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

void print_text(const json& report, std::ostream& out) {
  out << "scenario " << report["scenario"].get<std::string>() << ": " << clock_text(report["durationSeconds"])
      << " simulated per pipeline\n";
  for (const auto& run : report["runs"]) {
    out << "\n== pipeline " << run["pipeline"].get<std::string>() << " (" << run["description"].get<std::string>()
        << "; " << fmt(run["wallSeconds"], 1, " s wall") << ")\n";
    for (const auto& m : run["summary"]["models"]) {
      out << "  model " << m["namespace"].get<std::string>() << "/" << m["model"].get<std::string>() << "\n";
      out << "    requests " << m["requests"] << ", completed " << m["completed"] << ", failed " << m["failed"]
          << ", unfinished " << m["unfinished"] << "\n";
      out << "    SLO attainment "
          << (m["sloAttainment"].is_number() ? fmt(m["sloAttainment"].get<double>() * 100, 2, "%") : "-")
          << "   TTFT p50/p99 " << fmt(m["ttftP50Ms"]) << " / " << fmt(m["ttftP99Ms"]) << " ms"
          << "   ITL p50/p99 " << fmt(m["itlP50Ms"], 2) << " / " << fmt(m["itlP99Ms"], 2) << " ms"
          << "   peak waiting " << m["peakWaiting"] << "\n";
    }
    double total_cost = 0;
    bool any_cost = false;
    for (const auto& v : run["summary"]["variants"]) {
      out << "  variant " << std::left << std::setw(24) << v["name"].get<std::string>() << " " << std::setw(6)
          << v["accelerator"].get<std::string>() << " GPU-hours " << std::setw(8) << fmt(v["gpuHours"], 2) << " cost "
          << std::setw(9) << fmt(v["cost"], 2) << " replica changes " << std::setw(4) << v["replicaChanges"]
          << " max pods " << v["maxPods"] << "\n";
      if (v["cost"].is_number()) total_cost += v["cost"].get<double>(), any_cost = true;
    }
    if (any_cost) out << "  total cost " << fmt(total_cost, 2) << "\n";
  }
}

json load_yaml_file(const fs::path& file, std::string& error) {
  try {
    return yaml_to_json(YAML::LoadFile(file.string()));
  } catch (const std::exception& e) {
    error = file.string() + ": " + e.what();
    return nullptr;
  }
}

}  // namespace

int run_simulate(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      std::cout << kSimulateUsage;
      return 0;
    } else if (a == "--report") {
      auto v = value();
      if (!v) return usage_error("--report needs a folder");
      o.report_dir = *v;
    } else if (a == "--output") {
      auto v = value();
      if (!v || (*v != "text" && *v != "json")) return usage_error("--output is text or json");
      o.output = *v;
    } else if (a == "--plugin-path") {
      auto v = value();
      if (!v) return usage_error("--plugin-path needs a folder");
      o.plugin_paths.push_back(*v);
    } else if (a == "--verbose" || a == "-v") {
      o.verbose = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a);
    } else if (o.scenario.empty()) {
      o.scenario = a;
    } else {
      return usage_error("one scenario at a time");
    }
  }
  if (o.scenario.empty()) return usage_error("missing SCENARIO.yaml");

  // --- the scenario ---
  const fs::path scenario_file = fs::absolute(o.scenario);
  const fs::path scenario_dir = scenario_file.parent_path();
  std::string error;
  YAML::Node root;
  try {
    root = YAML::LoadFile(scenario_file.string());
  } catch (const std::exception& e) {
    std::cerr << "wva simulate: " << scenario_file.string() << ": " << e.what() << "\n";
    return 1;
  }
  std::vector<std::string> problems;
  auto need = [&](const char* key) {
    if (!root[key]) problems.push_back(scenario_file.string() + ": " + key + ": missing");
  };
  need("duration");
  need("manifests");
  need("emulator");
  need("pipelines");
  std::chrono::milliseconds duration{0};
  if (root["duration"]) {
    auto d = parse_duration(root["duration"].as<std::string>(""));
    if (!d.ok() || d.value().count() <= 0)
      problems.push_back(scenario_file.string() + ": duration: must be a duration like 1h or 30m");
    else duration = d.value();
  }
  fs::path manifests;
  if (root["manifests"]) {
    manifests = scenario_dir / root["manifests"].as<std::string>("");
    if (!fs::is_directory(manifests))
      problems.push_back(scenario_file.string() + ": manifests: " + manifests.string() + " is not a folder");
  }
  json emulator = root["emulator"] ? yaml_to_json(root["emulator"]) : json::object();
  if (!emulator.is_object()) problems.push_back(scenario_file.string() + ": emulator: must be a map");
  json analyzers = root["analyzers"] ? yaml_to_json(root["analyzers"]) : json::object();
  json extra_sinks = root["sinks"] ? yaml_to_json(root["sinks"]) : json::object();
  std::vector<std::pair<std::string, json>> pipelines;  // in file order
  if (root["pipelines"]) {
    if (!root["pipelines"].IsMap() || root["pipelines"].size() == 0)
      problems.push_back(scenario_file.string() + ": pipelines: must be a non-empty map name -> {analyzers, ...}");
    else
      for (const auto& kv : root["pipelines"])
        pipelines.emplace_back(kv.first.as<std::string>(), yaml_to_json(kv.second));
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "wva simulate: " << p << "\n";
    return 1;
  }
  const std::string name = root["name"] ? root["name"].as<std::string>("") : scenario_file.stem().string();
  if (!emulator.contains("baseDir")) emulator["baseDir"] = scenario_dir.string();

  fs::path work = o.report_dir.empty() ? fs::temp_directory_path() / ("wva-simulate-" + std::to_string(getpid()))
                                       : fs::path(o.report_dir) / "runs";
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) {
    std::cerr << "wva simulate: cannot create " << work.string() << ": " << ec.message() << "\n";
    return 1;
  }

  std::vector<fs::path> plugin_paths(o.plugin_paths.begin(), o.plugin_paths.end());
  for (const auto& p : default_plugin_paths()) plugin_paths.push_back(p);
  const char* ns_env = std::getenv("POD_NAMESPACE");
  const std::string system_ns = ns_env && *ns_env ? ns_env : "workload-variant-autoscaler-system";

  json report = {{"scenario", name},
                 {"scenarioFile", scenario_file.string()},
                 {"durationSeconds", std::chrono::duration<double>(duration).count()},
                 {"runs", json::array()}};
  for (const auto& [pname, p] : pipelines) {
    // The pipeline: the emulator as source and as sink (HPA model), the scenario's analyzers in between.
    json pipe = p.is_object() ? p : json::object();
    json sinks_list = json::array({"emulator"});
    if (pipe.contains("sinks") && pipe["sinks"].is_array())
      for (const auto& s : pipe["sinks"]) sinks_list.push_back(s);
    json emu = emulator;
    const fs::path emulator_report = work / (pname + ".emulator.json");
    fs::remove(emulator_report, ec);
    emu["reportFile"] = emulator_report.string();
    json sinks = extra_sinks.is_object() ? extra_sinks : json::object();
    sinks["emulator"] = json::object();
    json pipeline_cfg = {{"selector", pipe.value("selector", json::object())},
                         {"interval", pipe.value("interval", json("30s"))},
                         {"source", "emulator"},
                         {"analyzers", pipe.value("analyzers", json::array())},
                         {"sinks", sinks_list}};
    if (pipe.contains("combine")) pipeline_cfg["combine"] = pipe["combine"];
    json config = {{"sources", {{"emulator", emu}}},
                   {"analyzers", analyzers},
                   {"sinks", sinks},
                   {"pipelines", {{pname, pipeline_cfg}}}};
    const fs::path config_file = work / (pname + ".pipelines.yaml");
    std::ofstream(config_file) << config.dump(2) << "\n";  // JSON is YAML

    auto cluster = std::make_shared<LocalCluster>(manifests, system_ns);
    if (auto r = cluster->load(); !r.ok()) {
      std::cerr << "wva simulate: " << r.error().to_string() << "\n";
      return 1;
    }
    // A fixed start time, so runs are reproducible.
    auto clock = std::make_shared<VirtualClock>(sdk::TimePoint(std::chrono::seconds(1767225600)));  // 2026-01-01
    auto log = make_stderr_logger(o.verbose);
    if (!o.verbose) log->set_level(spdlog::level::warn);
    HostOptions options;
    options.config_file = config_file;
    options.plugin_paths = plugin_paths;
    options.base_dir = scenario_dir;
    Host host(options, cluster, clock, log);
    if (auto errors = host.start(); !errors.empty()) {
      std::cerr << "wva simulate: pipeline " << pname << ":\n";
      for (const auto& e : errors) std::cerr << "  " << e.to_string() << "\n";
      return 1;
    }
    const auto wall0 = std::chrono::steady_clock::now();
    auto last_progress = wall0;
    const sdk::TimePoint sim0 = clock->now();
    std::size_t cycles = 0, decisions = 0, failed_cycles = 0;
    StopSignal stop;
    host.run(duration, stop, [&, &pname = pname](const CycleOutcome& outcome) {
      ++cycles;
      decisions += outcome.decisions.size();
      if (!outcome.errors.empty()) ++failed_cycles;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_progress > std::chrono::seconds(2)) {
        last_progress = now;
        std::cerr << "wva simulate: " << pname << " "
                  << clock_text(std::chrono::duration<double>(clock->now() - sim0).count()) << " / "
                  << clock_text(std::chrono::duration<double>(duration).count()) << " simulated\n";
      }
    });
    host.shutdown();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    std::string err;
    json emu_report = load_yaml_file(emulator_report, err);
    if (!emu_report.is_object()) {
      std::cerr << "wva simulate: pipeline " << pname << ": the emulator wrote no report (" << err << ")\n";
      return 1;
    }
    std::string description = "analyzers [";
    for (std::size_t i = 0; i < pipeline_cfg["analyzers"].size(); ++i)
      description += (i ? ", " : "") + pipeline_cfg["analyzers"][i].get<std::string>();
    description += "], interval " + pipeline_cfg["interval"].get<std::string>();
    if (pipe.contains("combine")) description += ", combine " + pipe["combine"].get<std::string>();
    report["runs"].push_back({{"pipeline", pname},
                              {"description", description},
                              {"cycles", cycles},
                              {"decisions", decisions},
                              {"failedCycles", failed_cycles},
                              {"wallSeconds", wall},
                              {"summary", emu_report["summary"]},
                              {"series", emu_report["series"]}});
  }
  if (o.report_dir.empty()) fs::remove_all(work, ec);

  if (o.output == "json") {
    json out = report;
    for (auto& run : out["runs"]) run.erase("series");
    std::cout << out.dump(2) << std::endl;
  } else {
    print_text(report, std::cout);
  }
  if (!o.report_dir.empty()) {
    std::ofstream(fs::path(o.report_dir) / "report.json") << report.dump() << "\n";
    std::ofstream html(fs::path(o.report_dir) / "report.html");
    html << render_report_html(report);
    if (!html) {
      std::cerr << "wva simulate: cannot write " << (fs::path(o.report_dir) / "report.html").string() << "\n";
      return 1;
    }
    if (o.output == "text") std::cout << "\nreport: " << (fs::path(o.report_dir) / "report.html").string() << "\n";
  }
  return 0;
}

}  // namespace wva::framework

namespace wva::framework {

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Line {
  std::string label;
  std::vector<double> t;
  std::vector<std::optional<double>> y;
};

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

std::string num(double v, int precision = 2) {
  std::ostringstream out;
  out << std::setprecision(precision) << std::defaultfloat << v;
  return out.str();
}

// A line chart as inline SVG: time (minutes) on x, one polyline per series, a legend below.
std::string svg_chart(const std::string& title, const std::string& unit, const std::vector<Line>& lines) {
  const double W = 860, H = 240, L = 60, R = 20, T = 28, B = 36;
  double tmax = 0, ymax = 0;
  for (const auto& l : lines) {
    for (double t : l.t) tmax = std::max(tmax, t);
    for (const auto& y : l.y)
      if (y && std::isfinite(*y)) ymax = std::max(ymax, *y);
  }
  if (tmax <= 0) tmax = 1;
  if (ymax <= 0) ymax = 1;
  // A round upper bound: 1, 2 or 5 times a power of ten.
  const double mag = std::pow(10.0, std::floor(std::log10(ymax)));
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (f * mag >= ymax) {
      ymax = f * mag;
      break;
    }
  auto X = [&](double t) { return L + (W - L - R) * t / tmax; };
  auto Y = [&](double y) { return T + (H - T - B) * (1 - y / ymax); };
  std::ostringstream s;
  const double legend_h = 18.0 * static_cast<double>((lines.size() + 2) / 3);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H + legend_h
    << "\" viewBox=\"0 0 " << W << " " << H + legend_h << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<text x=\"" << L << "\" y=\"16\" font-size=\"13\" font-weight=\"bold\">" << html_escape(title) << " ("
    << html_escape(unit) << ")</text>\n";
  for (int i = 0; i <= 4; ++i) {
    const double y = ymax * i / 4;
    s << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << Y(y) << "\" y2=\"" << Y(y)
      << "\" stroke=\"#ddd\"/><text x=\"" << L - 6 << "\" y=\"" << Y(y) + 4 << "\" text-anchor=\"end\">" << num(y, 3)
      << "</text>\n";
  }
  for (int i = 0; i <= 6; ++i) {
    const double t = tmax * i / 6;
    s << "<text x=\"" << X(t) << "\" y=\"" << H - B + 16 << "\" text-anchor=\"middle\">" << num(t / 60, 3)
      << "</text>\n";
  }
  s << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 4 << "\" text-anchor=\"middle\">minutes</text>\n";
  s << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const auto& l = lines[k];
    const char* color = kColors[k % (sizeof kColors / sizeof *kColors)];
    std::string points;
    auto flush = [&] {
      if (!points.empty())
        s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"" << points << "\"/>\n";
      points.clear();
    };
    for (std::size_t i = 0; i < l.t.size() && i < l.y.size(); ++i) {
      if (!l.y[i] || !std::isfinite(*l.y[i])) {
        flush();  // a gap where the value is absent
        continue;
      }
      points += num(X(l.t[i]), 6) + "," + num(Y(*l.y[i]), 6) + " ";
    }
    flush();
    const double lx = L + static_cast<double>(k % 3) * 270, ly = H + 12 + 18.0 * static_cast<double>(k / 3);
    s << "<rect x=\"" << lx << "\" y=\"" << ly - 9 << "\" width=\"14\" height=\"4\" fill=\"" << color
      << "\"/><text x=\"" << lx + 20 << "\" y=\"" << ly - 3 << "\">" << html_escape(l.label) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::vector<double> times(const json& series) {
  std::vector<double> t;
  for (const auto& v : series["t"]) t.push_back(v.get<double>());
  return t;
}

std::vector<std::optional<double>> values(const json& arr) {
  std::vector<std::optional<double>> out;
  for (const auto& v : arr) out.push_back(v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt);
  return out;
}

}  // namespace

std::string render_report_html(const json& report) {
  std::ostringstream h;
  const std::string scenario = report.value("scenario", std::string("scenario"));
  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>wva simulate: " << html_escape(scenario)
    << "</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;"
       "margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}"
       "td:first-child,th:first-child{text-align:left}h2{margin-top:28px}</style></head><body>\n";
  h << "<h1>wva simulate: " << html_escape(scenario) << "</h1>\n<p>" << fmt(report["durationSeconds"], 0)
    << " simulated seconds per pipeline; every pipeline sees the identical workload.</p>\n";
  h << "<h2>Summary</h2>\n<table><tr><th>pipeline</th><th>model</th><th>requests</th><th>completed</th><th>failed</th>"
       "<th>unfinished</th><th>SLO attainment</th><th>TTFT p50 ms</th><th>TTFT p99 ms</th><th>ITL p50 ms</th>"
       "<th>ITL p99 ms</th><th>peak waiting</th></tr>\n";
  for (const auto& run : report["runs"])
    for (const auto& m : run["summary"]["models"])
      h << "<tr><td>" << html_escape(run["pipeline"].get<std::string>()) << "</td><td>"
        << html_escape(m["model"].get<std::string>()) << "</td><td>" << m["requests"] << "</td><td>" << m["completed"]
        << "</td><td>" << m["failed"] << "</td><td>" << m["unfinished"] << "</td><td>"
        << (m["sloAttainment"].is_number() ? fmt(m["sloAttainment"].get<double>() * 100, 2, "%") : "-") << "</td><td>"
        << fmt(m["ttftP50Ms"]) << "</td><td>" << fmt(m["ttftP99Ms"]) << "</td><td>" << fmt(m["itlP50Ms"], 2)
        << "</td><td>" << fmt(m["itlP99Ms"], 2) << "</td><td>" << m["peakWaiting"] << "</td></tr>\n";
  h << "</table>\n<table><tr><th>pipeline</th><th>variant</th><th>accelerator</th><th>GPU-hours</th><th>cost</th>"
       "<th>replica changes</th><th>max pods</th><th>final replicas</th></tr>\n";
  for (const auto& run : report["runs"])
    for (const auto& v : run["summary"]["variants"])
      h << "<tr><td>" << html_escape(run["pipeline"].get<std::string>()) << "</td><td>"
        << html_escape(v["name"].get<std::string>()) << "</td><td>" << html_escape(v["accelerator"].get<std::string>())
        << "</td><td>" << fmt(v["gpuHours"], 2) << "</td><td>" << fmt(v["cost"], 2) << "</td><td>"
        << v["replicaChanges"] << "</td><td>" << v["maxPods"] << "</td><td>" << v["finalReplicas"] << "</td></tr>\n";
  h << "</table>\n";

  std::vector<Line> rate, waiting, kv, ttft, cost, replicas;
  for (const auto& run : report["runs"]) {
    const std::string p = run["pipeline"].get<std::string>();
    const json& series = run["series"];
    const auto t = times(series);
    std::vector<std::optional<double>> cost_sum(t.size(), 0.0);
    for (const auto& [key, m] : series["models"].items()) {
      const std::string label = p + " " + key;
      rate.push_back({label, t, values(m["arrivalRate"])});
      waiting.push_back({label, t, values(m["waiting"])});
      kv.push_back({label, t, values(m["kvUsageMean"])});
      ttft.push_back({label, t, values(m["ttftP99Ms"])});
    }
    for (const auto& [key, v] : series["variants"].items()) {
      replicas.push_back({p + " " + key.substr(key.find('/') + 1), t, values(v["pods"])});
      const auto c = values(v["costPerHour"]);
      for (std::size_t i = 0; i < c.size() && i < cost_sum.size(); ++i) *cost_sum[i] += c[i].value_or(0);
    }
    cost.push_back({p, t, cost_sum});
  }
  h << "<h2>Over time</h2>\n";
  h << svg_chart("Arrival rate", "req/s", rate);
  h << svg_chart("Pods per variant", "starting + ready + terminating", replicas);
  h << svg_chart("Waiting requests", "router queue + pods' queues", waiting);
  h << svg_chart("KV-cache use, mean over ready pods", "fraction", kv);
  h << svg_chart("TTFT p99 per sample period", "ms", ttft);
  h << svg_chart("Cost rate", "per hour", cost);
  h << "</body></html>\n";
  return h.str();
}

}  // namespace wva::framework
