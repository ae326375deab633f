// `wva simulate` (the wva-simulate program, run by wva) end to end on a short scenario (the example manifests, 15
// simulated minutes of a step load): the JSON report, report.json and a self-contained report.html with SVG charts.
// Skips when the wva binary or libsaturation.so are not built (e.g. with a plugin filter).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include "prerequisite.h"

namespace {

namespace fs = std::filesystem;

struct Command {
  int rc;
  std::string out;
};

Command run(const std::string& command) {
  Command c{-1, {}};
  FILE* f = popen(command.c_str(), "r");
  if (!f) return c;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) c.out.append(buf, n);
  const int status = pclose(f);
  c.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return c;
}

TEST(WvaSimulate, StepLoadReportWithChartsPerPipeline) {
  const fs::path wva = fs::path(WVA_BUILD_DIR) / "bin" / "wva";
  WVA_REQUIRE(fs::exists(wva) && fs::exists(fs::path(WVA_PLUGIN_DIR) / "libsaturation.so") &&
              fs::exists(fs::path(WVA_PLUGIN_DIR) / "libemulator.so"))
      << "needs bin/wva, libsaturation.so and libemulator.so";
  const fs::path dir = fs::temp_directory_path() / ("wva-simulate-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::copy(fs::path(WVA_SOURCE_DIR) / "examples/scenarios/llama-8b-h100-h200", dir / "manifests");
  std::ofstream(dir / "step.yaml") << R"(
name: step
duration: 20m
manifests: manifests
emulator:
  variants:
    llama-8b-h100: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H100, startupDelay: 60s,
                    costPerGpuHour: 3.0, minReplicas: 1, maxReplicas: 8}
    llama-8b-h200: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H200, startupDelay: 60s,
                    costPerGpuHour: 3.9, minReplicas: 1, maxReplicas: 8}
  workloads:
    - {namespace: llm, model: meta/llama-3.1-8b, rate: {steps: [{at: 0s, rate: 5}, {at: 2m, rate: 60}, {at: 8m, rate: 5}]},
       inputTokens: 1500, outputTokens: 150, slo: {ttftMs: 2000, itlMs: 50}}
analyzers:
  sat: {plugin: saturation, mode: improved}
pipelines:
  improved: {interval: 30s, analyzers: [sat]}
)";
  const Command c = run(wva.string() + " simulate " + (dir / "step.yaml").string() + " --report " +
                        (dir / "out").string() + " --output json --plugin-path " WVA_PLUGIN_DIR " 2>&1");
  ASSERT_EQ(c.rc, 0) << c.out;
  const auto json_start = c.out.find('{');
  ASSERT_NE(json_start, std::string::npos) << c.out;
  const auto report = nlohmann::json::parse(c.out.substr(json_start), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << c.out;
  ASSERT_EQ(report["runs"].size(), 1u);
  const auto& run0 = report["runs"][0];
  EXPECT_EQ(run0["pipeline"], "improved");
  EXPECT_EQ(run0["cycles"], 41) << "20 min at 30 s, the first cycle at t = 0";
  const auto& model = run0["summary"]["models"][0];
  EXPECT_GT(model["requests"].get<int>(), 15000);
  EXPECT_GT(model["completed"].get<int>(), 0.9 * model["requests"].get<int>());
  EXPECT_TRUE(model["sloAttainment"].is_number());
  // The misses account for the attainment: the requests that missed are the failed, the unfinished and
  // the completed ones over the TTFT or the ITL SLO (one may be over both).
  const auto requests = model["requests"].get<std::int64_t>();
  const auto missed = requests - std::llround(model["sloAttainment"].get<double>() * static_cast<double>(requests));
  const auto unserved = model["failed"].get<std::int64_t>() + model["unfinished"].get<std::int64_t>();
  const auto ttft_misses = model["ttftMisses"].get<std::int64_t>(), itl_misses = model["itlMisses"].get<std::int64_t>();
  EXPECT_GT(ttft_misses + itl_misses, 0) << "the step overloads the two pods for a minute or more";
  EXPECT_GE(missed, unserved + std::max(ttft_misses, itl_misses)) << model.dump();
  EXPECT_LE(missed, unserved + ttft_misses + itl_misses) << model.dump();
  int max_pods = 0, changes = 0, final_replicas = 0;
  for (const auto& v : run0["summary"]["variants"]) {
    max_pods += v["maxPods"].get<int>();
    final_replicas += v["finalReplicas"].get<int>();
    changes += v["replicaChanges"].get<int>();
    EXPECT_GT(v["gpuHours"].get<double>(), 0.2);
    EXPECT_TRUE(v["cost"].is_number());
  }
  EXPECT_GT(max_pods, 2) << "the step makes the fleet grow";
  EXPECT_GT(changes, 0);
  EXPECT_LT(final_replicas, max_pods) << "and shrinks after the step ends (12 min later, past the 300 s window)";
  std::ifstream html_in(dir / "out" / "report.html");
  std::stringstream html;
  html << html_in.rdbuf();
  EXPECT_NE(html.str().find("<svg"), std::string::npos);
  EXPECT_EQ(html.str().find("<script"), std::string::npos) << "self-contained, no scripts";
  EXPECT_EQ(html.str().find("http://") == std::string::npos ||
                html.str().find("xmlns=\"http://www.w3.org") != std::string::npos,
            true);
  std::ifstream json_in(dir / "out" / "report.json");
  const auto full = nlohmann::json::parse(json_in, nullptr, false);
  ASSERT_FALSE(full.is_discarded());
  const auto& series = full["runs"][0]["series"]["models"]["llm/meta/llama-3.1-8b"]["waiting"];
  ASSERT_GT(series.size(), 10u);
  int peak = 0;
  for (const auto& w : series) peak = std::max(peak, w.get<int>());
  EXPECT_GT(peak, 5) << "the step builds a queue";
  EXPECT_LE(series.back().get<int>(), 2) << "which drains";
  fs::remove_all(dir);
}

// The scenario is checked like pipelines.yaml: unknown keys are errors with their path in the scenario
// file and a did-you-mean; durations accept bare seconds; no scratch folder is left behind.
// The simulator's scratch folders: each run gets its own TMPDIR, which must be empty afterwards (a global
// look at /tmp would see other tests' runs in progress).
std::set<std::string> scratch_dirs(const fs::path& tmp) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(tmp)) out.insert(e.path().string());
  return out;
}

const char* kTinyScenario = R"(
name: tiny
duration: 300
manifests: manifests
emulator:
  variants:
    llama-8b-h100: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H100, startupDelay: 60s,
                    costPerGpuHour: 3.0, minReplicas: 1, maxReplicas: 3}
    llama-8b-h200: {namespace: llm, model: meta/llama-3.1-8b, profile: llama-3.1-8b/H200, startupDelay: 60s,
                    costPerGpuHour: 3.9, minReplicas: 0, maxReplicas: 2}
  client: {ttftTimeout: 30s}
  workloads:
    - {namespace: llm, model: meta/llama-3.1-8b, rate: {constant: 30}, inputTokens: 1000, outputTokens: 200,
       slo: {ttftMs: 2000, itlMs: 50}}
analyzers:
  sat: {plugin: saturation, mode: compatible}
pipelines:
  v1: {interval: 30s, analyzers: [sat]}
  one-h100: {static: {llama-8b-h100: 1}}
)";

struct ScenarioDir {
  fs::path dir = fs::temp_directory_path() / ("wva-simulate-test-" + std::to_string(getpid()));
  ScenarioDir() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy(fs::path(WVA_SOURCE_DIR) / "examples/scenarios/llama-8b-h100-h200", dir / "manifests");
    fs::create_directories(dir / "tmp");
  }
  ~ScenarioDir() { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return dir / name;
  }
};

bool have_binaries() {
  return fs::exists(fs::path(WVA_BUILD_DIR) / "bin" / "wva") &&
         fs::exists(fs::path(WVA_PLUGIN_DIR) / "libsaturation.so") &&
         fs::exists(fs::path(WVA_PLUGIN_DIR) / "libemulator.so");
}

std::string wva_simulate(const fs::path& scenario, const std::string& args = "") {
  return "TMPDIR=" + (scenario.parent_path() / "tmp").string() + " " +
         (fs::path(WVA_BUILD_DIR) / "bin" / "wva").string() + " simulate " + scenario.string() + " " + args +
         " --plugin-path " WVA_PLUGIN_DIR;
}

TEST(WvaSimulate, ScenarioErrorsHaveTheirPathInTheScenarioFileAndADidYouMean) {
  if (!have_binaries()) GTEST_SKIP() << "needs bin/wva, libsaturation.so and libemulator.so";
  ScenarioDir d;
  std::string text = kTinyScenario;
  text.replace(text.find("  v1: {interval: 30s,"), 21, "  v1: {intervall: 5s,");
  text.replace(text.find("name: tiny"), 10, "nmae: tiny");
  text.replace(text.find("client: {ttftTimeout"), 20, "client: {ttftTimout");
  const auto file = d.write("bad.yaml", text);
  const auto before = scratch_dirs(d.dir / "tmp");
  const Command c = run(wva_simulate(file) + " 2>&1");
  EXPECT_EQ(c.rc, 1) << c.out;
  EXPECT_NE(c.out.find(file.string() + ": pipelines.v1.intervall: unknown key (did you mean \"interval\"?)"),
            std::string::npos)
      << c.out;
  EXPECT_NE(c.out.find(file.string() + ": nmae: unknown key (did you mean \"name\"?)"), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find(".pipelines.yaml"), std::string::npos) << "no generated file named: " << c.out;
  EXPECT_TRUE(before.empty());
  EXPECT_EQ(scratch_dirs(d.dir / "tmp"), before) << "no scratch folder left behind";
  // The emulator's own keys are checked too, under the scenario's path (emulator., not sources.emulator.).
  text = kTinyScenario;
  text.replace(text.find("client: {ttftTimeout"), 20, "client: {ttftTimout");
  const auto file2 = d.write("bad2.yaml", text);
  const Command c2 = run(wva_simulate(file2) + " 2>&1");
  EXPECT_EQ(c2.rc, 1) << c2.out;
  EXPECT_NE(c2.out.find(file2.string()), std::string::npos) << c2.out;
  EXPECT_NE(
      c2.out.find(file2.string() + ": emulator.client.ttftTimout: unknown setting; did you mean \"ttftTimeout\"?"),
      std::string::npos)
      << "the emulator's own path, not the pipeline that surfaced it: " << c2.out;
  EXPECT_EQ(c2.out.find("sources.emulator"), std::string::npos) << c2.out;
  // An analyzer's settings likewise: their path is under analyzers:, which every pipeline shares.
  text = kTinyScenario;
  const std::string analyzer = "sat: {plugin: saturation, mode: compatible}";
  text.replace(text.find(analyzer), analyzer.size(),
               "sat: {plugin: saturation, mode: compatible, kvCacheTreshold: 0.8}");
  const auto file3 = d.write("bad3.yaml", text);
  const Command c3 = run(wva_simulate(file3) + " 2>&1");
  EXPECT_EQ(c3.rc, 1) << c3.out;
  EXPECT_NE(c3.out.find(file3.string() + ": analyzers.sat.kvCacheTreshold: unknown setting"), std::string::npos)
      << c3.out;
  EXPECT_EQ(c2.out.find("<generated>"), std::string::npos) << c2.out;
  EXPECT_EQ(scratch_dirs(d.dir / "tmp"), before);
}

TEST(WvaSimulate, BareSecondsStaticFleetMeanPodsAndFrontier) {
  if (!have_binaries()) GTEST_SKIP() << "needs bin/wva, libsaturation.so and libemulator.so";
  ScenarioDir d;
  const auto file = d.write("tiny.yaml", kTinyScenario);
  const auto before = scratch_dirs(d.dir / "tmp");
  const Command text = run(wva_simulate(file, "--pipeline one-h100") + " 2>/dev/null");
  ASSERT_EQ(text.rc, 0) << text.out;
  EXPECT_NE(text.out.find("0:05:00 simulated"), std::string::npos) << "duration: 300 is 5 minutes: " << text.out;
  EXPECT_NE(text.out.find("mean pods 1.00"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("static fleet llama-8b-h100=1"), std::string::npos) << text.out;
  const Command c = run(wva_simulate(file, "--static-frontier --output json") + " 2>/dev/null");
  ASSERT_EQ(c.rc, 0) << c.out;
  const auto report = nlohmann::json::parse(c.out);
  ASSERT_EQ(report["runs"].size(), 2u);
  const auto& fixed = report["runs"][1];
  EXPECT_TRUE(fixed["static"].get<bool>());
  EXPECT_EQ(fixed["summary"]["variants"][0]["replicaChanges"], 0) << "a static fleet never changes";
  EXPECT_EQ(fixed["summary"]["variants"][0]["maxPods"], 1);
  EXPECT_EQ(fixed["summary"]["variants"][1]["maxPods"], 0);
  // 30 req/s of 1000/200 tokens is about 2 H100s of work: one pod misses, the frontier finds bigger fleets.
  const auto& frontier = report["frontier"];
  ASSERT_GT(frontier["points"].size(), 3u);
  double prev_cost = -1, prev_att = -1;
  for (const auto& p : frontier["pareto"]) {
    EXPECT_GT(p["costPerHour"].get<double>(), prev_cost);
    EXPECT_GT(p["attainment"].get<double>(), prev_att) << "the frontier rises with cost";
    prev_cost = p["costPerHour"], prev_att = p["attainment"];
  }
  EXPECT_GT(prev_att, 0.95);
  const auto& pos = report["runs"][1]["frontierPosition"];
  EXPECT_FALSE(pos["dominated"].get<bool>()) << "a static fleet is on or under its own frontier";
  ASSERT_TRUE(report["runs"][0]["frontierPosition"].contains("bestStaticAttainmentAtCost"));
  EXPECT_EQ(scratch_dirs(d.dir / "tmp"), before);
  // Deterministic for a fixed seed: the same run twice gives the same numbers.
  const Command again = run(wva_simulate(file, "--pipeline v1 --output json") + " 2>/dev/null");
  const auto r2 = nlohmann::json::parse(again.out);
  EXPECT_EQ(r2["runs"][0]["summary"], report["runs"][0]["summary"]);
}

// The emulator's HPA model stands for an HPA per variant, and the simulated cluster holds it: WVA reads
// its bounds as it reads a real one's. With the H100s capped at one pod by their HPA, the capacity
// policy places the rest of the demand (about two H100s of work) on the H200s instead of asking the H100
// HPA for pods it will never add.
TEST(WvaSimulate, TheEmulatedHpasBoundTheVariantsThePolicySees) {
  if (!have_binaries() || !fs::exists(fs::path(WVA_PLUGIN_DIR) / "libcapacity.so"))
    GTEST_SKIP() << "needs bin/wva, libsaturation.so, libemulator.so and libcapacity.so";
  ScenarioDir d;
  std::string text = kTinyScenario;
  text.replace(text.find("minReplicas: 1, maxReplicas: 3"), 30, "minReplicas: 1, maxReplicas: 1");
  text.replace(text.find("duration: 300"), 13, "duration: 900");
  text.replace(text.find("  sat: {plugin: saturation, mode: compatible}"), 45,
               "  sat: {plugin: saturation, mode: compatible}\n  cap: {plugin: capacity, startupDelay: 60s}");
  text.replace(text.find("  v1: {interval: 30s, analyzers: [sat]}"), 39, "  v1: {interval: 30s, analyzers: [cap]}");
  const auto file = d.write("capped.yaml", text);
  {  // the VA allows 0 pods of a variant: only the demand puts pods on the H200s
    std::ifstream in(d.dir / "manifests/manifests.yaml");
    std::string manifests((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_NE(manifests.find("  minReplicas: 1\n"), std::string::npos);
    manifests.replace(manifests.find("  minReplicas: 1\n"), 16, "  minReplicas: 0\n");
    std::ofstream(d.dir / "manifests/manifests.yaml") << manifests;
  }
  const Command c = run(wva_simulate(file, "--pipeline v1 --output json") + " 2>&1");
  ASSERT_EQ(c.rc, 0) << c.out;
  const auto report = nlohmann::json::parse(c.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << c.out;
  const auto& variants = report["runs"][0]["summary"]["variants"];
  ASSERT_EQ(variants.size(), 2u);
  EXPECT_EQ(variants[0]["name"], "llama-8b-h100");
  EXPECT_EQ(variants[0]["maxPods"], 1);
  EXPECT_GE(variants[1]["maxPods"].get<int>(), 1) << "the H200s took what the H100s' HPA does not allow";
  EXPECT_GT(report["runs"][0]["totals"]["sloAttainment"].get<double>(), 0.9) << report["runs"][0]["totals"].dump();
}

// The numbers of a fixed-seed scenario do not move: both runs of the tiny scenario (an autoscaled fleet
// and a static one) against a summary recorded with `wva simulate` before the simulation driver left the
// host (tests/data/tiny-recorded.json; wallSeconds left out). An intended change to the simulator or the
// saturation analyzer re-records it: `wva simulate tiny.yaml --output json`, without wallSeconds.
TEST(WvaSimulate, AFixedSeedScenarioGivesTheRecordedNumbers) {
  if (!have_binaries()) GTEST_SKIP() << "needs bin/wva, libsaturation.so and libemulator.so";
  ScenarioDir d;
  const auto file = d.write("tiny.yaml", kTinyScenario);
  const Command c = run(wva_simulate(file, "--output json") + " 2>/dev/null");
  ASSERT_EQ(c.rc, 0) << c.out;
  auto report = nlohmann::json::parse(c.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << c.out;
  std::ifstream recorded_in(fs::path(WVA_SOURCE_DIR) / "emulator/wva-simulate/tests/data/tiny-recorded.json");
  const auto recorded = nlohmann::json::parse(recorded_in, nullptr, false);
  ASSERT_FALSE(recorded.is_discarded());
  ASSERT_EQ(report["runs"].size(), recorded["runs"].size());
  EXPECT_EQ(report["durationSeconds"], recorded["durationSeconds"]);
  for (std::size_t i = 0; i < recorded["runs"].size(); ++i) {
    auto run_i = report["runs"][i];
    ASSERT_TRUE(run_i.contains("wallSeconds"));
    run_i.erase("wallSeconds");
    EXPECT_EQ(run_i, recorded["runs"][i]) << "run " << i << " differs from the recorded one:\n"
                                          << nlohmann::json::diff(recorded["runs"][i], run_i).dump(1);
  }
}

// `wva simulate` is the program wva-simulate: without it beside wva (or in ../libexec/wva), wva says which
// program it looked for and where, and exits 127; `wva --help` says where it comes from.
TEST(WvaSimulate, WithoutTheProgramWvaSaysWhereItLooked) {
  const fs::path wva = fs::path(WVA_BUILD_DIR) / "bin" / "wva";
  if (!fs::exists(wva)) GTEST_SKIP() << "needs bin/wva";
  ScenarioDir d;
  fs::create_directories(d.dir / "alone" / "bin");
  fs::copy_file(wva, d.dir / "alone" / "bin" / "wva");
  const Command c = run((d.dir / "alone" / "bin" / "wva").string() + " simulate x.yaml 2>&1");
  EXPECT_EQ(c.rc, 127) << c.out;
  EXPECT_NE(c.out.find("wva simulate: the program wva-simulate was not found"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find((d.dir / "alone" / "bin").string()), std::string::npos) << c.out;
  EXPECT_NE(c.out.find((d.dir / "alone" / "libexec" / "wva").string()), std::string::npos) << c.out;
  // In the libexec folder of the same prefix it is found (its own --help answers).
  fs::create_directories(d.dir / "alone" / "libexec" / "wva");
  fs::copy_file(fs::path(WVA_BUILD_DIR) / "bin" / "wva-simulate", d.dir / "alone" / "libexec" / "wva" / "wva-simulate");
  const Command found = run((d.dir / "alone" / "bin" / "wva").string() + " simulate --help 2>&1");
  EXPECT_EQ(found.rc, 0) << found.out;
  EXPECT_NE(found.out.find("usage: wva simulate SCENARIO.yaml"), std::string::npos) << found.out;
  const Command help = run(wva.string() + " --help 2>&1");
  EXPECT_NE(help.out.find("runs the wva-simulate program"), std::string::npos) << help.out;
}

// One argument parser for every verb (Boost.Program_options): its errors, and the ones of this verb.
TEST(WvaSimulate, ArgumentErrorsAreUsageErrors) {
  if (!have_binaries()) GTEST_SKIP() << "needs bin/wva, libsaturation.so and libemulator.so";
  ScenarioDir d;
  const auto file = d.write("tiny.yaml", kTinyScenario);
  const std::string wva = (fs::path(WVA_BUILD_DIR) / "bin" / "wva").string() + " simulate ";
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {file.string() + " --output yaml", "--output is text or json"},
           {file.string() + " --no-such-flag", "unrecognised option '--no-such-flag'"},
           {file.string() + " --report", "the required argument for option '--report' is missing"},
           {file.string() + " " + file.string(), "one scenario at a time"}}) {
    const Command c = run(wva + args + " 2>&1");
    EXPECT_EQ(c.rc, 2) << args << ": " << c.out;
    EXPECT_NE(c.out.find("wva simulate: " + message), std::string::npos) << args << ": " << c.out;
    EXPECT_NE(c.out.find("usage: wva simulate"), std::string::npos) << args << ": " << c.out;
  }
  const Command missing = run(wva + "2>&1");
  EXPECT_EQ(missing.rc, 2) << missing.out;
  EXPECT_NE(missing.out.find("wva simulate: missing SCENARIO.yaml"), std::string::npos) << missing.out;
}

}  // namespace
