// `combine:` through the Host: the word resolves to a combiner plugin loaded from <build>/plugins (the
// real libfirst/libmax/libhybrid.so); a misspelt one gets a "did you mean" among the combiner plugins
// found; a chain its combiner cannot combine is refused with the pipeline's path; a `combiners:` entry
// gives an instance its settings. The cluster is a LocalCluster folder; source, analyzers and sink are
// in-process.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <spdlog/sinks/null_sink.h>

#include "cluster/local_cluster.h"
#include "config/pipeline_config.h"
#include "host/clock.h"
#include "host/host.h"
#include "in_process_plugins.h"

namespace wva::framework {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kManifests = R"(apiVersion: v1
kind: Namespace
metadata: {name: llm}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: m-h100, namespace: llm, labels: {llmd.ai/model: m}}
spec: {replicas: 4}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: m, namespace: llm}
spec: {modelID: m, minReplicas: 0}
)";

struct Fixture {
  fs::path dir;
  std::shared_ptr<VirtualClock> clock = std::make_shared<VirtualClock>(sdk::TimePoint{} + 1'700'000'000s);
  std::shared_ptr<testing::RecordingSink> sink = std::make_shared<testing::RecordingSink>();
  std::unique_ptr<Host> host;

  Fixture() {
    char tmpl[] = "/tmp/wva-combiner-config-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::ofstream(dir / "manifests.yaml") << kManifests;
    auto cluster = std::make_shared<LocalCluster>(dir, "workload-variant-autoscaler-system");
    auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    HostOptions options;
    options.plugin_paths = {WVA_PLUGIN_DIR};
    host = std::make_unique<Host>(options, cluster, clock, log);
    host->add_plugin("sources", "src", std::make_shared<testing::ScriptedSource>([](auto models) {
                       std::map<sdk::ModelKey, sdk::ModelMetrics> out;
                       for (const auto& m : models) out[m.key] = testing::ok_metrics();
                       return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
                     }));
    // Current 4: "live" says 5 (up), "planned" says 2 (down); "low" says 3.
    for (const auto& [name, target] : {std::pair{"live", 5}, std::pair{"planned", 2}, std::pair{"low", 3}})
      host->add_plugin(
          "analyzers", name,
          std::make_shared<testing::FnAnalyzer>(name, [target = target](const sdk::ModelView&, const sdk::Variant&) {
            return std::optional<int>(target);
          }));
    host->add_plugin("sinks", "rec", sink);
  }
  ~Fixture() {
    host->shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::vector<sdk::Error> start(const std::string& extra, const std::string& pipeline) {
    auto parsed = parse_pipelines_yaml(
        "sources: {src: {}}\nanalyzers: {live: {}, planned: {}, low: {}}\n"
        "sinks: {rec: {}}\n" +
            extra + "pipelines:\n  p: {source: src, sinks: [rec], " + pipeline + "}\n",
        60s, "test");
    EXPECT_TRUE(parsed.errors.empty()) << (parsed.errors.empty() ? "" : parsed.errors[0].to_string());
    if (!parsed.config) return {};
    return host->start_with(*parsed.config);
  }
  // The one decision of the first cycle.
  sdk::Decision decide() {
    StopSignal stop;
    host->run(1s, stop, {});
    std::lock_guard lock(sink->mutex);
    EXPECT_FALSE(sink->batches.empty());
    EXPECT_EQ(sink->batches.front().size(), 1u);
    return sink->batches.front().at(0);
  }
};

std::string all(const std::vector<sdk::Error>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.to_string() + "\n";
  return out;
}

TEST(CombinerConfig, EachWordPicksItsPlugin) {
  struct Case {
    const char* pipeline;
    int desired;
    const char* analyzer;
  };
  for (const auto& c : {Case{"analyzers: [planned, live]", 2, "planned"},  // no combine: first
                        Case{"analyzers: [planned, live], combine: first", 2, "planned"},
                        Case{"analyzers: [planned, live], combine: max", 5, "live"},
                        Case{"analyzers: [planned, low], combine: last", 3, "low"}}) {
    Fixture f;
    auto errors = f.start("", c.pipeline);
    ASSERT_TRUE(errors.empty()) << c.pipeline << "\n" << all(errors);
    const auto d = f.decide();
    EXPECT_EQ(d.desired, c.desired) << c.pipeline;
    EXPECT_EQ(d.analyzer, c.analyzer) << c.pipeline;
  }
}

TEST(CombinerConfig, HybridWithItsAnalyzersNamedInItsSettings) {
  Fixture f;
  auto errors = f.start("combiners: {hybrid: {saturation: live, model: planned}}\n",
                        "analyzers: [live, planned], combine: hybrid");
  ASSERT_TRUE(errors.empty()) << all(errors);
  const auto d = f.decide();
  EXPECT_EQ(d.desired, 5);  // row 2: the saturation analyzer forces the scale-up over the model's scale-down
  EXPECT_EQ(d.analyzer, "hybrid");
  EXPECT_NE(d.reason.find("hybrid row 2 (live up to 5, planned down to 2, current 4)"), std::string::npos) << d.reason;
}

TEST(CombinerConfig, HybridRefusesAChainItCannotCombine) {
  Fixture f;
  // Defaults name the analyzers "saturation" and "queueing": this chain has neither.
  auto errors = f.start("", "analyzers: [live], combine: hybrid");
  ASSERT_FALSE(errors.empty());
  bool found = false;
  for (const auto& e : errors)
    found = found || (e.path == "pipelines.p.combine" &&
                      e.message.find("hybrid needs exactly two analyzers") != std::string::npos);
  EXPECT_TRUE(found) << all(errors);
}

TEST(CombinerConfig, AMisspeltCombinerGetsADidYouMean) {
  Fixture f;
  auto errors = f.start("", "analyzers: [live], combine: hybird");
  ASSERT_EQ(errors.size(), 1u) << all(errors);
  EXPECT_EQ(errors[0].path, "pipelines.p.combine");
  EXPECT_NE(errors[0].message.find("unknown combiner \"hybird\""), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].message.find("did you mean \"hybrid\"?"), std::string::npos) << errors[0].message;
}

TEST(CombinerConfig, ANonCombinerPluginIsRefusedAsOne) {
  Fixture f;
  // libthreshold.so is an analyzer.
  auto errors = f.start("combiners: {c: {plugin: threshold}}\n", "analyzers: [live], combine: c");
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "combiners.c");
  EXPECT_NE(errors[0].message.find("not a combiner"), std::string::npos) << errors[0].message;
}

TEST(CombinerConfig, InvalidSettingsNameTheirPath) {
  Fixture f;
  auto errors = f.start("combiners: {hybrid: {modle: planned}}\n", "analyzers: [live, planned], combine: hybrid");
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "combiners.hybrid.modle") << all(errors);
  EXPECT_NE(errors[0].message.find("did you mean \"model\""), std::string::npos) << errors[0].message;
}

}  // namespace
}  // namespace wva::framework
