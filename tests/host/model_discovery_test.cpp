// Model discovery in the host: a VariantAutoscaling with neither a scaleTargetRef nor a labelled
// Deployment gets its variants from a source implementing sdk::ModelDiscovery (the pods whose metrics
// report the model). Runs the real Host scheduler on a virtual clock over a LocalCluster folder with
// in-process plugins; the discovering source stands for the prometheus source (tested against a real
// Prometheus in prometheus_integration_tests).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <spdlog/sinks/ostream_sink.h>

#include "cluster/local_cluster.h"
#include "config/pipeline_config.h"
#include "host/clock.h"
#include "host/host.h"
#include "host/model_discovery.h"
#include "in_process_plugins.h"

namespace wva::framework {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// No label and no scaleTargetRef anywhere: only the pods' metrics can tie the Deployment to the model.
const char* kManifests = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: llama-h100, namespace: llm}
spec: {replicas: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: unrelated, namespace: llm}
spec: {replicas: 1}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: llama, namespace: llm}
spec: {modelId: meta/llama-3.1-8b}
)";

class DiscoveringSource : public testing::ScriptedSource, public sdk::ModelDiscovery {
 public:
  DiscoveringSource()
      : ScriptedSource([](std::span<const sdk::ModelView> models) {
          std::map<sdk::ModelKey, sdk::ModelMetrics> out;
          for (const auto& m : models) out[m.key] = testing::ok_metrics();
          return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
        }) {}
  sdk::ModelDiscovery* as_model_discovery() override { return this; }
  sdk::Result<std::vector<sdk::PodModel>> discover_models(sdk::Deadline) override {
    std::function<void()> wait;
    {
      std::lock_guard lock(mutex);
      wait = before_answer;
    }
    if (wait) wait();
    std::lock_guard lock(mutex);
    ++discoveries;
    if (fail) return sdk::make_error(sdk::ErrorCode::kUnavailable, "Prometheus is down");
    return answer;
  }
  std::mutex mutex;
  int discoveries = 0;
  bool fail = false;
  std::vector<sdk::PodModel> answer;
  std::function<void()> before_answer;  // e.g. blocks until a test releases it
};

const std::vector<sdk::PodModel> kServing = {{"llm", "llama-h100-1", "meta/llama-3.1-8b"},
                                             {"llm", "llama-h100-0", "meta/llama-3.1-8b"},
                                             {"llm", "llama-h100-0", "meta/llama-3.1-8b"}};  // duplicates are fine

struct Fixture {
  fs::path dir;
  std::shared_ptr<VirtualClock> clock = std::make_shared<VirtualClock>(sdk::TimePoint{} + 1'700'000'000s);
  std::shared_ptr<testing::RecordingSink> sink = std::make_shared<testing::RecordingSink>();
  std::shared_ptr<DiscoveringSource> source = std::make_shared<DiscoveringSource>();
  std::ostringstream log_text;
  std::unique_ptr<Host> host;

  Fixture() {
    char tmpl[] = "/tmp/wva-discovery-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::ofstream(dir / "manifests.yaml") << kManifests;
    auto cluster = std::make_shared<LocalCluster>(dir, "workload-variant-autoscaler-system");
    auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
    host = std::make_unique<Host>(HostOptions{}, cluster, clock, log);
    host->add_plugin("sources", "src", source);
    host->add_plugin("analyzers", "fn",
                     std::make_shared<testing::FnAnalyzer>("fn", [](const sdk::ModelView&, const sdk::Variant& v) {
                       return std::optional<int>(v.current_replicas + 1);
                     }));
    host->add_plugin("sinks", "rec", sink);
    auto parsed = parse_pipelines_yaml(
        "sources: {src: {}}\nanalyzers: {fn: {}}\nsinks: {rec: {}}\n"
        "pipelines:\n  p:\n    source: src\n    analyzers: [fn]\n    sinks: [rec]\n    interval: 10s\n",
        60s, "test");
    EXPECT_TRUE(parsed.errors.empty()) << (parsed.errors.empty() ? "" : parsed.errors[0].to_string());
    auto errors = host->start_with(*parsed.config);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors[0].to_string());
  }
  ~Fixture() {
    host->shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void run_for(std::chrono::milliseconds d) {
    StopSignal stop;
    host->run(d, stop, {});
  }
  const sdk::ResourceCondition* condition(std::size_t batch) {
    for (const auto& c : sink->conditions.at(batch))
      if (c.va_name == "llama" && c.condition.type == "TargetResolved") return &c;
    return nullptr;
  }
};

TEST(ModelDiscoveryInHost, TheServingPodsOwnersBecomeTheVariantsAndDiscoveryIsPeriodic) {
  Fixture f;
  f.source->answer = kServing;
  f.run_for(95s);  // cycles at 0, 10, ..., 90 s
  std::lock_guard lock(f.sink->mutex);
  ASSERT_EQ(f.sink->batches.size(), 10u);
  ASSERT_EQ(f.sink->batches[0].size(), 1u);
  EXPECT_EQ(f.sink->batches[0][0].variant, "llama-h100");
  EXPECT_EQ(f.sink->batches[0][0].model.model_id, "meta/llama-3.1-8b");
  EXPECT_EQ(f.sink->batches[0][0].desired, 3);
  const auto* c = f.condition(0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->condition.status, "True");
  EXPECT_NE(c->condition.message.find("their pods report model_name=meta/llama-3.1-8b"), std::string::npos);
  std::lock_guard source_lock(f.source->mutex);
  EXPECT_EQ(f.source->discoveries, 4) << "asked at 0, 30, 60 and 90 s, not every cycle";
}

TEST(ModelDiscoveryInHost, AChangedAnswerRebuildsTheViewsAndAFailureKeepsTheLastAnswer) {
  Fixture f;
  f.run_for(25s);  // nothing serves the model yet: cycles at 0, 10, 20 s decide nothing
  {
    std::lock_guard lock(f.sink->mutex);
    ASSERT_EQ(f.sink->batches.size(), 3u);
    EXPECT_TRUE(f.sink->batches[2].empty());
    const auto* c = f.condition(2);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->condition.reason, "TargetNotFound");
    EXPECT_NE(c->condition.message.find("no pod of the namespace reports model_name=meta/llama-3.1-8b"),
              std::string::npos)
        << c->condition.message;
  }
  {
    std::lock_guard lock(f.source->mutex);
    f.source->answer = kServing;  // the pods start reporting; the cluster itself does not change
  }
  f.run_for(35s);  // the next discovery (30 s) sees them
  {
    std::lock_guard lock(f.sink->mutex);
    ASSERT_FALSE(f.sink->batches.back().empty());
    EXPECT_EQ(f.sink->batches.back()[0].variant, "llama-h100");
  }
  {
    std::lock_guard lock(f.source->mutex);
    f.source->fail = true;
  }
  const std::size_t before = [&] {
    std::lock_guard lock(f.sink->mutex);
    return f.sink->batches.size();
  }();
  f.run_for(40s);  // discovery fails at least once: the views keep the last answer
  std::lock_guard lock(f.sink->mutex);
  ASSERT_GT(f.sink->batches.size(), before);
  for (std::size_t i = before; i < f.sink->batches.size(); ++i) {
    ASSERT_EQ(f.sink->batches[i].size(), 1u) << i;
    EXPECT_EQ(f.sink->batches[i][0].variant, "llama-h100");
  }
  EXPECT_NE(f.log_text.str().find("model discovery: sources/src: Prometheus is down; keeping its last "
                                  "answer (2 pods)"),
            std::string::npos)
      << f.log_text.str();
}

// With a wall clock the scheduler never waits on a question after the first: a source that is slow to
// answer (blocked here until released) leaves refresh() returning at once, and its answer is taken on a
// later refresh.
TEST(ModelDiscoveryCache, OnlyTheFirstAnswerIsWaitedForLaterOnesArriveInTheBackground) {
  WallClock clock;
  CallWatchdog watchdog;
  std::ostringstream text;
  spdlog::logger log("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
  auto source = std::make_shared<DiscoveringSource>();
  source->answer = {kServing[0]};
  PipelineRuntime pipeline;
  pipeline.source = {"src", source.get()};
  pipeline.owners["sources/src"] = source;
  const std::vector<PipelineRuntime> pipelines = {pipeline};

  ModelDiscoveryCache cache(std::chrono::milliseconds(0), std::chrono::seconds(5));
  EXPECT_TRUE(cache.refresh(pipelines, clock, &watchdog, log));  // the first answer, waited for
  ASSERT_NE(cache.pods(), nullptr);
  EXPECT_EQ(*cache.pods(), (std::vector<sdk::PodModel>{kServing[0]}));

  // The next question blocks in the source until released.
  std::mutex gate_mutex;
  std::condition_variable gate_cv;
  bool released = false;
  {
    std::lock_guard lock(source->mutex);
    source->answer = kServing;
    source->before_answer = [&] {
      std::unique_lock lock(gate_mutex);
      gate_cv.wait_for(lock, std::chrono::seconds(4), [&] { return released; });
    };
  }
  EXPECT_FALSE(cache.refresh(pipelines, clock, &watchdog, log)) << "asked in the background: nothing yet";
  EXPECT_EQ(cache.pods()->size(), 1u);
  {
    std::lock_guard lock(gate_mutex);
    released = true;
  }
  gate_cv.notify_all();
  bool changed = false;
  for (int i = 0; i < 400 && !changed; ++i) {  // at most 4 s
    changed = cache.refresh(pipelines, clock, &watchdog, log);
    if (!changed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(changed);
  EXPECT_EQ(cache.pods()->size(), 2u);  // the two pods of kServing, duplicates merged
  cache.wait();
}

}  // namespace
}  // namespace wva::framework
