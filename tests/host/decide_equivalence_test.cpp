// decide() against the former one (tests/host/reference_decide.*) over random models and cycles: every
// decision reads the same, field by field, with the same conditions in the same order, and the same JSON
// (`--output json`, the log sink); and the conditions a model's variants have in common are held once.
#include <gtest/gtest.h>

#include <random>

#include "host/decide.h"
#include "reference_decide.h"
#include "wva/sdk/util/json.h"

namespace wva::framework {
namespace {

bool same_condition(const sdk::Condition& a, const sdk::Condition& b) {
  return a.type == b.type && a.status == b.status && a.reason == b.reason && a.message == b.message;
}

bool same_trail(const std::vector<sdk::TrailEntry>& a, const std::vector<sdk::TrailEntry>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const sdk::TrailEntry& x, const sdk::TrailEntry& y) {
    return x.analyzer == y.analyzer && x.replicas == y.replicas && x.reason == y.reason;
  });
}

// What one random model's cycle produced.
struct Draw {
  sdk::ModelView model;
  std::vector<sdk::Recommendation> chain;
  CombinedTargets targets;
  bool analyzed = false;
  std::optional<Hold> hold;
  std::string disabled;
};

class Drawer {
 public:
  explicit Drawer(unsigned seed) : rng_(seed) {}
  std::size_t pick(std::size_t n) { return rng_() % n; }
  bool chance(unsigned in) { return rng_() % in == 0; }
  std::string words() {
    static const char* const kWords[] = {
        "",        "kv cache 0.91 above 0.80", sdk::kMetricsMissingMessage, "spare capacity",
        "no pods", "ITL target below alpha"};
    return kWords[pick(std::size(kWords))];
  }
  sdk::Condition condition() {
    static const char* const kTypes[] = {"TargetResolved", "SLOFeasible", "CapacityKnown"};
    static const char* const kStatuses[] = {"True", "False", "Unknown"};
    return {kTypes[pick(3)], kStatuses[pick(3)], chance(4) ? "" : "Why", words()};
  }
  Draw draw(int model_index) {
    Draw d;
    d.model.key = {"ns-" + std::to_string(model_index % 3), "model-" + std::to_string(model_index % 7)};
    d.model.va_name = chance(5) ? "" : "va-" + std::to_string(model_index % 7);
    const std::size_t variants = pick(4);
    for (std::size_t v = 0; v < variants; ++v) {
      sdk::Variant var;
      var.name = d.model.key.model_id + "-variant-" + std::to_string(v);
      var.accelerator = chance(3) ? "" : "H100";
      var.current_replicas = static_cast<int>(pick(5));
      var.min_replicas = static_cast<int>(pick(3));
      if (!chance(3)) var.max_replicas = var.min_replicas + static_cast<int>(pick(4));
      var.hpa_bounded = chance(2);
      d.model.variants.push_back(var);
    }
    const auto states = {sdk::MetricsState::kOk, sdk::MetricsState::kNoData, sdk::MetricsState::kStale,
                         sdk::MetricsState::kError};
    d.model.metrics.state = *(states.begin() + pick(4));
    d.model.metrics.message = words();
    d.model.metrics.reason = chance(2) ? "" : "PrometheusError";
    const std::size_t analyzers = pick(3);
    for (std::size_t a = 0; a < analyzers; ++a) {
      sdk::Recommendation rec;
      rec.analyzer = a == 0 ? "saturation" : "queueing-analyzer-" + std::to_string(a);
      rec.has_opinion = !chance(4);
      rec.reason = words();
      for (const auto& v : d.model.variants)
        if (!chance(3)) rec.targets.push_back({v.name, static_cast<int>(pick(8)), words()});
      for (std::size_t c = pick(3); c > 0; --c) rec.conditions.push_back(condition());
      d.chain.push_back(std::move(rec));
    }
    d.analyzed = chance(2);
    if (d.analyzed)
      for (const auto& v : d.model.variants)
        if (!chance(3)) d.targets[v.name] = {static_cast<int>(pick(9)), chance(2) ? "saturation" : "queueing", words()};
    if (chance(4)) d.hold = Hold{chance(2) ? "AnalyzerHung" : "OptimizationFailed", words()};
    if (chance(8)) d.disabled = "sources/prometheus failed to start";
    return d;
  }

 private:
  std::mt19937 rng_;
};

TEST(DecideEquivalence, DecisionsReadAsTheFormerOnesOverRandomCycles) {
  Drawer draw(1206);
  DecisionMemory memory, reference_memory;
  const sdk::TimePoint now = sdk::Clock_t::from_time_t(1780000000);
  std::size_t held = 0, targeted = 0;
  for (int cycle = 0; cycle < 40; ++cycle) {
    std::vector<sdk::Decision> decisions, former;
    for (int m = 0; m < 50; ++m) {
      const Draw d = draw.draw(m);
      const std::size_t first = decisions.size();
      decide(d.model, d.chain, d.targets, d.analyzed, d.hold, d.disabled, memory, now, decisions);
      reference::decide(d.model, d.chain, d.targets, d.analyzed, d.hold, d.disabled, reference_memory, now, former);
      // The variants' common conditions are one vector per model, not one per decision.
      for (std::size_t i = first; i + 1 < decisions.size(); ++i) {
        if (decisions[i].held && decisions[i + 1].held) {
          EXPECT_EQ(decisions[i].shared_conditions.get(), decisions[i + 1].shared_conditions.get());
        }
      }
    }
    ASSERT_EQ(decisions.size(), former.size());
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      const sdk::Decision& a = decisions[i];
      const sdk::Decision& b = former[i];
      SCOPED_TRACE("cycle " + std::to_string(cycle) + " decision " + std::to_string(i));
      EXPECT_EQ(a.model, b.model);
      EXPECT_EQ(a.variant, b.variant);
      EXPECT_EQ(a.va_name, b.va_name);
      EXPECT_EQ(a.accelerator, b.accelerator);
      EXPECT_EQ(a.current, b.current);
      EXPECT_EQ(a.desired, b.desired);
      EXPECT_EQ(a.reason, b.reason);
      EXPECT_EQ(a.analyzer, b.analyzer);
      EXPECT_EQ(a.held, b.held);
      EXPECT_EQ(a.time, b.time);
      EXPECT_TRUE(same_trail(a.trail, b.trail));
      ASSERT_EQ(b.shared_conditions, nullptr);
      const std::vector<sdk::Condition> all = a.all_conditions();
      EXPECT_EQ(a.condition_count(), b.conditions.size());
      EXPECT_TRUE(std::equal(all.begin(), all.end(), b.conditions.begin(), b.conditions.end(), same_condition));
      (a.held ? held : targeted) += 1;
    }
    EXPECT_EQ(sdk::dump_decisions(decisions), sdk::dump_decisions(former));
  }
  // Both kinds were drawn, and the memories agree on what they remembered.
  EXPECT_GT(held, 100u);
  EXPECT_GT(targeted, 100u);
  for (int m = 0; m < 7; ++m)
    for (int v = 0; v < 3; ++v) {
      const sdk::ModelKey key{"ns-" + std::to_string(m % 3), "model-" + std::to_string(m)};
      const std::string variant = key.model_id + "-variant-" + std::to_string(v);
      EXPECT_EQ(memory.last_desired(key, variant), reference_memory.last_desired(key, variant));
    }
}

// A held model's decisions share one vector of conditions; a variant with a target keeps only its own
// OptimizationReady and shares the rest.
TEST(Decide, HeldVariantsShareTheModelsConditions) {
  sdk::ModelView model;
  model.key = {"ns", "m"};
  model.va_name = "va";
  for (const char* name : {"a", "b", "c"}) model.variants.push_back(sdk::Variant{.name = name, .current_replicas = 2});
  model.metrics.state = sdk::MetricsState::kNoData;
  DecisionMemory memory;
  std::vector<sdk::Decision> out;
  decide(model, {}, {}, false, std::nullopt, "", memory, {}, out);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& d : out) {
    EXPECT_TRUE(d.held);
    EXPECT_EQ(d.desired, 2);
    EXPECT_TRUE(d.conditions.empty());
    EXPECT_EQ(d.shared_conditions.get(), out[0].shared_conditions.get());
    EXPECT_EQ(d.reason, std::string("keeping current replicas (") + sdk::kMetricsMissingMessage + ")");
    EXPECT_EQ(d.reason.capacity(), d.reason.size());  // built to its size, not grown by operator+
  }
  ASSERT_EQ(out[0].condition_count(), 2u);
  const auto all = out[0].all_conditions();
  EXPECT_EQ(all[0].type, "MetricsAvailable");
  EXPECT_EQ(all[1].type, "OptimizationReady");
  EXPECT_EQ(all[1].message, sdk::kMetricsMissingMessage);

  out.clear();
  model.metrics.state = sdk::MetricsState::kOk;
  decide(model, {}, CombinedTargets{{"b", {3, "saturation", "kv cache high"}}}, true, std::nullopt, "", memory, {},
         out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FALSE(out[1].held);
  ASSERT_EQ(out[1].conditions.size(), 1u);
  EXPECT_EQ(out[1].conditions[0].message, "kv cache high");
  EXPECT_EQ(out[1].shared_conditions->size(), 1u);  // MetricsAvailable
  EXPECT_TRUE(out[0].held);
  EXPECT_EQ(out[0].shared_conditions.get(), out[2].shared_conditions.get());
  EXPECT_EQ(out[0].condition_count(), 2u);  // MetricsAvailable, OptimizationReady=False
}

TEST(Decide, AClampSaysItsBoundsAndTheHpaThatSetThem) {
  sdk::ModelView model;
  model.key = {"llm", "m"};
  model.va_name = "va";
  model.variants.push_back(sdk::Variant{.name = "a", .current_replicas = 2, .min_replicas = 1, .max_replicas = 4});
  model.variants.push_back(
      sdk::Variant{.name = "b", .current_replicas = 2, .min_replicas = 1, .hpa_bounded = true, .max_replicas = 12});
  model.metrics.state = sdk::MetricsState::kOk;
  DecisionMemory memory;
  std::vector<sdk::Decision> out;
  decide(model, {}, CombinedTargets{{"a", {9, "capacity", "demand"}}, {"b", {20, "capacity", "demand"}}}, true,
         std::nullopt, "", memory, {}, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].desired, 4);
  EXPECT_EQ(out[0].reason, "demand (clamped to [1, 4])");  // the VA's own bounds: no HPA to name
  EXPECT_EQ(out[1].desired, 12);
  EXPECT_EQ(out[1].reason, "demand (clamped to [1, 12] by the HorizontalPodAutoscaler of Deployment llm/b)");
  // Within the bounds nothing is said.
  out.clear();
  decide(model, {}, CombinedTargets{{"b", {7, "capacity", "demand"}}}, true, std::nullopt, "", memory, {}, out);
  EXPECT_EQ(out[1].reason, "demand");
}

}  // namespace
}  // namespace wva::framework
