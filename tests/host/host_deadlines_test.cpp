// Deadlines on every plugin call (issue 14 item 9, the rest): an analyze() past its deadline is abandoned
// (the worker pool replaces the stuck thread) and its model holds; pipelines run on lanes of their own, so
// one pipeline's hung source does not stop another's cycles; a hung instance is replaced by a fresh one
// after its back-off, and a hung sink loses no decision. The Host tests run the real scheduler on a wall
// clock over a LocalCluster folder, with in-process plugins that hang on a Gate until the test opens it.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include "cluster/local_cluster.h"
#include "config/pipeline_config.h"
#include "gate.h"
#include "host/clock.h"
#include "host/cycle.h"
#include "host/host.h"
#include "host/logger.h"
#include "host/metrics_registry.h"
#include "host/worker_pool.h"
#include "in_process_plugins.h"

namespace wva::framework {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Gate;

// Polls `done` every 5 ms for at most `limit`; true when it held.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

const sdk::Condition* find_condition(const sdk::Decision& d, const std::string& type) {
  const sdk::Condition* found = nullptr;
  d.for_each_condition([&](const sdk::Condition& c) {
    if (!found && c.type == type) found = &c;
  });
  return found;
}

// ---------------------------------------------------------------------------------------------------
// The worker pool

TEST(WorkerPool, AStuckItemIsAbandonedItsThreadReplacedAndItsLateReturnReported) {
  WorkerPool pool(2);
  auto gate = std::make_shared<Gate>();
  auto hits = std::make_shared<std::vector<std::atomic<int>>>(8);
  auto abandons = std::make_shared<std::atomic<int>>(0);
  auto late = std::make_shared<std::atomic<int>>(0);
  auto job = std::make_shared<PoolJob>();
  job->item = [gate, hits](std::size_t i) {
    if (i == 3) gate->wait();
    ++(*hits)[i];
  };
  job->on_abandon = [abandons](std::size_t i) {
    EXPECT_EQ(i, 3u);
    ++*abandons;
  };
  job->on_late_return = [late](std::size_t i) {
    EXPECT_EQ(i, 3u);
    ++*late;
  };
  const auto abandoned = pool.run(8, job, 100ms);
  std::vector<bool> expected(8, false);
  expected[3] = true;
  EXPECT_EQ(abandoned, expected);
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == 3) continue;
    EXPECT_EQ((*hits)[i].load(), 1) << i;
  }
  EXPECT_EQ(abandons->load(), 1);
  EXPECT_EQ(late->load(), 0);
  EXPECT_EQ(pool.stuck_threads(), 1u);

  // The pool keeps its size: jobs run on two threads while the stuck one waits.
  std::vector<std::atomic<int>> more(50);
  pool.parallel_for(more.size(), [&](std::size_t i) { ++more[i]; });
  for (auto& h : more) EXPECT_EQ(h.load(), 1);

  gate->release();
  ASSERT_TRUE(eventually([&] { return late->load() == 1; }));
  EXPECT_TRUE(eventually([&] { return pool.stuck_threads() == 0; }));
  EXPECT_EQ((*hits)[3].load(), 1);
}

TEST(WorkerPool, JobsOfSeveralCallersShareThePool) {
  WorkerPool pool(3);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int job = 0; job < 20; ++job) {
        std::vector<std::atomic<int>> hits(31);
        pool.parallel_for(hits.size(), [&](std::size_t i) { ++hits[i]; });
        for (auto& h : hits)
          if (h.load() != 1) ++wrong;
      }
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ---------------------------------------------------------------------------------------------------
// analyze() under a deadline

// analyze() of `hang_model` waits on the gate; every model gets 5 replicas per variant.
class GatedAnalyzer : public testing::PluginBase, public sdk::Analyzer {
 public:
  GatedAnalyzer(std::string hang_model, std::shared_ptr<Gate> gate)
      : hang_model_(std::move(hang_model)), gate_(std::move(gate)) {}
  sdk::Analyzer* as_analyzer() override { return this; }
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& model, const sdk::Recommendation*) override {
    ++calls;
    if (model.key.model_id == hang_model_) gate_->wait();
    sdk::Recommendation rec;
    rec.analyzer = "fn";
    // Reads the model after the gate: its data must still be alive when the cycle has moved on.
    for (const auto& v : model.variants) rec.targets.push_back({v.name, 5, "fn says 5"});
    rec.has_opinion = !rec.targets.empty();
    return rec;
  }
  std::atomic<int> calls{0};

 private:
  std::string hang_model_;
  std::shared_ptr<Gate> gate_;
};

std::shared_ptr<testing::ScriptedSource> ok_source() {
  return std::make_shared<testing::ScriptedSource>([](std::span<const sdk::ModelView> models) {
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key] = testing::ok_metrics();
    return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
  });
}

struct CycleFixture {
  WorkerPool pool{2};
  DecisionMemory memory;
  WallClock clock;
  SpdLogger log{std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()), ""};
  MetricsRegistryImpl metrics;
  CallWatchdog watchdog;
  CycleServices services() {
    CycleServices s{&pool, &memory, &clock, &log, &metrics, 1s};
    s.watchdog = &watchdog;
    s.analyze_budget = 150ms;
    return s;
  }
};

TEST(AnalyzeDeadline, AHungAnalyzeIsAbandonedAndItsModelHoldsTheLastDecisionWithTheReason) {
  CycleFixture f;
  auto gate = std::make_shared<Gate>();
  auto source = ok_source();
  auto analyzer = std::make_shared<GatedAnalyzer>("a", gate);
  auto sink = std::make_shared<testing::RecordingSink>();
  PipelineRuntime rt;
  rt.config.name = "p";
  rt.source = {"src", source.get()};
  rt.analyzers = {{"fn", analyzer.get()}};
  rt.sinks = {{"out", sink.get()}};
  rt.combiner = testing::first_combiner();
  rt.owners = {{"sources/src", source}, {"analyzers/fn", analyzer}, {"sinks/out", sink}};
  f.memory.remember(sdk::Decision{{"ns", "a"}, "va", "a", "H100", 2, 3, "earlier", "fn", false, {}, {}, {}});
  auto models = [] {
    return std::vector<sdk::ModelView>{testing::model("ns", "a", {"va"}), testing::model("ns", "b", {"vb"})};
  };

  const auto started = std::chrono::steady_clock::now();
  auto outcome = run_cycle(rt, models(), {}, f.services());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "the cycle waited for the hung analyze()";
  ASSERT_EQ(outcome.decisions.size(), 2u);
  const auto& held = outcome.decisions[0];
  EXPECT_TRUE(held.held);
  EXPECT_EQ(held.desired, 3) << "the last decision";
  EXPECT_NE(held.reason.find("analyzers/fn did not return within 150 ms"), std::string::npos) << held.reason;
  const auto* ready = find_condition(held, "OptimizationReady");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, "False");
  EXPECT_EQ(ready->reason, "AnalyzerHung");
  EXPECT_NE(ready->message.find("did not return within 150 ms"), std::string::npos) << ready->message;
  EXPECT_FALSE(outcome.decisions[1].held) << "the other model's analyze() returned in time";
  EXPECT_EQ(outcome.decisions[1].desired, 5);
  ASSERT_FALSE(outcome.errors.empty());
  EXPECT_NE(outcome.errors[0].find("analyze fn (ns/a)"), std::string::npos) << outcome.errors[0];
  EXPECT_TRUE(f.watchdog.hung_message("analyzers/fn", analyzer.get()));
  EXPECT_EQ(sink->batches.size(), 1u) << "published, held decision included";

  // While it hangs it is not called again: every model of the pipeline holds, with the reason.
  const int calls = analyzer->calls.load();
  auto next = run_cycle(rt, models(), {}, f.services());
  EXPECT_EQ(analyzer->calls.load(), calls);
  ASSERT_EQ(next.decisions.size(), 2u);
  for (const auto& d : next.decisions) {
    EXPECT_TRUE(d.held);
    EXPECT_NE(d.reason.find("analyzers/fn is hung"), std::string::npos) << d.reason;
    ASSERT_NE(find_condition(d, "OptimizationReady"), nullptr);
    EXPECT_EQ(find_condition(d, "OptimizationReady")->reason, "AnalyzerHung");
  }
  EXPECT_EQ(next.decisions[0].desired, 3);
  EXPECT_EQ(next.decisions[1].desired, 5) << "b holds the decision of the cycle before";

  gate->release();
  ASSERT_TRUE(eventually([&] { return !f.watchdog.hung_message("analyzers/fn"); }));
  auto recovered = run_cycle(rt, models(), {}, f.services());
  EXPECT_TRUE(recovered.errors.empty()) << recovered.errors.front();
  for (const auto& d : recovered.decisions) {
    EXPECT_FALSE(d.held);
    EXPECT_EQ(d.desired, 5);
  }
}

// ---------------------------------------------------------------------------------------------------
// The Host: pipelines at once, restarts

const char* kTwoModels = R"(apiVersion: v1
kind: Namespace
metadata: {name: llm}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: alpha-h100, namespace: llm, labels: {llmd.ai/model: alpha}}
spec: {replicas: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: beta-h100, namespace: llm, labels: {llmd.ai/model: beta}}
spec: {replicas: 2}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: alpha, namespace: llm}
spec: {modelID: alpha, minReplicas: 1}
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: beta, namespace: llm}
spec: {modelID: beta, minReplicas: 1}
)";

// A Host on a wall clock running in a thread of its own; on_cycle's outcomes are kept by pipeline.
struct HostFixture {
  fs::path dir;
  std::ostringstream log_text;  // the host's log, printed when the test fails
  std::unique_ptr<Host> host;
  StopSignal stop;
  std::thread runner;
  std::mutex mutex;
  std::condition_variable cv;
  std::map<std::string, std::vector<CycleOutcome>> outcomes;

  HostFixture() {
    char tmpl[] = "/tmp/wva-host-deadlines-XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::ofstream(dir / "manifests.yaml") << kTwoModels;
    auto cluster = std::make_shared<LocalCluster>(dir, "workload-variant-autoscaler-system");
    auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
    log->set_level(spdlog::level::debug);
    host = std::make_unique<Host>(HostOptions{}, cluster, std::make_shared<WallClock>(), log);
  }
  void start(const std::string& config) {
    auto parsed = parse_pipelines_yaml(config, 60s, "test");
    ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0].to_string();
    auto errors = host->start_with(*parsed.config);
    ASSERT_TRUE(errors.empty()) << errors[0].to_string();
    runner = std::thread([this] {
      host->run(std::nullopt, stop, [this](const CycleOutcome& o) {
        {
          std::lock_guard lock(mutex);
          outcomes[o.pipeline].push_back(o);
        }
        cv.notify_all();
      });
    });
  }
  std::size_t cycles(const std::string& pipeline) {
    std::lock_guard lock(mutex);
    return outcomes[pipeline].size();
  }
  // Waits (at most `limit`) until `done` holds over the outcomes.
  bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, done);
  }
  ~HostFixture() {
    stop.request();
    if (runner.joinable()) runner.join();
    host->shutdown();
    if (::testing::Test::HasFailure()) std::cerr << "the host's log:\n" << log_text.str();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::shared_ptr<testing::FnAnalyzer> fives() {
  return std::make_shared<testing::FnAnalyzer>(
      "fn", [](const sdk::ModelView&, const sdk::Variant&) { return std::optional<int>(5); });
}

// What a test sees of a HungSource without holding it (the host releases an instance it alone holds).
struct SourceProbe {
  std::atomic<int> calls{0};
  std::atomic<bool> stopped{false};
};

// A source whose every collect() waits on the gate; calls and stop() are recorded in the probe.
class HungSource : public testing::PluginBase, public sdk::Source {
 public:
  HungSource(std::shared_ptr<Gate> gate, std::shared_ptr<SourceProbe> probe)
      : gate_(std::move(gate)), probe_(std::move(probe)) {}
  sdk::Source* as_source() override { return this; }
  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collect(std::span<const sdk::ModelView> models,
                                                                  sdk::Deadline) override {
    ++probe_->calls;
    gate_->wait();
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key] = testing::ok_metrics();
    return out;
  }
  void stop() noexcept override { probe_->stopped = true; }

 private:
  std::shared_ptr<Gate> gate_;
  std::shared_ptr<SourceProbe> probe_;
};

// Pipeline a's source hangs (its deadline is longer than the test) while pipeline b, which shares the
// analyzer and the sink, keeps cycling. With the pipelines in turn on one thread, b had no cycle at all
// until a's collect returned.
TEST(PipelinesAtOnce, AnotherPipelineKeepsCyclingWhileOnePipelinesSourceHangs) {
  HostFixture f;
  auto gate = std::make_shared<Gate>();
  auto hung = std::make_shared<SourceProbe>();
  auto sink = std::make_shared<testing::RecordingSink>();
  f.host->add_plugin("sources", "src-a", std::make_shared<HungSource>(gate, hung));
  f.host->add_plugin("sources", "src-b", ok_source());
  f.host->add_plugin("analyzers", "fn", fives());
  f.host->add_plugin("sinks", "rec", sink);
  f.start(R"(sources: {src-a: {}, src-b: {}}
analyzers: {fn: {}}
sinks: {rec: {}}
pipelines:
  a: {selector: {modelIds: [alpha]}, interval: 100ms, idleCheckInterval: 0, deadlines: {collect: 20s},
      source: src-a, analyzers: [fn], sinks: [rec]}
  b: {selector: {modelIds: [beta]}, interval: 100ms, idleCheckInterval: 0, source: src-b, analyzers: [fn], sinks: [rec]}
)");
  ASSERT_TRUE(eventually([&] { return hung->calls.load() == 1; })) << "a's first collect";
  const std::size_t b_before = f.cycles("b");
  ASSERT_TRUE(f.wait_for([&] { return f.outcomes["b"].size() >= b_before + 5; }))
      << "b ran " << f.cycles("b") - b_before << " cycles while a's source hung";
  EXPECT_EQ(f.cycles("a"), 0u) << "a's first cycle is still waiting for its source";
  {
    std::lock_guard lock(f.mutex);
    const auto& last = f.outcomes["b"].back();
    ASSERT_EQ(last.decisions.size(), 1u);
    EXPECT_EQ(last.decisions[0].variant, "beta-h100");
    EXPECT_FALSE(last.decisions[0].held);
    EXPECT_EQ(last.decisions[0].desired, 5);
  }
  gate->release();
  ASSERT_TRUE(f.wait_for([&] { return !f.outcomes["a"].empty(); })) << "a's cycle ends once its source returns";
  std::lock_guard lock(f.mutex);
  EXPECT_EQ(f.outcomes["a"][0].decisions.size(), 1u);
  EXPECT_EQ(f.outcomes["a"][0].decisions[0].desired, 5);
}

// The source hangs past its deadline: the pipeline holds, the instance is hung, and after the back-off a
// fresh instance from the same factory (the first try fails and is retried later) serves the next cycle;
// the hung one is stopped and released once its call returns.
TEST(Restart, AHungInstanceIsReplacedByAFreshOneAfterBackoffAndTheFreshOneServes) {
  HostFixture f;
  auto gate = std::make_shared<Gate>();
  auto hung = std::make_shared<SourceProbe>();
  auto made = std::make_shared<std::atomic<int>>(0);
  f.host->add_plugin("sources", "src", std::make_shared<HungSource>(gate, hung),
                     [made]() -> sdk::Result<std::shared_ptr<sdk::Plugin>> {
                       if (++*made == 1)
                         return sdk::make_error(sdk::ErrorCode::kUnavailable, "no room for a fresh instance yet");
                       return std::shared_ptr<sdk::Plugin>(ok_source());
                     });
  f.host->add_plugin("analyzers", "fn", fives());
  f.host->add_plugin("sinks", "rec", std::make_shared<testing::RecordingSink>());
  f.start(R"(plugins: {restartBackoff: {initial: 200ms, max: 2s}}
sources: {src: {}}
analyzers: {fn: {}}
sinks: {rec: {}}
pipelines:
  p: {interval: 100ms, idleCheckInterval: 0, deadlines: {collect: 100ms}, source: src, analyzers: [fn], sinks: [rec]}
)");
  // The first cycle: collect abandoned (100 ms + 1 s of grace), every model holds with the reason.
  ASSERT_TRUE(f.wait_for([&] { return !f.outcomes["p"].empty(); }));
  {
    std::lock_guard lock(f.mutex);
    const auto& first = f.outcomes["p"][0];
    ASSERT_EQ(first.decisions.size(), 2u);
    EXPECT_TRUE(first.decisions[0].held);
    EXPECT_NE(first.decisions[0].reason.find("sources/src did not return within 1100 ms"), std::string::npos)
        << first.decisions[0].reason;
  }
  // Then a fresh instance: decided again (5), not held.
  ASSERT_TRUE(f.wait_for([&] {
    const auto& all = f.outcomes["p"];
    return !all.empty() && !all.back().decisions.empty() && !all.back().decisions[0].held;
  })) << "no cycle served by a fresh instance";
  auto& metrics = f.host->metrics();
  EXPECT_EQ(made->load(), 2) << "one failed try, one restart";
  EXPECT_EQ(metrics.value("wva_plugin_restarts_total", {{"instance", "sources/src"}, {"result", "failed"}}), 1.0);
  EXPECT_EQ(metrics.value("wva_plugin_restarts_total", {{"instance", "sources/src"}, {"result", "restarted"}}), 1.0);
  EXPECT_EQ(hung->calls.load(), 1) << "the hung instance was not called again";
  {
    std::lock_guard lock(f.mutex);
    for (const auto& d : f.outcomes["p"].back().decisions) EXPECT_EQ(d.desired, 5);
  }
  EXPECT_EQ(metrics.value("wva_plugin_abandoned_calls", {{"instance", "sources/src"}}), 1.0);
  EXPECT_FALSE(hung->stopped.load()) << "stop() would wait on the hung call";

  gate->release();
  EXPECT_TRUE(eventually([&] { return hung->stopped.load(); })) << "released once its call returned";
  EXPECT_TRUE(eventually([&] { return !metrics.value("wva_plugin_abandoned_calls", {{"instance", "sources/src"}}); }));
  EXPECT_TRUE(f.host->hung_instances().empty());
}

// analyze() of one model hangs: that model holds with the reason while the other is decided, and after
// the back-off a fresh analyzer decides both.
TEST(Restart, AHungAnalyzerIsReplacedAndTheFreshOneDecidesEveryModel) {
  HostFixture f;
  auto gate = std::make_shared<Gate>();
  f.host->add_plugin("sources", "src", ok_source());
  f.host->add_plugin(
      "analyzers", "fn", std::make_shared<GatedAnalyzer>("alpha", gate),
      []() -> sdk::Result<std::shared_ptr<sdk::Plugin>> { return std::shared_ptr<sdk::Plugin>(fives()); });
  f.host->add_plugin("sinks", "rec", std::make_shared<testing::RecordingSink>());
  f.start(R"(plugins: {restartBackoff: {initial: 100ms, max: 1s}}
sources: {src: {}}
analyzers: {fn: {}}
sinks: {rec: {}}
pipelines:
  p: {interval: 100ms, idleCheckInterval: 0, deadlines: {analyze: 150ms}, source: src, analyzers: [fn], sinks: [rec]}
)");
  ASSERT_TRUE(f.wait_for([&] { return !f.outcomes["p"].empty(); }));
  {
    std::lock_guard lock(f.mutex);
    const auto& first = f.outcomes["p"][0].decisions;
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].variant, "alpha-h100");
    EXPECT_TRUE(first[0].held);
    EXPECT_NE(first[0].reason.find("analyzers/fn did not return within 150 ms"), std::string::npos) << first[0].reason;
    ASSERT_NE(find_condition(first[0], "OptimizationReady"), nullptr);
    EXPECT_EQ(find_condition(first[0], "OptimizationReady")->reason, "AnalyzerHung");
    EXPECT_FALSE(first[1].held);
    EXPECT_EQ(first[1].desired, 5);
  }
  ASSERT_TRUE(f.wait_for([&] {
    const auto& all = f.outcomes["p"];
    return all.size() > 1 && all.back().decisions.size() == 2 && !all.back().decisions[0].held &&
           !all.back().decisions[1].held;
  })) << "no cycle decided by a fresh analyzer";
  EXPECT_EQ(
      f.host->metrics().value("wva_plugin_restarts_total", {{"instance", "analyzers/fn"}, {"result", "restarted"}}),
      1.0);
  gate->release();
  EXPECT_TRUE(eventually([&] { return f.host->hung_instances().empty(); }));
}

// publish() waits on the gate: abandoned at its deadline, the sink is restarted, and the fresh sink gets
// every model's decision in its first batch.
class HungSink : public testing::PluginBase, public sdk::Sink {
 public:
  explicit HungSink(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  sdk::Sink* as_sink() override { return this; }
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override {
    gate_->wait();
    seen = batch.decisions.size();  // the batch must still be alive after the cycle moved on
    return sdk::ok();
  }
  std::atomic<std::size_t> seen{0};

 private:
  std::shared_ptr<Gate> gate_;
};

TEST(Restart, AHungSinkLosesNoDecision) {
  HostFixture f;
  auto gate = std::make_shared<Gate>();
  auto hung = std::make_shared<HungSink>(gate);
  auto fresh = std::make_shared<testing::RecordingSink>();
  f.host->add_plugin("sources", "src", ok_source());
  f.host->add_plugin("analyzers", "fn", fives());
  f.host->add_plugin("sinks", "rec", hung, [fresh]() -> sdk::Result<std::shared_ptr<sdk::Plugin>> {
    return std::shared_ptr<sdk::Plugin>(fresh);
  });
  f.start(R"(plugins: {restartBackoff: {initial: 100ms, max: 1s}}
sources: {src: {}}
analyzers: {fn: {}}
sinks: {rec: {}}
pipelines:
  p: {interval: 100ms, idleCheckInterval: 0, deadlines: {publish: 100ms}, source: src, analyzers: [fn], sinks: [rec]}
)");
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(fresh->mutex);
    return !fresh->batches.empty();
  })) << "the fresh sink got no batch";
  {
    std::lock_guard lock(fresh->mutex);
    const auto& batch = fresh->batches.front();
    ASSERT_EQ(batch.size(), 2u) << "every model's decision";
    for (const auto& d : batch) EXPECT_EQ(d.desired, 5);
  }
  {
    std::lock_guard lock(f.mutex);
    const auto& first = f.outcomes["p"].front();
    ASSERT_FALSE(first.errors.empty());
    EXPECT_NE(first.errors.back().find("sinks/rec did not return within 100 ms"), std::string::npos)
        << first.errors.back();
  }
  gate->release();
  EXPECT_TRUE(eventually([&] { return hung->seen.load() == 2; })) << "the abandoned publish read an intact batch";
}

}  // namespace
}  // namespace wva::framework
