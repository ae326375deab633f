// The models a pipeline's cycle runs on are kept and run on again (Host::WorkingSet) when the views did not
// change and nobody holds the last outcome; otherwise they are copied from the views as before. Two hosts
// over identical LocalCluster folders, one dropping its outcomes (reuses its models) and one keeping every
// outcome (copies every cycle), must hand their source the same models and decide the same, over random
// scales, pod changes and decisions that feed the next cycle's previous_desired.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

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

constexpr int kModels = 5;

std::string manifests() {
  std::ostringstream out;
  out << "apiVersion: v1\nkind: Namespace\nmetadata: {name: llm}\n";
  for (int m = 0; m < kModels; ++m)
    for (const char* acc : {"a100", "h100"})
      out << "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: m" << m << "-" << acc
          << ", namespace: llm, labels: {llmd.ai/model: m" << m << "}}\nspec: {replicas: 2}\n";
  for (int m = 0; m < kModels; ++m)
    out << "---\napiVersion: llmd.ai/v1alpha1\nkind: VariantAutoscaling\nmetadata: {name: m" << m
        << ", namespace: llm}\nspec: {modelID: m" << m << ", minReplicas: 0}\n";
  return out.str();
}

// What the source saw of the models: everything a view carries that a cycle may touch.
std::string describe(std::span<const sdk::ModelView> models) {
  std::ostringstream out;
  for (const auto& m : models) {
    out << m.key.to_string() << " va=" << m.va_name << " metrics=" << sdk::to_string(m.metrics.state) << "/"
        << m.metrics.message << "/" << m.metrics.replicas.size() << ";";
    for (const auto& v : m.variants) {
      out << " " << v.name << " cur=" << v.current_replicas << " ready=" << v.ready_replicas
          << " prev=" << (v.previous_desired ? std::to_string(*v.previous_desired) : "-") << " pods=";
      for (const auto& p : v.pods) out << p << ",";
    }
    out << "\n";
  }
  return out.str();
}

struct Instance {
  fs::path dir;
  std::shared_ptr<LocalCluster> cluster;
  std::shared_ptr<VirtualClock> clock = std::make_shared<VirtualClock>(sdk::TimePoint{} + 1'700'000'000s);
  std::vector<std::string> seen;                 // per collect(): the models as described
  std::vector<const sdk::ModelView*> addresses;  // per collect(): where the models were
  int cycle = 0;
  std::unique_ptr<Host> host;

  Instance() {
    char tmpl[] = "/tmp/wva-working-set-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::ofstream(dir / "manifests.yaml") << manifests();
    cluster = std::make_shared<LocalCluster>(dir, "workload-variant-autoscaler-system");
    EXPECT_TRUE(cluster->load().ok());
    auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    host = std::make_unique<Host>(HostOptions{}, cluster, clock, log);
    host->add_plugin("sources", "src", std::make_shared<testing::ScriptedSource>([this](auto models) {
                       seen.push_back(describe(models));
                       addresses.push_back(models.data());
                       // Metrics that differ per cycle and model (the same on both hosts): some models none.
                       std::map<sdk::ModelKey, sdk::ModelMetrics> out;
                       for (std::size_t i = 0; i < models.size(); ++i) {
                         if ((cycle + i) % 3 == 0) continue;
                         auto metrics = testing::ok_metrics();
                         metrics.replicas.resize((cycle + i) % 4);
                         out[models[i].key] = metrics;
                       }
                       ++cycle;
                       return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
                     }));
    // Each decision depends on the last one (previous_desired) and on the metrics.
    host->add_plugin("analyzers", "fn",
                     std::make_shared<testing::FnAnalyzer>("fn", [](const sdk::ModelView& m, const sdk::Variant& v) {
                       const int prev = v.previous_desired.value_or(v.current_replicas);
                       return std::optional<int>((prev + 1 + static_cast<int>(m.metrics.replicas.size())) % 5);
                     }));
    host->add_plugin("sinks", "rec", std::make_shared<testing::RecordingSink>());
    auto parsed = parse_pipelines_yaml(
        "sources: {src: {}}\nanalyzers: {fn: {}}\nsinks: {rec: {}}\n"
        "pipelines:\n  p:\n    source: src\n    analyzers: [fn]\n    sinks: [rec]\n    interval: 60s\n",
        60s, "test");
    EXPECT_TRUE(parsed.errors.empty()) << (parsed.errors.empty() ? "" : parsed.errors[0].to_string());
    EXPECT_TRUE(host->start_with(*parsed.config).empty());
  }
  ~Instance() {
    host->shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string decisions_of(const std::vector<CycleOutcome>& outcomes) {
  std::ostringstream out;
  for (const auto& o : outcomes)
    for (const auto& d : o.decisions) out << d.variant << "=" << d.desired << (d.held ? "h" : "") << " ";
  return out.str();
}

TEST(WorkingSet, ReusedModelsEqualFreshCopiesOverRandomChanges) {
  Instance reusing, copying;
  std::vector<std::vector<CycleOutcome>> kept;  // `copying` keeps every outcome: its models are never free
  std::mt19937 rng(20261206);
  int reused = 0;
  for (int step = 0; step < 60; ++step) {
    const int change = static_cast<int>(rng() % 4);  // half the cycles: no change
    if (change == 1) {
      const std::string dep = "m" + std::to_string(rng() % kModels) + (rng() % 2 ? "-a100" : "-h100");
      const int replicas = static_cast<int>(rng() % 4);
      for (auto* i : {&reusing, &copying}) ASSERT_TRUE(i->cluster->scale("llm", dep, replicas).ok());
    }
    const std::string decided = decisions_of(reusing.host->run_once());  // dropped at once
    kept.push_back(copying.host->run_once());
    ASSERT_EQ(decided, decisions_of(kept.back())) << "step " << step;
    ASSERT_EQ(reusing.seen.back(), copying.seen.back()) << "step " << step;
    if (step > 0 && reusing.addresses[step] == reusing.addresses[step - 1]) ++reused;
    if (step > 0) {
      ASSERT_NE(copying.addresses[step], copying.addresses[step - 1]) << "a kept outcome's models are not reused";
    }
  }
  EXPECT_GT(reused, 10) << "the steady cycles ran on the same models";
}

// The cycle of every model runs on the cached views themselves (no copy): what a cycle collected is
// never handed to the next one's source as if it were new, whether a model reported the cycle before or not.
TEST(WorkingSet, EveryCycleStartsWithoutTheMetricsOfTheLastOne) {
  Instance instance;
  for (int step = 0; step < 6; ++step) {
    (void)instance.host->run_once();
    if (step % 3 == 1) {
      ASSERT_TRUE(instance.cluster->scale("llm", "m1-h100", step % 4).ok());
    }
  }
  ASSERT_EQ(instance.seen.size(), 6u);
  for (std::size_t c = 0; c < instance.seen.size(); ++c) {
    std::istringstream lines(instance.seen[c]);
    int models = 0;
    for (std::string line; std::getline(lines, line); ++models) {
      EXPECT_NE(line.find(" metrics=no data//0;"), std::string::npos) << "cycle " << c << ": " << line;
    }
    EXPECT_EQ(models, kModels);
  }
  // The source saw the same vector in the steady cycles: the views were lent, not copied.
  EXPECT_EQ(instance.addresses[3], instance.addresses[2]);
}

}  // namespace
}  // namespace wva::framework
