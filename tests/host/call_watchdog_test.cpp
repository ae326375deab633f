// Deadlines on plugin calls (issue 14 item 9): a call that does not return within its budget is
// abandoned, the instance is not called again until it returns, and the cycle goes on: a hung collect()
// or combine() holds its pipeline's decisions instead of blocking the scheduler, a hung publish() loses no
// decision.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/sinks/null_sink.h>

#include "gate.h"
#include "host/call_watchdog.h"
#include "host/clock.h"
#include "host/cycle.h"
#include "host/logger.h"
#include "host/metrics_registry.h"
#include "in_process_plugins.h"

namespace wva::framework {
namespace {

using namespace std::chrono_literals;

using testing::Gate;

// Polls (bounded) until the watchdog no longer lists `instance`.
bool returned(const CallWatchdog& w, const std::string& instance) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    if (!w.hung_message(instance)) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST(CallWatchdog, CallsThatReturnInTimePassTheirResult) {
  CallWatchdog w;
  auto r = w.call<int>("sources/a", 5s, [] { return sdk::Result<int>(42); });
  EXPECT_FALSE(r.abandoned);
  ASSERT_TRUE(r.result.ok());
  EXPECT_EQ(r.result.value(), 42);
  auto thrown = w.call<int>("sources/a", 5s, []() -> sdk::Result<int> { throw std::runtime_error("boom"); });
  ASSERT_FALSE(thrown.result.ok());
  EXPECT_NE(thrown.result.error().message.find("boom"), std::string::npos);
  EXPECT_TRUE(w.hung_instances().empty());
}

TEST(CallWatchdog, AHungCallIsAbandonedAndItsInstanceNotCalledAgainUntilItReturns) {
  CallWatchdog w;
  auto gate = std::make_shared<Gate>();
  auto r = w.call<int>("sources/slow", 50ms, [gate] {
    gate->wait();
    return sdk::Result<int>(1);
  });
  EXPECT_TRUE(r.abandoned);
  ASSERT_FALSE(r.result.ok());
  EXPECT_EQ(r.result.error().code, sdk::ErrorCode::kTimeout);
  EXPECT_NE(r.result.error().message.find("did not return within 50 ms"), std::string::npos);
  ASSERT_TRUE(w.hung_message("sources/slow"));
  EXPECT_EQ(w.hung_instances(), std::vector<std::string>{"sources/slow"});

  // While it hangs: refused at once, the function is not run (no second thread piles up).
  std::atomic<int> runs{0};
  auto again = w.call<int>("sources/slow", 5s, [&runs] {
    ++runs;
    return sdk::Result<int>(2);
  });
  EXPECT_FALSE(again.abandoned);
  ASSERT_FALSE(again.result.ok());
  EXPECT_NE(again.result.error().message.find("is hung"), std::string::npos);
  EXPECT_EQ(runs.load(), 0);
  // Another instance is not affected.
  EXPECT_TRUE(w.call<int>("sources/other", 5s, [] { return sdk::Result<int>(3); }).result.ok());

  gate->release();
  ASSERT_TRUE(returned(w, "sources/slow"));
  auto after = w.call<int>("sources/slow", 5s, [] { return sdk::Result<int>(4); });
  ASSERT_TRUE(after.result.ok());
  EXPECT_EQ(after.result.value(), 4);
}

struct Fixture {
  WorkerPool pool{2};
  DecisionMemory memory;
  WallClock clock;
  SpdLogger log{std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()), ""};
  MetricsRegistryImpl metrics;
  CallWatchdog watchdog;
  CycleServices services() {
    CycleServices s{&pool, &memory, &clock, &log, &metrics, 100ms};
    s.watchdog = &watchdog;
    s.call_grace = 100ms;
    s.call_budget = 200ms;
    s.analyze_budget = 200ms;
    s.publish_budget = 200ms;
    return s;
  }
};

PipelineRuntime runtime(const std::shared_ptr<testing::ScriptedSource>& source,
                        const std::shared_ptr<testing::FnAnalyzer>& analyzer, const std::shared_ptr<sdk::Plugin>& sink,
                        sdk::Sink* sink_iface) {
  PipelineRuntime rt;
  rt.config.name = "p";
  rt.source = {"src", source.get()};
  rt.analyzers = {{"fn", analyzer.get()}};
  rt.sinks = {{"out", sink_iface}};
  rt.combiner = testing::first_combiner();
  rt.owners = {{"sources/src", source}, {"analyzers/fn", analyzer}, {"sinks/out", sink}};
  return rt;
}

TEST(CallWatchdog, AHungCollectHoldsThePipelineAndTheCycleReturns) {
  Fixture f;
  auto gate = std::make_shared<Gate>();
  auto hung = std::make_shared<testing::ScriptedSource>([gate](std::span<const sdk::ModelView> models) {
    gate->wait();  // never returns within the deadline
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key] = testing::ok_metrics();  // reads the models after the cycle moved on
    return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
  });
  auto analyzer = std::make_shared<testing::FnAnalyzer>(
      "fn", [](const sdk::ModelView&, const sdk::Variant&) { return std::optional<int>(5); });
  auto sink = std::make_shared<testing::RecordingSink>();
  const auto rt = runtime(hung, analyzer, sink, sink.get());
  f.memory.remember(sdk::Decision{{"ns", "m"}, "v", "m", "H100", 2, 3, "earlier", "fn", false, {}, {}, {}});

  const auto started = std::chrono::steady_clock::now();
  auto outcome = run_cycle(rt, {testing::model("ns", "m", {"v"})}, {}, f.services());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "the cycle waited for the hung collect";
  ASSERT_EQ(outcome.decisions.size(), 1u);
  EXPECT_TRUE(outcome.decisions[0].held);
  EXPECT_EQ(outcome.decisions[0].desired, 3) << "the last decision, not the analyzer's 5";
  ASSERT_FALSE(outcome.errors.empty());
  EXPECT_NE(outcome.errors[0].find("did not return within 200 ms"), std::string::npos) << outcome.errors[0];
  EXPECT_EQ((*outcome.models)[0].metrics.state, sdk::MetricsState::kError);

  // The next cycle does not call it again (one hung thread, not one per cycle).
  auto next = run_cycle(rt, {testing::model("ns", "m", {"v"})}, {}, f.services());
  EXPECT_EQ(hung->calls.load(), 1);
  ASSERT_FALSE(next.errors.empty());
  EXPECT_NE(next.errors[0].find("is hung"), std::string::npos) << next.errors[0];
  EXPECT_EQ(sink->batches.size(), 2u) << "the sinks still published the held decisions";

  gate->release();
  ASSERT_TRUE(returned(f.watchdog, "sources/src"));
  auto recovered = run_cycle(rt, {testing::model("ns", "m", {"v"})}, {}, f.services());
  EXPECT_TRUE(recovered.errors.empty());
  EXPECT_EQ(recovered.decisions[0].desired, 5);
}

// publish() blocks until the gate opens.
class HungSink : public testing::PluginBase, public sdk::Sink {
 public:
  explicit HungSink(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  sdk::Sink* as_sink() override { return this; }
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override {
    gate_->wait();
    seen = batch.decisions.size();  // the batch's data must still be alive after the cycle returned
    return sdk::ok();
  }
  std::atomic<std::size_t> seen{0};

 private:
  std::shared_ptr<Gate> gate_;
};

TEST(CallWatchdog, AHungPublishLosesNoDecision) {
  Fixture f;
  auto gate = std::make_shared<Gate>();
  auto source = std::make_shared<testing::ScriptedSource>([](std::span<const sdk::ModelView> models) {
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key] = testing::ok_metrics();
    return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
  });
  auto analyzer = std::make_shared<testing::FnAnalyzer>(
      "fn", [](const sdk::ModelView&, const sdk::Variant&) { return std::optional<int>(4); });
  auto sink = std::make_shared<HungSink>(gate);
  const auto rt = runtime(source, analyzer, sink, sink.get());
  auto outcome = run_cycle(rt, {testing::model("ns", "a", {"v"}), testing::model("ns", "b", {"w"})}, {}, f.services());
  ASSERT_EQ(outcome.decisions.size(), 2u);
  EXPECT_EQ(outcome.decisions[0].desired, 4);
  EXPECT_EQ(outcome.models->size(), 2u);
  ASSERT_EQ(outcome.errors.size(), 1u);
  EXPECT_NE(outcome.errors[0].find("publish out"), std::string::npos) << outcome.errors[0];
  gate->release();
  ASSERT_TRUE(returned(f.watchdog, "sinks/out"));
  EXPECT_EQ(sink->seen.load(), 2u) << "the abandoned publish read an intact batch";
}

// combine() blocks until the gate opens, then says what the first link says.
class HungCombiner : public testing::PluginBase, public sdk::Combiner {
 public:
  explicit HungCombiner(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  sdk::Combiner* as_combiner() override { return this; }
  sdk::Result<sdk::Recommendation> combine(const sdk::ModelView& model,
                                           std::span<const sdk::ChainLink> chain) override {
    ++calls;
    gate_->wait();
    (void)model.key.to_string();  // the model must still be alive after the cycle returned
    return *chain.front().recommendation;
  }
  std::atomic<int> calls{0};

 private:
  std::shared_ptr<Gate> gate_;
};

TEST(CallWatchdog, AHungCombinerHoldsThePipelineAndTheCycleReturns) {
  Fixture f;
  auto gate = std::make_shared<Gate>();
  auto source = std::make_shared<testing::ScriptedSource>([](std::span<const sdk::ModelView> models) {
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key] = testing::ok_metrics();
    return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
  });
  auto analyzer = std::make_shared<testing::FnAnalyzer>(
      "fn", [](const sdk::ModelView&, const sdk::Variant&) { return std::optional<int>(5); });
  auto sink = std::make_shared<testing::RecordingSink>();
  auto combiner = std::make_shared<HungCombiner>(gate);
  auto rt = runtime(source, analyzer, sink, sink.get());
  rt.combiner = {"slow", combiner.get()};
  rt.owners["combiners/slow"] = combiner;
  f.memory.remember(sdk::Decision{{"ns", "m"}, "v", "m", "H100", 2, 3, "earlier", "fn", false, {}, {}, {}});

  const auto started = std::chrono::steady_clock::now();
  auto outcome = run_cycle(rt, {testing::model("ns", "m", {"v"})}, {}, f.services());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "the cycle waited for the hung combiner";
  ASSERT_EQ(outcome.decisions.size(), 1u);
  EXPECT_TRUE(outcome.decisions[0].held);
  EXPECT_EQ(outcome.decisions[0].desired, 3) << "the last decision, not the analyzer's 5";
  ASSERT_FALSE(outcome.errors.empty());
  EXPECT_NE(outcome.errors[0].find("did not return within 200 ms"), std::string::npos) << outcome.errors[0];
  EXPECT_EQ(sink->batches.size(), 1u) << "the sinks still published the held decision";

  // The next cycle does not call it again while it hangs.
  auto next = run_cycle(rt, {testing::model("ns", "m", {"v"})}, {}, f.services());
  EXPECT_EQ(combiner->calls.load(), 1);
  ASSERT_FALSE(next.errors.empty());
  EXPECT_NE(next.errors[0].find("is hung"), std::string::npos) << next.errors[0];
  EXPECT_TRUE(next.decisions[0].held);

  gate->release();
  ASSERT_TRUE(returned(f.watchdog, "combiners/slow"));
  auto recovered = run_cycle(rt, {testing::model("ns", "m", {"v"})}, {}, f.services());
  EXPECT_TRUE(recovered.errors.empty());
  ASSERT_EQ(recovered.decisions.size(), 1u);
  EXPECT_EQ(recovered.decisions[0].desired, 5);
  EXPECT_FALSE(recovered.decisions[0].held);
}

}  // namespace
}  // namespace wva::framework
