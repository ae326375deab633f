// `wva simulate SCENARIO.yaml [--report DIR] [--output text|json]`: the host with a virtual clock runs
// each of the scenario's pipelines in turn against the same simulated fleet and workload (the emulator
// plugin), then reports per pipeline: requests, completed, failed, SLO attainment, TTFT/ITL p50/p99,
// GPU-hours and cost per accelerator, replica changes, peak waiting. --report DIR writes report.json
// and a self-contained report.html with SVG charts over time.
//
// Scenario:
//   name: azure-conv-x10
//   duration: 1h
//   manifests: manifests/          # folder of Kubernetes YAML (Deployments, VAs, ConfigMaps), relative
//   emulator: {variants: ..., workloads: ...}   # the emulator source config (dynamic mode)
//   analyzers: {saturation: {}, queueing: {}}   # analyzer instances the pipelines may use
//   pipelines:                                  # each is run alone on the identical workload
//     saturation: {interval: 30s, analyzers: [saturation]}
//     hybrid: {interval: 30s, analyzers: [saturation, queueing], combine: hybrid}
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wva::framework {

int run_simulate(int argc, char** argv);

// Self-contained HTML (inline SVG, no scripts) from a report.json document.
std::string render_report_html(const nlohmann::json& report);

// The static frontier and the policies' runs on it (cost x, SLO attainment y) as a standalone SVG;
// needs report["frontier"].
std::string render_frontier_svg(const nlohmann::json& report);

}  // namespace wva::framework
