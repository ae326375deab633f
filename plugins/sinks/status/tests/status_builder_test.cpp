// Pure logic of the status sink: grouping, conditions, the merge patch.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <vector>

#include "status_builder.h"

namespace wva::plugins::status {
namespace {

using nlohmann::json;
using sdk::Condition;
using sdk::Decision;
using sdk::MetricsState;
using sdk::ModelView;
using sdk::PublishBatch;

sdk::TimePoint at(long long secs) { return sdk::TimePoint{} + std::chrono::seconds(secs); }

Decision decision(const std::string& ns, const std::string& va, const std::string& variant, int current, int desired,
                  const std::string& acc = "H100") {
  Decision d;
  d.model = sdk::ModelKey{ns, "meta/llama"};
  d.va_name = va;
  d.variant = variant;
  d.accelerator = acc;
  d.current = current;
  d.desired = desired;
  d.analyzer = "saturation";
  d.reason = "kv cache saturated";
  return d;
}

ModelView model(const std::string& ns, const std::string& va, MetricsState state, std::string message = {}) {
  ModelView m;
  m.key = sdk::ModelKey{ns, "meta/llama"};
  m.va_name = va;
  sdk::Variant v;
  v.name = va + "-h100";
  v.va_name = va;
  m.variants.push_back(v);
  m.metrics.state = state;
  m.metrics.message = std::move(message);
  if (state == MetricsState::kError) m.metrics.reason = "PrometheusError";  // as the prometheus source says
  return m;
}

const Condition* find(const std::vector<Condition>& cs, const std::string& type) {
  for (const auto& c : cs)
    if (c.type == type) return &c;
  return nullptr;
}

const json* find(const json& conditions, const std::string& type) {
  for (const auto& c : conditions)
    if (c.value("type", "") == type) return &c;
  return nullptr;
}

TEST(MetricsCondition, MapsEachSourceState) {
  sdk::ModelMetrics m;
  m.state = MetricsState::kOk;
  auto c = metrics_condition(m);
  EXPECT_EQ(c.type, "MetricsAvailable");
  EXPECT_EQ(c.status, "True");
  EXPECT_EQ(c.reason, "MetricsFound");
  EXPECT_EQ(c.message, "Saturation metrics data is available for scaling decisions");

  m.state = MetricsState::kNoData;
  c = metrics_condition(m);
  EXPECT_EQ(c.status, "False");
  EXPECT_EQ(c.reason, "MetricsMissing");

  m.state = MetricsState::kStale;
  m.message = "newest sample is 7m old";
  c = metrics_condition(m);
  EXPECT_EQ(c.status, "False");
  EXPECT_EQ(c.reason, "MetricsStale");
  EXPECT_EQ(c.message, "newest sample is 7m old");

  m.state = MetricsState::kError;
  m.message = "Failed to get metrics from the metrics source: connection refused";
  c = metrics_condition(m);
  EXPECT_EQ(c.reason, "SourceError") << "a source that names no reason gets the generic one";
  m.reason = "PrometheusError";  // the source's own reason
  m.message = "Failed to get metrics from Prometheus: connection refused";
  c = metrics_condition(m);
  EXPECT_EQ(c.status, "False");
  EXPECT_EQ(c.reason, "PrometheusError");
  EXPECT_EQ(c.message, "Failed to get metrics from Prometheus: connection refused");
}

TEST(PlanUpdates, GroupsDecisionsByVaAndSortsVariants) {
  std::vector<Decision> ds = {decision("ns1", "llama", "llama-l40s", 2, 3, "L40S"),
                              decision("ns1", "llama", "llama-a100", 1, 1, "A100"),
                              decision("ns2", "llama", "llama-a100", 4, 2, "A100")};
  std::vector<ModelView> models = {model("ns1", "llama", MetricsState::kOk)};
  PublishBatch b;
  b.decisions = ds;
  b.models = models;
  auto plan = plan_updates(b);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].key.to_string(), "ns1/llama");
  ASSERT_EQ(plan[0].decisions.size(), 2u);
  EXPECT_EQ(plan[0].decisions[0].variant, "llama-a100");
  EXPECT_EQ(plan[0].decisions[1].variant, "llama-l40s");
  EXPECT_TRUE(plan[0].write_allocation);
  EXPECT_EQ(plan[1].key.to_string(), "ns2/llama");
  ASSERT_EQ(plan[1].decisions.size(), 1u);

  const auto& cs = plan[0].conditions;
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].type, "TargetResolved");
  EXPECT_EQ(cs[0].status, "True");
  EXPECT_EQ(cs[1].type, "MetricsAvailable");
  EXPECT_EQ(cs[1].reason, "MetricsFound");
  EXPECT_EQ(cs[2].type, "OptimizationReady");
  EXPECT_EQ(cs[2].status, "True");
  EXPECT_EQ(cs[2].reason, "OptimizationSucceeded");
  // ns2 has no ModelView in the batch: MetricsAvailable is not invented.
  EXPECT_EQ(find(plan[1].conditions, "MetricsAvailable"), nullptr);
}

TEST(PlanUpdates, WorstExplicitConditionWinsOverDerivedOnes) {
  auto a = decision("ns", "va", "va-a", 1, 2);
  auto b = decision("ns", "va", "va-b", 1, 1);
  a.conditions.push_back({"TargetResolved", "True", "TargetFound", "a found"});
  b.conditions.push_back({"TargetResolved", "False", "TargetNotFound", "Scale target Deployment va-b not found"});
  std::vector<Decision> ds = {a, b};
  std::vector<ModelView> models = {model("ns", "va", MetricsState::kOk)};
  PublishBatch batch;
  batch.decisions = ds;
  batch.models = models;
  auto plan = plan_updates(batch);
  ASSERT_EQ(plan.size(), 1u);
  const Condition* t = find(plan[0].conditions, "TargetResolved");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->status, "False");
  EXPECT_EQ(t->message, "Scale target Deployment va-b not found");
}

TEST(PlanUpdates, ResourceConditionWithoutDecisionWritesConditionsOnly) {
  std::vector<sdk::ResourceCondition> rc = {
      {"ns", "orphan", {"TargetResolved", "False", "TargetNotFound", "Scale target not found: Deployment x"}}};
  PublishBatch b;
  b.conditions = rc;
  auto plan = plan_updates(b);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_FALSE(plan[0].write_allocation);
  const Condition* opt = find(plan[0].conditions, "OptimizationReady");
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->status, "False");
  EXPECT_EQ(opt->reason, "SkippedProcessing");
  EXPECT_NE(opt->message.find("Scale target not found"), std::string::npos) << opt->message;

  auto patch = build_status_patch(plan[0], std::nullopt, at(100));
  EXPECT_FALSE(patch.contains("desiredOptimizedAlloc"));
  EXPECT_FALSE(patch.contains("variants"));
  ASSERT_NE(find(patch["conditions"], "TargetResolved"), nullptr);
}

TEST(PlanUpdates, HeldDecisionsWriteConditionsButNotTheAllocation) {
  auto d = decision("ns", "va", "va-a", 3, 3);
  d.held = true;
  d.reason = "analyzer saturation failed: no metrics";
  std::vector<Decision> ds = {d};
  std::vector<ModelView> models = {
      model("ns", "va", MetricsState::kError, "Failed to get metrics from Prometheus: timeout")};
  PublishBatch b;
  b.decisions = ds;
  b.models = models;
  auto plan = plan_updates(b);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_FALSE(plan[0].write_allocation);
  const Condition* m = find(plan[0].conditions, "MetricsAvailable");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->status, "False");
  EXPECT_EQ(m->reason, "PrometheusError");
  EXPECT_NE(m->message.find("Failed to get metrics from Prometheus"), std::string::npos);
  const Condition* o = find(plan[0].conditions, "OptimizationReady");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, "False");
  EXPECT_EQ(o->reason, "MetricsUnavailable");
  EXPECT_NE(o->message.find("analyzer saturation failed"), std::string::npos) << o->message;

  auto patch = build_status_patch(plan[0], std::nullopt, at(100));
  EXPECT_FALSE(patch.contains("desiredOptimizedAlloc"));
  EXPECT_EQ(patch["conditions"].size(), 3u);
}

TEST(PlanUpdates, AnalyzerConditionReasonIsSanitizedAndKept) {
  auto d = decision("ns", "va", "va-a", 1, 1);
  d.conditions.push_back({"OptimizationReady", "False", "queueing: SLO infeasible", "ITL target below alpha"});
  d.conditions.push_back({"bad type!", "True", "X", "dropped"});
  std::vector<Decision> ds = {d};
  PublishBatch b;
  b.decisions = ds;
  auto plan = plan_updates(b);
  ASSERT_EQ(plan.size(), 1u);
  const Condition* o = find(plan[0].conditions, "OptimizationReady");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, "False");
  EXPECT_EQ(o->reason, "Queueing:SLOInfeasible");
  EXPECT_EQ(find(plan[0].conditions, "bad type!"), nullptr);
  ASSERT_EQ(plan[0].problems.size(), 1u);
}

TEST(PlanUpdates, NegativeDesiredIsRefusedNotWritten) {
  std::vector<Decision> ds = {decision("ns", "va", "va-a", 1, -1)};
  PublishBatch b;
  b.decisions = ds;
  auto plan = plan_updates(b);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_TRUE(plan[0].decisions.empty());
  EXPECT_FALSE(plan[0].write_allocation);
  ASSERT_EQ(plan[0].problems.size(), 1u);
  EXPECT_NE(plan[0].problems[0].find("negative"), std::string::npos);
}

TEST(PlanUpdates, ModelWithoutDecisionStillReportsMetricsState) {
  std::vector<ModelView> models = {model("ns", "va", MetricsState::kNoData)};
  PublishBatch b;
  b.models = models;
  auto plan = plan_updates(b);
  ASSERT_EQ(plan.size(), 1u);
  const Condition* m = find(plan[0].conditions, "MetricsAvailable");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->reason, "MetricsMissing");
  EXPECT_FALSE(plan[0].write_allocation);
}

TEST(BuildStatusPatch, AllocationVariantsAndTimes) {
  std::vector<Decision> ds = {decision("ns", "va", "va-b", 2, 5, "L40S"), decision("ns", "va", "va-a", 1, 3, "")};
  PublishBatch b;
  b.decisions = ds;
  auto plan = plan_updates(b);
  ASSERT_EQ(plan.size(), 1u);
  json current = {{"metadata", {{"name", "va"}, {"namespace", "ns"}, {"generation", 7}}}};
  auto patch = build_status_patch(plan[0], current, at(1735689600));
  const json& alloc = patch["desiredOptimizedAlloc"];
  EXPECT_EQ(alloc["numReplicas"], 3);  // first variant by name: va-a
  EXPECT_TRUE(alloc["accelerator"].is_null()) << "unknown accelerator clears the field";
  EXPECT_EQ(alloc["lastRunTime"], "2025-01-01T00:00:00Z");
  ASSERT_EQ(patch["variants"].size(), 2u);
  EXPECT_EQ(patch["variants"][0]["name"], "va-a");
  EXPECT_FALSE(patch["variants"][0].contains("accelerator"));
  EXPECT_EQ(patch["variants"][1]["name"], "va-b");
  EXPECT_EQ(patch["variants"][1]["accelerator"], "L40S");
  EXPECT_EQ(patch["variants"][1]["currentReplicas"], 2);
  EXPECT_EQ(patch["variants"][1]["desiredReplicas"], 5);
  EXPECT_EQ(patch["variants"][1]["analyzer"], "saturation");
  for (const auto& c : patch["conditions"]) {
    EXPECT_EQ(c["observedGeneration"], 7);
    EXPECT_EQ(c["lastTransitionTime"], "2025-01-01T00:00:00Z");
  }
}

TEST(BuildStatusPatch, KeepsTransitionTimeWhenStatusUnchangedAndForeignConditions) {
  std::vector<Decision> ds = {decision("ns", "va", "va-a", 1, 1)};
  std::vector<ModelView> models = {model("ns", "va", MetricsState::kStale)};
  PublishBatch b;
  b.decisions = ds;
  b.models = models;
  auto plan = plan_updates(b);
  json current = {{"metadata", {{"generation", 2}}},
                  {"status",
                   {{"conditions",
                     {{{"type", "ScaleFromZero"},
                       {"status", "True"},
                       {"reason", "X"},
                       {"message", "m"},
                       {"lastTransitionTime", "2020-01-01T00:00:00Z"}},
                      {{"type", "TargetResolved"},
                       {"status", "True"},
                       {"reason", "TargetFound"},
                       {"message", "old"},
                       {"lastTransitionTime", "2024-06-01T00:00:00Z"}},
                      {{"type", "MetricsAvailable"},
                       {"status", "True"},
                       {"reason", "MetricsFound"},
                       {"message", "old"},
                       {"lastTransitionTime", "2024-06-01T00:00:00Z"}}}}}}};
  auto patch = build_status_patch(plan[0], current, at(1735689600));
  const json& cs = patch["conditions"];
  ASSERT_EQ(cs.size(), 4u);
  EXPECT_EQ(cs[0]["type"], "ScaleFromZero") << "foreign condition kept in place";
  EXPECT_EQ(cs[0]["lastTransitionTime"], "2020-01-01T00:00:00Z");
  EXPECT_EQ(cs[1]["type"], "TargetResolved");
  EXPECT_EQ(cs[1]["lastTransitionTime"], "2024-06-01T00:00:00Z") << "status unchanged: time kept";
  EXPECT_NE(cs[1]["message"], "old") << "message refreshed";
  EXPECT_EQ(cs[2]["type"], "MetricsAvailable");
  EXPECT_EQ(cs[2]["status"], "False");
  EXPECT_EQ(cs[2]["reason"], "MetricsStale");
  EXPECT_EQ(cs[2]["lastTransitionTime"], "2025-01-01T00:00:00Z") << "status changed: new time";
  EXPECT_EQ(cs[3]["type"], "OptimizationReady");
  EXPECT_EQ(cs[3]["lastTransitionTime"], "2025-01-01T00:00:00Z");
}

TEST(BuildStatusPatch, HeldVariantKeepsItsPreviousRunTime) {
  auto a = decision("ns", "va", "va-a", 1, 2);
  auto h = decision("ns", "va", "va-b", 1, 4);
  h.held = true;
  std::vector<Decision> ds = {a, h};
  PublishBatch b;
  b.decisions = ds;
  auto plan = plan_updates(b);
  ASSERT_TRUE(plan[0].write_allocation);
  json current = {
      {"status",
       {{"variants", {{{"name", "va-b"}, {"desiredReplicas", 4}, {"lastRunTime", "2024-12-31T23:59:00Z"}}}}}}};
  auto patch = build_status_patch(plan[0], current, at(1735689600));
  EXPECT_EQ(patch["variants"][0]["lastRunTime"], "2025-01-01T00:00:00Z");
  EXPECT_EQ(patch["variants"][1]["lastRunTime"], "2024-12-31T23:59:00Z");
  EXPECT_EQ(patch["variants"][1]["desiredReplicas"], 4);
}

TEST(Helpers, SanitizeReason) {
  EXPECT_EQ(sanitize_reason("OptimizationSucceeded", "F"), "OptimizationSucceeded");
  EXPECT_EQ(sanitize_reason("scale up: saturated", "F"), "ScaleUp:Saturated");
  EXPECT_EQ(sanitize_reason("123 go", "F"), "Go");
  EXPECT_EQ(sanitize_reason("ends,", "F"), "ends");
  EXPECT_EQ(sanitize_reason("!!!", "Fallback"), "Fallback");
  EXPECT_EQ(sanitize_reason("", "Fallback"), "Fallback");
  EXPECT_EQ(sanitize_reason(std::string(2000, 'a'), "F").size(), 1024u);
}

TEST(Helpers, ValidConditionType) {
  EXPECT_TRUE(valid_condition_type("MetricsAvailable"));
  EXPECT_TRUE(valid_condition_type("llmd.ai/Custom-Type"));
  EXPECT_FALSE(valid_condition_type(""));
  EXPECT_FALSE(valid_condition_type("has space"));
  EXPECT_FALSE(valid_condition_type("-leading"));
  EXPECT_FALSE(valid_condition_type("UPPER.Prefix/Type"));
  EXPECT_FALSE(valid_condition_type(std::string(64, 'a')));
}

TEST(Helpers, Rfc3339) {
  EXPECT_EQ(format_rfc3339(at(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(at(1735689600) + std::chrono::milliseconds(999)), "2025-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(at(1735776000 + 3661)), "2025-01-02T01:01:01Z");
}

// The model each VA's conditions come from, as the status sink looked it up before it indexed the batch:
// the model of its first (by variant) decision, else the first model in batch order naming the VA.
const ModelView* model_by_scan(const PublishBatch& batch, const VaUpdate& u) {
  if (!u.decisions.empty())
    for (const auto& m : batch.models)
      if (m.key == u.decisions.front().model) return &m;
  for (const auto& m : batch.models) {
    if (m.key.ns != u.key.ns) continue;
    if (m.va_name == u.key.name) return &m;
    for (const auto& v : m.variants)
      if (v.va_name == u.key.name) return &m;
  }
  return nullptr;
}

TEST(PlanUpdates, IndexedModelLookupMatchesAScanOnRandomBatches) {
  // Random batches with colliding keys, VAs named only by variants, decisions of models not in the
  // batch: every update's MetricsAvailable and TargetResolved come from the model a scan finds.
  std::mt19937 rng(61206);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (int round = 0; round < 200; ++round) {
    std::vector<ModelView> models;
    const int n = 1 + pick(12);
    for (int i = 0; i < n; ++i) {
      ModelView m;
      m.key = sdk::ModelKey{"ns" + std::to_string(pick(3)), "model-" + std::to_string(pick(5))};
      m.va_name = pick(4) == 0 ? "" : "va" + std::to_string(pick(6));
      for (int v = pick(3); v > 0; --v) {
        sdk::Variant var;
        var.name = "d" + std::to_string(i) + "-" + std::to_string(v);
        var.va_name = pick(2) == 0 ? "" : "va" + std::to_string(pick(6));
        m.variants.push_back(var);
      }
      m.metrics.state = MetricsState::kNoData;
      m.metrics.message = "model #" + std::to_string(i);  // names the model the condition came from
      models.push_back(m);
    }
    std::vector<Decision> ds;
    for (int k = pick(6); k > 0; --k) {
      Decision d = decision("ns" + std::to_string(pick(3)), "va" + std::to_string(pick(6)),
                            "v" + std::to_string(pick(4)), 1, 1 + pick(3));
      d.model.model_id = "model-" + std::to_string(pick(6));
      d.held = pick(3) == 0;
      ds.push_back(d);
    }
    PublishBatch b;
    b.pipeline = "p";
    b.models = models;
    b.decisions = ds;
    for (const auto& u : plan_updates(b)) {
      const ModelView* want = model_by_scan(b, u);
      const Condition* metrics = find(u.conditions, kMetricsAvailable);
      if (!want) {
        EXPECT_EQ(metrics, nullptr) << "round " << round << " " << u.key.to_string();
        continue;
      }
      ASSERT_NE(metrics, nullptr) << "round " << round << " " << u.key.to_string();
      EXPECT_EQ(metrics->message, metrics_condition(want->metrics).message)
          << "round " << round << " " << u.key.to_string();
      if (u.decisions.empty()) {
        const Condition* target = find(u.conditions, kTargetResolved);
        std::string names;
        for (const auto& v : want->variants)
          if (v.va_name == u.key.name || (v.va_name.empty() && want->va_name == u.key.name))
            names += (names.empty() ? "" : ", ") + v.name;
        if (names.empty()) {
          EXPECT_EQ(target, nullptr) << "round " << round;
        } else {
          ASSERT_NE(target, nullptr) << "round " << round;
          EXPECT_NE(target->message.find(names), std::string::npos) << target->message;
        }
      }
    }
  }
}

}  // namespace
}  // namespace wva::plugins::status
