// wva-simulate (`wva simulate SCENARIO.yaml [--report DIR] [--output text|json]`): the host with a
// virtual clock runs each of the scenario's pipelines in turn against the same simulated fleet and workload
// (the emulator plugin as source and sink), then reports per pipeline: requests, completed, failed, SLO
// attainment, TTFT/ITL p50/p99, GPU-hours and cost per accelerator, replica changes, peak waiting.
// --report DIR writes report.json and a self-contained report.html with SVG charts over time. The scenario
// format is in scenario.h.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "frontier.h"
#include "report_html.h"
#include "run.h"
#include "scenario.h"

namespace wva::simulate {

namespace fs = std::filesystem;
namespace po = boost::program_options;
using nlohmann::json;

namespace {

constexpr const char* kSimulateUsage = R"(usage: wva simulate SCENARIO.yaml [--report DIR] [--output text|json]
                    [--static-frontier] [--pipeline NAME]... [--plugin-path DIR]... [--verbose]

Runs each pipeline of the scenario in turn, with a virtual clock, against the same simulated fleet and
workload (the emulator plugin), and reports per pipeline: requests, completed, failed, SLO attainment
(TTFT <= SLO and mean ITL <= SLO; unfinished and failed count as misses) and the misses by cause, TTFT
and ITL p50/p99,
GPU-hours, cost and mean pods per variant, replica changes and peak waiting. A pipeline with
`static: {deployment: replicas, ...}` is a fixed fleet, warm from the start, with the HPA off.

  --report DIR       write DIR/report.json, DIR/report.html (SVG charts) and, with the frontier,
                     DIR/frontier.svg
  --output FORMAT    text (default) or json, on stdout
  --static-frontier  also search fixed fleets (counts per variant up to maxReplicas), report the cheapest
                     one reaching each attainment level, and place every pipeline against them
  --pipeline NAME    run only this pipeline (repeatable)
  --plugin-path      folder with lib<name>.so, searched first (repeatable)
  --verbose          host logs at info level on stderr
)";

struct Options {
  std::string scenario;
  std::string report_dir;
  std::string output = "text";
  std::vector<std::string> plugin_paths;
  std::vector<std::string> only;
  bool frontier = false;
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

std::string pct(const json& v, int precision = 2) {
  return v.is_number() ? fmt(v.get<double>() * 100, precision, "%") : "-";
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
      out << "    SLO attainment " << pct(m["sloAttainment"]) << "   TTFT p50/p99 " << fmt(m["ttftP50Ms"]) << " / "
          << fmt(m["ttftP99Ms"]) << " ms"
          << "   ITL p50/p99 " << fmt(m["itlP50Ms"], 2) << " / " << fmt(m["itlP99Ms"], 2) << " ms"
          << "   peak waiting " << m["peakWaiting"] << "\n";
      // Why requests missed: the completed ones by SLO (one can miss both), then those never served.
      if (m["sloAttainment"].is_number())
        out << "    misses: TTFT " << m.value("ttftMisses", 0) << ", ITL " << m.value("itlMisses", 0)
            << " (completed), failed " << m["failed"] << ", unfinished " << m["unfinished"] << "\n";
      // Hits need block hashes in the trace; without them the line would only say 0 %.
      if (m.value("prefixCacheHitTokens", 0.0) > 0)
        out << "    prefix cache: "
            << pct(m["prefixCacheHitTokens"].get<double>() / m["prefixCacheQueryTokens"].get<double>())
            << " of prompt tokens found cached\n";
    }
    const json& t = run["totals"];
    for (const auto& v : run["summary"]["variants"]) {
      const std::string name = v["name"].get<std::string>();
      out << "  variant " << std::left << std::setw(24) << name << " " << std::setw(6)
          << v["accelerator"].get<std::string>() << " GPU-hours " << std::setw(8) << fmt(v["gpuHours"], 2) << " cost "
          << std::setw(9) << fmt(v["cost"], 2) << " mean pods " << std::setw(6)
          << fmt(t["meanPodsByVariant"].value(name, json()), 2) << " replica changes " << std::setw(4)
          << v["replicaChanges"] << " max pods " << v["maxPods"] << "\n";
    }
    out << "  total cost " << fmt(t["cost"], 2) << ", mean pods " << fmt(t["meanPods"], 2) << ", replica changes/h "
        << fmt(t["replicaChangesPerHour"], 1) << "\n";
    if (run.contains("frontierPosition") && !run["frontierPosition"].empty()) {
      const json& p = run["frontierPosition"];
      out << "  vs static frontier: best static at this cost " << pct(p["bestStaticAttainmentAtCost"]) << " ("
          << (p["bestStaticFleetAtCost"].is_null() ? "-" : simulate::fleet_text(p["bestStaticFleetAtCost"])) << ")"
          << (p.value("dominated", false) ? " DOMINATED" : ", not dominated");
      if (p.contains("costRatio")) out << "; cost / cheapest static of this attainment " << fmt(p["costRatio"], 2);
      if (p.contains("static99"))
        out << "; static 99% fleet " << simulate::fleet_text(p["static99"]["fleet"]) << " at "
            << fmt(p["static99"]["cost"], 2) << " (this run " << fmt(p["static99"]["policyCostRatio"], 2) << "x, "
            << (p["static99"]["policyReaches"].get<bool>() ? "reaches" : "misses") << " 99%)";
      out << "\n";
    }
  }
  if (report.contains("frontier")) {
    out << "\n== static frontier (" << report["frontier"]["runs"] << " fixed fleets simulated)\n";
    for (const auto& l : report["frontier"]["levels"])
      out << "  >= " << std::setw(6) << fmt(l["level"].get<double>() * 100, 1, "%") << "  "
          << (l["fleet"].is_null() ? std::string("no fleet reaches it")
                                   : simulate::fleet_text(l["fleet"]) + " cost " + fmt(l["cost"], 2))
          << "\n";
  }
}

// The scratch folder of one invocation; removed on every path out.
struct ScratchDir {
  fs::path path;
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

int run_simulate(int argc, char** argv) {
  Options o;
  po::options_description desc;
  desc.add_options()("report", po::value(&o.report_dir))("output", po::value(&o.output))(
      "plugin-path", po::value(&o.plugin_paths)->composing())("pipeline", po::value(&o.only)->composing())(
      "static-frontier", po::bool_switch(&o.frontier))("verbose,v", po::bool_switch(&o.verbose))("help,h", "");
  po::options_description hidden;
  hidden.add_options()("scenario", po::value(&o.scenario));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("scenario", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    return usage_error("one scenario at a time");
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm.count("help")) {
    std::cout << kSimulateUsage;
    return 0;
  }
  if (o.output != "text" && o.output != "json") return usage_error("--output is text or json");
  if (o.scenario.empty()) return usage_error("missing SCENARIO.yaml");

  auto loaded = simulate::load_scenario(o.scenario);
  if (!loaded.scenario) {
    for (const auto& e : loaded.errors) std::cerr << "wva simulate: " << e << "\n";
    return 1;
  }
  const simulate::Scenario& scenario = *loaded.scenario;
  std::vector<const simulate::PipelineSpec*> pipelines;
  for (const auto& name : o.only) {
    bool found = false;
    for (const auto& p : scenario.pipelines) found = found || p.name == name;
    if (!found) {
      std::cerr << "wva simulate: " << scenario.file.string() << ": pipelines." << name << ": no such pipeline\n";
      return 1;
    }
  }
  for (const auto& p : scenario.pipelines)
    if (o.only.empty() || std::find(o.only.begin(), o.only.end(), p.name) != o.only.end()) pipelines.push_back(&p);

  ScratchDir scratch{fs::temp_directory_path() / ("wva-simulate-" + std::to_string(getpid()))};
  std::error_code ec;
  fs::create_directories(scratch.path, ec);
  if (ec) {
    std::cerr << "wva simulate: cannot create " << scratch.path.string() << ": " << ec.message() << "\n";
    return 1;
  }
  simulate::RunEnv env;
  env.plugin_paths.assign(o.plugin_paths.begin(), o.plugin_paths.end());
  const char* ns_env = std::getenv("POD_NAMESPACE");
  env.system_ns = ns_env && *ns_env ? ns_env : "workload-variant-autoscaler-system";
  env.work = scratch.path;
  env.verbose = o.verbose;

  json report = {{"scenario", scenario.name},
                 {"scenarioFile", scenario.file.string()},
                 {"traffic", scenario.traffic},
                 {"durationSeconds", std::chrono::duration<double>(scenario.duration).count()},
                 {"runs", json::array()}};
  for (const auto* p : pipelines) {
    auto r = simulate::run_pipeline(scenario, *p, env);
    if (!r.run) {
      for (const auto& e : r.errors) std::cerr << "wva simulate: " << scenario.file.string() << ": " << e << "\n";
      return 1;
    }
    report["runs"].push_back(std::move(*r.run));
  }
  if (o.frontier) {
    auto f = simulate::static_frontier(scenario, env);
    if (!f.errors.empty()) {
      for (const auto& e : f.errors) std::cerr << "wva simulate: " << scenario.file.string() << ": " << e << "\n";
      return 1;
    }
    report["frontier"] = f.frontier;
    for (auto& run : report["runs"]) run["frontierPosition"] = simulate::frontier_position(run["totals"], f.frontier);
  }

  if (o.output == "json") {
    json out = report;
    for (auto& run : out["runs"]) run.erase("series");
    std::cout << out.dump(2) << std::endl;
  } else {
    print_text(report, std::cout);
  }
  if (!o.report_dir.empty()) {
    const fs::path dir(o.report_dir);
    fs::create_directories(dir, ec);
    std::ofstream(dir / "report.json") << report.dump() << "\n";
    std::ofstream html(dir / "report.html");
    html << render_report_html(report);
    if (report.contains("frontier")) std::ofstream(dir / "frontier.svg") << render_frontier_svg(report);
    if (!html) {
      std::cerr << "wva simulate: cannot write " << (dir / "report.html").string() << "\n";
      return 1;
    }
    if (o.output == "text") std::cout << "\nreport: " << (dir / "report.html").string() << "\n";
  }
  return 0;
}

}  // namespace wva::simulate

int main(int argc, char** argv) { return wva::simulate::run_simulate(argc, argv); }
