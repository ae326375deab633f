// The cycle: concurrency across models, holding decisions on failure, containment, clamping.
#include <gtest/gtest.h>

#include <spdlog/sinks/null_sink.h>

#include <map>
#include <random>
#include <span>

#include "host/clock.h"
#include "host/cycle.h"
#include "host/loader.h"
#include "host/logger.h"
#include "host/metrics_registry.h"
#include "in_process_plugins.h"

namespace wva::framework {
namespace {

using testing::FnAnalyzer;
using testing::RecordingSink;
using testing::ScriptedSource;

struct Fixture {
  WorkerPool pool{4};
  DecisionMemory memory;
  WallClock clock;
  SpdLogger log{std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()), ""};
  MetricsRegistryImpl metrics;
  CycleServices services() { return {&pool, &memory, &clock, &log, &metrics, std::chrono::seconds(1)}; }
};

PipelineRuntime runtime(sdk::Source* source, std::vector<std::pair<std::string, sdk::Analyzer*>> analyzers,
                        sdk::Sink* sink, std::pair<std::string, sdk::Combiner*> combiner = testing::first_combiner()) {
  PipelineRuntime rt;
  rt.config.name = "test";
  rt.config.combine = combiner.first;
  rt.combiner = combiner;
  rt.source = {"src", source};
  rt.analyzers = std::move(analyzers);
  rt.sinks = {{"sink", sink}};
  return rt;
}

ScriptedSource all_ok() {
  return ScriptedSource([](std::span<const sdk::ModelView> models) {
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key] = testing::ok_metrics();
    return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
  });
}

// Each analyze() call waits (bounded) until `want` calls are inside at once. Run sequentially, the first
// call would wait out its timeout and the peak would stay 1; run concurrently, the peak reaches `want`.
class RendezvousAnalyzer : public testing::PluginBase, public sdk::Analyzer {
 public:
  explicit RendezvousAnalyzer(int want) : want_(want) {}
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& m, const sdk::Recommendation*) override {
    std::unique_lock lock(mutex_);
    ++inside_;
    peak_ = std::max(peak_, inside_);
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return peak_ >= want_; });
    --inside_;
    sdk::Recommendation rec;
    rec.targets.push_back({m.variants[0].name, 1, "rendezvous"});
    return rec;
  }
  int peak() {
    std::lock_guard lock(mutex_);
    return peak_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int want_;
  int inside_ = 0;
  int peak_ = 0;
};

TEST(Cycle, AnalyzerChainsOfDifferentModelsRunConcurrently) {
  Fixture f;
  auto source = all_ok();
  RendezvousAnalyzer analyzer(3);
  RecordingSink sink;
  auto rt = runtime(&source, {{"rv", &analyzer}}, &sink);
  std::vector<sdk::ModelView> models = {testing::model("ns", "a", {"a-1"}), testing::model("ns", "b", {"b-1"}),
                                        testing::model("ns", "c", {"c-1"})};
  auto outcome = run_cycle(rt, models, {}, f.services());
  EXPECT_EQ(analyzer.peak(), 3);
  EXPECT_EQ(outcome.decisions.size(), 3u);
  EXPECT_EQ(source.calls.load(), 1);   // one batched collect for all models
  ASSERT_EQ(sink.batches.size(), 1u);  // one batched publish
}

TEST(Cycle, SourceOutageHoldsLastDecisionsAndSaysWhy) {
  Fixture f;
  bool prometheus_up = true;
  ScriptedSource source(
      [&](std::span<const sdk::ModelView> models) -> sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> {
        if (!prometheus_up)
          return sdk::Error{sdk::ErrorCode::kUnavailable, "Failed to get metrics from Prometheus: connection refused",
                            "", "PrometheusError"};  // the source's own reason: the host copies it
        std::map<sdk::ModelKey, sdk::ModelMetrics> out;
        for (const auto& m : models) out[m.key] = testing::ok_metrics();
        return out;
      });
  FnAnalyzer analyzer("sat", [](const sdk::ModelView&, const sdk::Variant&) { return std::optional<int>(5); });
  RecordingSink sink;
  auto rt = runtime(&source, {{"sat", &analyzer}}, &sink);
  const auto models = std::vector{testing::model("ns", "m", {"v"}, 2)};

  auto first = run_cycle(rt, models, {}, f.services());
  ASSERT_EQ(first.decisions.at(0).desired, 5);
  EXPECT_FALSE(first.decisions.at(0).held);

  prometheus_up = false;
  auto second = run_cycle(rt, models, {}, f.services());
  const auto& d = second.decisions.at(0);
  EXPECT_EQ(d.desired, 5);  // held, not min, not current, not 0
  EXPECT_TRUE(d.held);
  EXPECT_NE(d.reason.find("holding last decision"), std::string::npos) << d.reason;
  bool saw_condition = false;
  for (const auto& c : d.all_conditions())
    if (c.type == "MetricsAvailable") {
      saw_condition = true;
      EXPECT_EQ(c.status, "False");
      EXPECT_EQ(c.reason, "PrometheusError");
      EXPECT_NE(c.message.find("Failed to get metrics from Prometheus"), std::string::npos);
    }
  EXPECT_TRUE(saw_condition);
  EXPECT_EQ(second.errors.size(), 1u);
  EXPECT_EQ(
      f.metrics.value("wva_plugin_errors_total", {{"pipeline", "test"}, {"stage", "collect"}, {"instance", "src"}}),
      1.0);
  ASSERT_EQ(sink.batches.size(), 2u);  // held decisions are still published (gauges keep their value)
}

TEST(Cycle, WithoutAnyPreviousDecisionAFailureKeepsCurrentReplicas) {
  Fixture f;
  ScriptedSource source([](std::span<const sdk::ModelView>) -> sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> {
    return sdk::make_error(sdk::ErrorCode::kTimeout, "deadline exceeded");
  });
  FnAnalyzer analyzer("sat", [](const sdk::ModelView&, const sdk::Variant&) { return std::optional<int>(9); });
  RecordingSink sink;
  auto rt = runtime(&source, {{"sat", &analyzer}}, &sink);
  auto m = testing::model("ns", "m", {"v"}, 3);
  m.variants[0].min_replicas = 1;
  auto outcome = run_cycle(rt, {m}, {}, f.services());
  EXPECT_EQ(outcome.decisions.at(0).desired, 3);
  EXPECT_TRUE(outcome.decisions.at(0).held);
}

TEST(Cycle, PerModelSourceErrorHoldsOnlyThatModel) {
  Fixture f;
  ScriptedSource source([](std::span<const sdk::ModelView> models) {
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) {
      out[m.key] = testing::ok_metrics();
      if (m.key.model_id == "broken") out[m.key].state = sdk::MetricsState::kError;
    }
    return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
  });
  FnAnalyzer analyzer("sat", [](const sdk::ModelView&, const sdk::Variant&) { return std::optional<int>(4); });
  RecordingSink sink;
  auto rt = runtime(&source, {{"sat", &analyzer}}, &sink);
  auto outcome = run_cycle(rt, {testing::model("ns", "fine", {"f"}, 2), testing::model("ns", "broken", {"b"}, 2)}, {},
                           f.services());
  ASSERT_EQ(outcome.decisions.size(), 2u);
  EXPECT_EQ(outcome.decisions[0].desired, 4);
  EXPECT_FALSE(outcome.decisions[0].held);
  EXPECT_EQ(outcome.decisions[1].desired, 2);
  EXPECT_TRUE(outcome.decisions[1].held);
}

TEST(Cycle, ThrowingAnalyzerPluginIsContained) {
  Fixture f;
  auto lib = PluginLibrary::open(std::filesystem::path(WVA_TEST_PLUGIN_DIR) / "libtest-throwing-analyzer.so");
  ASSERT_TRUE(lib.ok()) << lib.error().message;
  auto object = lib.value()->create().value();
  auto source = all_ok();
  RecordingSink sink;
  auto rt = runtime(&source, {{"thrower", object->as_analyzer()}}, &sink);
  auto outcome = run_cycle(rt, {testing::model("ns", "m", {"v"}, 2)}, {}, f.services());
  ASSERT_EQ(outcome.decisions.size(), 1u);
  EXPECT_TRUE(outcome.decisions[0].held);
  EXPECT_EQ(outcome.decisions[0].desired, 2);
  ASSERT_EQ(outcome.errors.size(), 1u);
  EXPECT_NE(outcome.errors[0].find("analyzer bug"), std::string::npos) << outcome.errors[0];
  EXPECT_NE(outcome.errors[0].find("thrower"), std::string::npos) << outcome.errors[0];
}

TEST(Cycle, TargetsAreClampedToMinAndMaxWithAReason) {
  Fixture f;
  auto source = all_ok();
  FnAnalyzer analyzer(
      "sat", [](const sdk::ModelView&, const sdk::Variant& v) { return std::optional<int>(v.name == "big" ? 50 : 0); });
  RecordingSink sink;
  auto rt = runtime(&source, {{"sat", &analyzer}}, &sink);
  auto m = testing::model("ns", "m", {"big", "small"}, 2);
  m.variants[0].max_replicas = 8;
  m.variants[1].min_replicas = 1;
  auto outcome = run_cycle(rt, {m}, {}, f.services());
  EXPECT_EQ(outcome.decisions[0].desired, 8);
  EXPECT_NE(outcome.decisions[0].reason.find("clamped"), std::string::npos);
  EXPECT_EQ(outcome.decisions[1].desired, 1);
}

TEST(Cycle, DecisionsCarryTheTrailOfEveryAnalyzer) {
  Fixture f;
  auto source = all_ok();
  FnAnalyzer a("a", [](const sdk::ModelView&, const sdk::Variant&) { return std::optional<int>(3); });
  FnAnalyzer b("b", [](const sdk::ModelView&, const sdk::Variant&) { return std::nullopt; });
  RecordingSink sink;
  auto rt = runtime(&source, {{"a", &a}, {"b", &b}}, &sink, testing::max_combiner());
  auto outcome = run_cycle(rt, {testing::model("ns", "m", {"v"}, 2)}, {}, f.services());
  const auto& d = outcome.decisions.at(0);
  ASSERT_EQ(d.trail.size(), 2u);
  EXPECT_EQ(d.trail[0].analyzer, "a");
  EXPECT_EQ(d.trail[0].replicas, 3);
  EXPECT_EQ(d.trail[1].replicas, std::nullopt);
  EXPECT_EQ(d.analyzer, "a");
  EXPECT_EQ(d.desired, 3);
}

// Takes the last recommendation with an opinion; fails for models whose ID ends in '3' (a per-model
// combine error, which holds that model alone).
class PickyCombiner : public sdk::Combiner {
 public:
  sdk::Result<sdk::Recommendation> combine(const sdk::ModelView& m, std::span<const sdk::ChainLink> chain) override {
    if (m.key.model_id.back() == '3')
      return sdk::make_error(sdk::ErrorCode::kInternal, "no rule for " + m.key.model_id);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      if (it->recommendation->has_opinion) return *it->recommendation;
    sdk::Recommendation none;
    none.has_opinion = false;
    return none;
  }
};

void expect_same_decisions(const std::vector<sdk::Decision>& got, const std::vector<sdk::Decision>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& a = got[i];
    const auto& b = want[i];
    const std::string where = a.model.to_string() + "/" + a.variant;
    EXPECT_EQ(a.model, b.model) << where;
    EXPECT_EQ(a.variant, b.variant) << where;
    EXPECT_EQ(a.va_name, b.va_name) << where;
    EXPECT_EQ(a.accelerator, b.accelerator) << where;
    EXPECT_EQ(a.current, b.current) << where;
    EXPECT_EQ(a.desired, b.desired) << where;
    EXPECT_EQ(a.reason, b.reason) << where;
    EXPECT_EQ(a.analyzer, b.analyzer) << where;
    EXPECT_EQ(a.held, b.held) << where;
    ASSERT_EQ(a.trail.size(), b.trail.size()) << where;
    for (std::size_t k = 0; k < a.trail.size(); ++k) {
      EXPECT_EQ(a.trail[k].analyzer, b.trail[k].analyzer) << where;
      EXPECT_EQ(a.trail[k].replicas, b.trail[k].replicas) << where;
      EXPECT_EQ(a.trail[k].reason, b.trail[k].reason) << where;
    }
    const auto ca = a.all_conditions(), cb = b.all_conditions();
    ASSERT_EQ(ca.size(), cb.size()) << where;
    for (std::size_t k = 0; k < ca.size(); ++k) {
      EXPECT_EQ(ca[k].type, cb[k].type) << where;
      EXPECT_EQ(ca[k].status, cb[k].status) << where;
      EXPECT_EQ(ca[k].reason, cb[k].reason) << where;
      EXPECT_EQ(ca[k].message, cb[k].message) << where;
    }
  }
}

TEST(Cycle, DecidingInBatchesDecidesAsOneModelAtATime) {
  // More models than one combine-and-decide batch holds, with every path a model can take: targets,
  // clamps, no opinion, a source error, a combine error; the second cycle holds from the first's memory.
  // The fleet in one cycle decides as each model in a cycle of its own.
  std::mt19937 rng(20261206);
  std::vector<sdk::ModelView> fleet;
  std::map<std::string, int> says;  // variant -> analyzer "a"'s target (absent: no opinion)
  for (int i = 0; i < 700; ++i) {
    const std::string id = "m" + std::to_string(i);
    auto m = testing::model("ns-" + std::to_string(i % 5), id, {id + "-a", id + "-b"}, 1 + static_cast<int>(rng() % 4));
    m.variants[1].max_replicas = 3;
    for (const auto& v : m.variants)
      if (rng() % 5 != 0) says[v.name] = static_cast<int>(rng() % 7);
    fleet.push_back(std::move(m));
  }
  int cycle = 0;
  ScriptedSource source([&](std::span<const sdk::ModelView> models) {
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) {
      out[m.key] = testing::ok_metrics();
      if (cycle == 1 && m.key.model_id.back() == '7') out[m.key].state = sdk::MetricsState::kError;
    }
    return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
  });
  FnAnalyzer a("a", [&](const sdk::ModelView&, const sdk::Variant& v) {
    auto it = says.find(v.name);
    return it == says.end() ? std::nullopt : std::optional<int>(it->second);
  });
  FnAnalyzer b("b", [](const sdk::ModelView&, const sdk::Variant& v) {
    return v.name.back() == 'b' ? std::optional<int>(2) : std::nullopt;
  });
  PickyCombiner combiner;
  RecordingSink sink;
  auto rt = runtime(&source, {{"a", &a}, {"b", &b}}, &sink, {"picky", &combiner});
  Fixture together, alone;
  for (cycle = 0; cycle < 2; ++cycle) {
    auto outcome = run_cycle(rt, fleet, {}, together.services());
    std::vector<sdk::Decision> one_by_one;
    for (const auto& m : fleet) {
      auto single = run_cycle(rt, {m}, {}, alone.services());
      for (auto& d : single.decisions) one_by_one.push_back(std::move(d));
    }
    for (auto& d : outcome.decisions) d.time = {};
    for (auto& d : one_by_one) d.time = {};
    expect_same_decisions(outcome.decisions, one_by_one);
    std::size_t held = 0;
    for (const auto& d : outcome.decisions) held += d.held ? 1 : 0;
    EXPECT_GT(held, 100u) << "cycle " << cycle;  // the failing paths were taken
  }
}

}  // namespace
}  // namespace wva::framework
