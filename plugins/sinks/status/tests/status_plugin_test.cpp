// The status sink against the SDK's in-memory cluster.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <vector>

#include "status_plugin.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::status {
namespace {

using nlohmann::json;
using sdk::Decision;
using sdk::ErrorCode;
using sdk::MetricsState;
using sdk::ModelView;
using sdk::PublishBatch;
using sdk::testing::FakeContext;

const sdk::TimePoint kT0 = sdk::testing::ManualClock::default_start();  // 2025-01-01T00:00:00Z

json va_object(const std::string& ns, const std::string& name, long long generation = 1) {
  return {{"apiVersion", "llmd.ai/v1alpha1"},
          {"kind", "VariantAutoscaling"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"generation", generation}}},
          {"spec", {{"modelID", "meta/llama"}}}};
}

Decision decision(const std::string& ns, const std::string& va, const std::string& variant, int current, int desired) {
  Decision d;
  d.model = sdk::ModelKey{ns, "meta/llama"};
  d.va_name = va;
  d.variant = variant;
  d.accelerator = "H100";
  d.current = current;
  d.desired = desired;
  d.analyzer = "saturation";
  d.reason = "scale up";
  return d;
}

ModelView model(const std::string& ns, const std::string& va, MetricsState state, std::string message = {}) {
  ModelView m;
  m.key = sdk::ModelKey{ns, "meta/llama"};
  m.va_name = va;
  sdk::Variant v;
  v.name = va;
  v.va_name = va;
  m.variants.push_back(v);
  m.metrics.state = state;
  m.metrics.message = std::move(message);
  if (state == MetricsState::kError) m.metrics.reason = "PrometheusError";  // as the prometheus source says
  return m;
}

json status_of(FakeContext& ctx, const std::string& ns, const std::string& name) {
  auto obj = ctx.fake_cluster().get("VariantAutoscaling", ns, name);
  EXPECT_TRUE(obj.ok());
  EXPECT_TRUE(obj->has_value());
  return obj->has_value() ? obj->value().value("status", json::object()) : json();
}

const json* condition(const json& status, const std::string& type) {
  if (!status.contains("conditions")) return nullptr;
  for (const auto& c : status["conditions"])
    if (c.value("type", "") == type) return &c;
  return nullptr;
}

// A context whose cluster is a wrapper around the fake's, so a test can interpose on calls.
class WrappedCluster : public sdk::ClusterView {
 public:
  explicit WrappedCluster(sdk::ClusterView& inner) : inner_(inner) {}
  std::function<std::optional<sdk::Error>(int call, const std::string& ns, const std::string& name)> on_patch;
  int gets = 0;
  int versions = 0;
  int patch_calls = 0;

  std::string system_namespace() const override { return inner_.system_namespace(); }
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string& k, const std::string& ns) override {
    return inner_.list_shared(k, ns);
  }
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string& k, const std::string& ns,
                                              const std::string& n) override {
    ++gets;
    return inner_.get_shared(k, ns, n);
  }
  sdk::Result<std::optional<std::string>> object_version(const std::string& k, const std::string& ns,
                                                         const std::string& n) override {
    ++versions;
    return inner_.object_version(k, ns, n);
  }
  sdk::Result<void> patch_status(const std::string& k, const std::string& ns, const std::string& n,
                                 const json& p) override {
    ++patch_calls;
    if (on_patch)
      if (auto e = on_patch(patch_calls, ns, n)) return *e;
    return inner_.patch_status(k, ns, n, p);
  }
  sdk::Result<void> scale(const std::string& ns, const std::string& d, int r) override {
    return inner_.scale(ns, d, r);
  }
  sdk::Result<void> emit_event(const json& object, const std::string& type, const std::string& reason,
                               const std::string& message) override {
    return inner_.emit_event(object, type, reason, message);
  }

 private:
  sdk::ClusterView& inner_;
};

class WrappedContext : public sdk::PluginContext {
 public:
  explicit WrappedContext(FakeContext& fake) : fake_(fake), cluster_(fake.cluster()) {}
  sdk::Logger& logger() override { return fake_.logger(); }
  const sdk::Clock& clock() override { return fake_.clock(); }
  sdk::ClusterView& cluster() override { return cluster_; }
  sdk::MetricsRegistry& metrics() override { return fake_.metrics(); }
  std::string instance_name() const override { return fake_.instance_name(); }
  WrappedCluster& wrapped() { return cluster_; }

 private:
  FakeContext& fake_;
  WrappedCluster cluster_;
};

class StatusSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sdk::testing::configure_as_host(sink_, json::object(), "sinks.status").empty());
    ASSERT_TRUE(sink_.start(ctx_).ok());
  }
  void TearDown() override { sink_.stop(); }

  sdk::Result<void> publish(const std::vector<Decision>& ds, const std::vector<ModelView>& ms, sdk::TimePoint t,
                            const std::vector<sdk::ResourceCondition>& rc = {}) {
    PublishBatch b;
    b.pipeline = "default";
    b.time = t;
    b.decisions = ds;
    b.models = ms;
    b.conditions = rc;
    return sink_.publish(b);
  }

  FakeContext ctx_{"status"};
  StatusSink sink_;
};

TEST_F(StatusSinkTest, WritesAllocationVariantsAndConditionsWithOnePatchPerVa) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama", 3)).ok());
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "mistral")).ok());
  auto d2 = decision("ns", "mistral", "mistral", 1, 1);
  d2.model.model_id = "mistral";
  auto m2 = model("ns", "mistral", MetricsState::kOk);
  m2.key.model_id = "mistral";
  auto r = publish({decision("ns", "llama", "llama-a100", 1, 2), decision("ns", "llama", "llama-h100", 2, 3), d2},
                   {model("ns", "llama", MetricsState::kOk), m2}, kT0);
  ASSERT_TRUE(r.ok()) << r.error().to_string();

  auto patches = ctx_.fake_cluster().patches();
  ASSERT_EQ(patches.size(), 2u) << "one patch per VariantAutoscaling";

  json st = status_of(ctx_, "ns", "llama");
  EXPECT_EQ(st["desiredOptimizedAlloc"]["numReplicas"], 2);
  EXPECT_EQ(st["desiredOptimizedAlloc"]["accelerator"], "H100");
  EXPECT_EQ(st["desiredOptimizedAlloc"]["lastRunTime"], "2025-01-01T00:00:00Z");
  ASSERT_EQ(st["variants"].size(), 2u);
  EXPECT_EQ(st["variants"][1]["name"], "llama-h100");
  EXPECT_EQ(st["variants"][1]["desiredReplicas"], 3);
  const json* metrics = condition(st, "MetricsAvailable");
  ASSERT_NE(metrics, nullptr);
  EXPECT_EQ((*metrics)["status"], "True");
  EXPECT_EQ((*metrics)["reason"], "MetricsFound");
  EXPECT_EQ((*metrics)["message"], "Saturation metrics data is available for scaling decisions");
  EXPECT_EQ((*metrics)["observedGeneration"], 3);
  ASSERT_NE(condition(st, "TargetResolved"), nullptr);
  ASSERT_NE(condition(st, "OptimizationReady"), nullptr);
  EXPECT_EQ((*condition(st, "OptimizationReady"))["reason"], "OptimizationSucceeded");
}

TEST_F(StatusSinkTest, PrometheusErrorMessageReachesTheCondition) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama")).ok());
  auto held = decision("ns", "llama", "llama", 3, 3);
  held.held = true;
  auto r =
      publish({held}, {model("ns", "llama", MetricsState::kError, "Failed to get metrics from Prometheus: 503")}, kT0);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  json st = status_of(ctx_, "ns", "llama");
  const json* m = condition(st, "MetricsAvailable");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ((*m)["status"], "False");
  EXPECT_EQ((*m)["reason"], "PrometheusError");
  EXPECT_NE((*m)["message"].get<std::string>().find("Failed to get metrics from Prometheus"), std::string::npos);
  EXPECT_FALSE(st.contains("desiredOptimizedAlloc")) << "held decision: allocation untouched";
  EXPECT_EQ((*condition(st, "OptimizationReady"))["status"], "False");
}

TEST_F(StatusSinkTest, TransitionTimeKeptWhileStatusUnchangedAndMovedOnChange) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama")).ok());
  auto d = decision("ns", "llama", "llama", 1, 2);
  ASSERT_TRUE(publish({d}, {model("ns", "llama", MetricsState::kOk)}, kT0).ok());
  ASSERT_TRUE(publish({d}, {model("ns", "llama", MetricsState::kOk)}, kT0 + std::chrono::seconds(60)).ok());
  json st = status_of(ctx_, "ns", "llama");
  EXPECT_EQ((*condition(st, "MetricsAvailable"))["lastTransitionTime"], "2025-01-01T00:00:00Z");
  EXPECT_EQ(st["desiredOptimizedAlloc"]["lastRunTime"], "2025-01-01T00:01:00Z");

  ASSERT_TRUE(publish({d}, {model("ns", "llama", MetricsState::kNoData)}, kT0 + std::chrono::seconds(120)).ok());
  st = status_of(ctx_, "ns", "llama");
  EXPECT_EQ((*condition(st, "MetricsAvailable"))["status"], "False");
  EXPECT_EQ((*condition(st, "MetricsAvailable"))["reason"], "MetricsMissing");
  EXPECT_EQ((*condition(st, "MetricsAvailable"))["lastTransitionTime"], "2025-01-01T00:02:00Z");
  EXPECT_EQ((*condition(st, "TargetResolved"))["lastTransitionTime"], "2025-01-01T00:00:00Z");
}

TEST_F(StatusSinkTest, MissingVaIsSkippedWithoutError) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "present")).ok());
  auto r = publish({decision("ns", "deleted", "deleted", 1, 2), decision("ns", "present", "present", 1, 2)}, {}, kT0);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(ctx_.fake_cluster().patches().size(), 1u);
  EXPECT_TRUE(ctx_.fake_logger().contains("ns/deleted no longer exists"));
  EXPECT_EQ(status_of(ctx_, "ns", "present")["desiredOptimizedAlloc"]["numReplicas"], 2);
}

TEST_F(StatusSinkTest, ResourceConditionForVaWithoutDecision) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "orphan")).ok());
  auto r = publish({}, {}, kT0,
                   {{"ns", "orphan", {"TargetResolved", "False", "TargetNotFound", "Scale target not found: llama"}}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  json st = status_of(ctx_, "ns", "orphan");
  EXPECT_EQ((*condition(st, "TargetResolved"))["status"], "False");
  EXPECT_EQ((*condition(st, "TargetResolved"))["message"], "Scale target not found: llama");
  EXPECT_FALSE(st.contains("desiredOptimizedAlloc"));
}

TEST_F(StatusSinkTest, OtherErrorsAreCollectedAfterTryingEveryVa) {
  for (auto n : {"a", "b", "c"}) ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", n)).ok());
  WrappedContext wctx(ctx_);
  wctx.wrapped().on_patch = [](int, const std::string&, const std::string& name) -> std::optional<sdk::Error> {
    if (name == "a" || name == "c") return sdk::make_error(ErrorCode::kUnavailable, "API server 503");
    return std::nullopt;
  };
  StatusSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, nullptr, "sinks.status").empty());
  ASSERT_TRUE(sink.start(wctx).ok());
  std::vector<Decision> ds = {decision("ns", "a", "a", 1, 1), decision("ns", "b", "b", 1, 1),
                              decision("ns", "c", "c", 1, 1)};
  PublishBatch batch;
  batch.time = kT0;
  batch.decisions = ds;
  auto r = sink.publish(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().path, "sinks.status");
  EXPECT_NE(r.error().message.find("ns/a"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("ns/c"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("ns/b"), std::string::npos) << r.error().message;
  EXPECT_EQ(wctx.wrapped().patch_calls, 3) << "no retry for non-conflict errors, every VA tried";
  EXPECT_EQ(status_of(ctx_, "ns", "b")["desiredOptimizedAlloc"]["numReplicas"], 1);
  sink.stop();
}

TEST_F(StatusSinkTest, ConflictIsRetriedAfterReReading) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama", 1)).ok());
  WrappedContext wctx(ctx_);
  FakeContext& fake = ctx_;
  // The first patch loses a race: someone bumps the generation and then the API server answers 409.
  wctx.wrapped().on_patch = [&fake](int call, const std::string&, const std::string&) -> std::optional<sdk::Error> {
    if (call != 1) return std::nullopt;
    EXPECT_TRUE(fake.fake_cluster().put(va_object("ns", "llama", 2)).ok());
    return sdk::make_error(ErrorCode::kConflict, "the object has been modified");
  };
  StatusSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, json::object(), "sinks.status").empty());
  ASSERT_TRUE(sink.start(wctx).ok());
  std::vector<Decision> ds = {decision("ns", "llama", "llama", 1, 4)};
  PublishBatch batch;
  batch.time = kT0;
  batch.decisions = ds;
  auto r = sink.publish(batch);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(wctx.wrapped().patch_calls, 2);
  // Read, re-read before the retry; its version with each read and once after the write (did the backend
  // store anything?).
  EXPECT_EQ(wctx.wrapped().gets, 2) << "the object is re-read before the retry";
  EXPECT_EQ(wctx.wrapped().versions, 3);
  json st = status_of(ctx_, "ns", "llama");
  EXPECT_EQ(st["desiredOptimizedAlloc"]["numReplicas"], 4);
  EXPECT_EQ((*condition(st, "TargetResolved"))["observedGeneration"], 2) << "built from the re-read object";
  sink.stop();
}

// The sink remembers what it wrote by the object's version, not by holding the object: after a publish
// only the store holds the VA (a backend that keeps its VAs packed frees what it unpacked for the write).
TEST_F(StatusSinkTest, HoldsNoObjectAfterItsWrite) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama")).ok());
  ASSERT_TRUE(publish({decision("ns", "llama", "llama", 1, 2)}, {}, kT0).ok());
  ASSERT_EQ(status_of(ctx_, "ns", "llama")["desiredOptimizedAlloc"]["numReplicas"], 2);
  const auto written = ctx_.fake_cluster().get_shared("VariantAutoscaling", "ns", "llama").value();
  EXPECT_EQ(written.use_count(), 2) << "held by the store and this test only";
}

TEST_F(StatusSinkTest, ConflictRetriesAreBounded) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama")).ok());
  ctx_.fake_cluster().fail_next("patch_status", sdk::make_error(ErrorCode::kConflict, "modified"), 100);
  auto r = publish({decision("ns", "llama", "llama", 1, 4)}, {}, kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_NE(r.error().message.find("after 3 attempts"), std::string::npos) << r.error().message;
  ctx_.fake_cluster().fail_next("patch_status", sdk::Error{}, 0);
  EXPECT_TRUE(ctx_.fake_cluster().patches().empty());
}

TEST_F(StatusSinkTest, ReadFailureIsReported) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama")).ok());
  ctx_.fake_cluster().fail_next("get", sdk::make_error(ErrorCode::kTimeout, "deadline"), 1);
  auto r = publish({decision("ns", "llama", "llama", 1, 4)}, {}, kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_NE(r.error().message.find("ns/llama"), std::string::npos);
}

TEST_F(StatusSinkTest, UsesClockWhenBatchHasNoTime) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama")).ok());
  ctx_.fake_clock().advance(std::chrono::hours(1));
  ASSERT_TRUE(publish({decision("ns", "llama", "llama", 1, 1)}, {}, sdk::TimePoint{}).ok());
  EXPECT_EQ(status_of(ctx_, "ns", "llama")["desiredOptimizedAlloc"]["lastRunTime"], "2025-01-01T01:00:00Z");
}

// Stands for a backend that stores a status patch only when it changes more than lastRunTime stamps (the
// kube backend does not send such a patch, the local backend does not store it): the patched copy is
// compared with the object, both without lastRunTime, and only a real change reaches the store.
class SteadyCluster : public WrappedCluster {
 public:
  explicit SteadyCluster(sdk::ClusterView& inner) : WrappedCluster(inner), inner_(inner) {}
  int stored = 0;
  sdk::Result<void> patch_status(const std::string& k, const std::string& ns, const std::string& n,
                                 const json& p) override {
    ++patch_calls;
    auto current = inner_.get_shared(k, ns, n);
    if (current.ok() && *current) {
      json before = (*current)->value("status", json::object());
      json after = before;
      after.merge_patch(p);
      if (without_run_times(before) == without_run_times(after)) return sdk::ok();
    }
    ++stored;
    return inner_.patch_status(k, ns, n, p);
  }

 private:
  static json without_run_times(json j) {
    if (j.is_object()) {
      j.erase("lastRunTime");
      for (auto& [k, v] : j.items()) v = without_run_times(v);
    } else if (j.is_array()) {
      for (auto& v : j) v = without_run_times(v);
    }
    return j;
  }
  sdk::ClusterView& inner_;
};

class SteadyContext : public sdk::PluginContext {
 public:
  explicit SteadyContext(FakeContext& fake) : fake_(fake), cluster_(fake.cluster()) {}
  sdk::Logger& logger() override { return fake_.logger(); }
  const sdk::Clock& clock() override { return fake_.clock(); }
  sdk::ClusterView& cluster() override { return cluster_; }
  sdk::MetricsRegistry& metrics() override { return fake_.metrics(); }
  std::string instance_name() const override { return fake_.instance_name(); }
  SteadyCluster& steady() { return cluster_; }

 private:
  FakeContext& fake_;
  SteadyCluster cluster_;
};

TEST(StatusSinkSettled, AnUnchangedVaIsNeitherPatchedNorSentAgainUntilItOrItsUpdateChanges) {
  FakeContext fake("status");
  SteadyContext ctx(fake);
  StatusSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, json::object(), "sinks.status").empty());
  ASSERT_TRUE(sink.start(ctx).ok());
  ASSERT_TRUE(fake.fake_cluster().put(va_object("ns", "llama")).ok());
  auto publish = [&](int desired, sdk::TimePoint t) {
    const std::vector<Decision> ds{decision("ns", "llama", "llama", 1, desired)};
    const std::vector<ModelView> ms{model("ns", "llama", MetricsState::kOk)};
    PublishBatch b;
    b.pipeline = "default";
    b.time = t;
    b.decisions = ds;
    b.models = ms;
    return sink.publish(b);
  };
  ASSERT_TRUE(publish(2, kT0).ok());
  EXPECT_EQ(ctx.steady().patch_calls, 1);
  EXPECT_EQ(ctx.steady().stored, 1);
  // The same update a minute later: the patch differs by lastRunTime only; the backend stores nothing.
  ASSERT_TRUE(publish(2, kT0 + std::chrono::seconds(60)).ok());
  EXPECT_EQ(ctx.steady().patch_calls, 2);
  EXPECT_EQ(ctx.steady().stored, 1);
  // Again: the sink knows that very object took that very update as a no-op, and sends nothing.
  ASSERT_TRUE(publish(2, kT0 + std::chrono::seconds(120)).ok());
  EXPECT_EQ(ctx.steady().patch_calls, 2);
  // A new desired count is written at once.
  ASSERT_TRUE(publish(3, kT0 + std::chrono::seconds(180)).ok());
  EXPECT_EQ(ctx.steady().patch_calls, 3);
  EXPECT_EQ(ctx.steady().stored, 2);
  EXPECT_EQ(status_of(fake, "ns", "llama")["desiredOptimizedAlloc"]["numReplicas"], 3);
  // Someone else changes the object (a new snapshot): the sink builds and sends its patch again.
  ASSERT_TRUE(publish(3, kT0 + std::chrono::seconds(240)).ok());  // settles
  const auto calls = ctx.steady().patch_calls;
  json changed = fake.fake_cluster().get("VariantAutoscaling", "ns", "llama").value().value();
  changed["status"]["conditions"] = json::array();
  ASSERT_TRUE(fake.fake_cluster().put(changed).ok());
  ASSERT_TRUE(publish(3, kT0 + std::chrono::seconds(300)).ok());
  EXPECT_EQ(ctx.steady().patch_calls, calls + 1);
  EXPECT_NE(condition(status_of(fake, "ns", "llama"), "OptimizationReady"), nullptr) << "conditions written back";
  sink.stop();
}

// An analyzer's reason carries its figures (observations, fitted step times), which change every cycle:
// a status whose only change is that text is written once reasonRefresh has passed, not every cycle; a
// change of replicas is written at once; reasonRefresh 0 writes every change.
TEST(StatusSinkSettled, AReasonOnlyChangeIsWrittenOnceTheRefreshHasPassed) {
  for (const bool refresh_off : {false, true}) {
    FakeContext fake("status");
    SteadyContext ctx(fake);
    StatusSink sink;
    const json settings = refresh_off ? json{{"reasonRefresh", "0"}} : json::object();  // default 5m
    ASSERT_TRUE(sdk::testing::configure_as_host(sink, settings, "sinks.status").empty());
    ASSERT_TRUE(sink.start(ctx).ok());
    ASSERT_TRUE(fake.fake_cluster().put(va_object("ns", "llama")).ok());
    auto publish = [&](int desired, const std::string& reason, std::chrono::seconds at) {
      std::vector<Decision> ds{decision("ns", "llama", "llama", 1, desired)};
      ds.front().reason = reason;
      const std::vector<ModelView> ms{model("ns", "llama", MetricsState::kOk)};
      PublishBatch b;
      b.pipeline = "default";
      b.time = kT0 + at;
      b.decisions = ds;
      b.models = ms;
      return sink.publish(b);
    };
    auto reason_written = [&] { return status_of(fake, "ns", "llama")["variants"][0]["reason"].get<std::string>(); };
    ASSERT_TRUE(publish(2, "observations 10", std::chrono::seconds(0)).ok());
    EXPECT_EQ(ctx.steady().stored, 1);
    ASSERT_TRUE(publish(2, "observations 11", std::chrono::seconds(30)).ok());
    EXPECT_EQ(reason_written(), refresh_off ? "observations 11" : "observations 10") << refresh_off;
    ASSERT_TRUE(publish(3, "observations 12", std::chrono::seconds(60)).ok());  // a new target: at once
    EXPECT_EQ(status_of(fake, "ns", "llama")["variants"][0]["desiredReplicas"], 3);
    EXPECT_EQ(reason_written(), "observations 12");
    ASSERT_TRUE(publish(3, "observations 13", std::chrono::seconds(90)).ok());
    ASSERT_TRUE(publish(3, "observations 14", std::chrono::seconds(120)).ok());
    EXPECT_EQ(reason_written(), refresh_off ? "observations 14" : "observations 12");
    EXPECT_EQ(ctx.steady().stored, refresh_off ? 5 : 2);
    ASSERT_TRUE(publish(3, "observations 20", std::chrono::seconds(60 + 300)).ok());  // refreshed
    EXPECT_EQ(reason_written(), "observations 20");
    EXPECT_EQ(fake.fake_cluster().events().size(), 2u) << "events for the two targets, none for reasons";
    sink.stop();
  }
}

// The host repeats the winning reason as the message of a True OptimizationReady: a change of that text
// alone waits for reasonRefresh like the variants' reasons; a change of the condition's status does not.
TEST(StatusSinkSettled, TheHostsOptimizationReadyMessageIsReasonText) {
  FakeContext fake("status");
  SteadyContext ctx(fake);
  StatusSink sink;
  ASSERT_TRUE(sdk::testing::configure_as_host(sink, json::object(), "sinks.status").empty());  // 5m
  ASSERT_TRUE(sink.start(ctx).ok());
  ASSERT_TRUE(fake.fake_cluster().put(va_object("ns", "llama")).ok());
  auto publish = [&](const std::string& reason, const std::string& status, std::chrono::seconds at) {
    std::vector<Decision> ds{decision("ns", "llama", "llama", 1, 2)};
    ds.front().reason = reason;
    ds.front().conditions.push_back({"OptimizationReady", status, "OptimizationSucceeded", reason});
    const std::vector<ModelView> ms{model("ns", "llama", MetricsState::kOk)};
    PublishBatch b;
    b.pipeline = "default";
    b.time = kT0 + at;
    b.decisions = ds;
    b.models = ms;
    return sink.publish(b);
  };
  auto message = [&] { return (*condition(status_of(fake, "ns", "llama"), "OptimizationReady"))["message"]; };
  ASSERT_TRUE(publish("observations 1", "True", std::chrono::seconds(0)).ok());
  ASSERT_TRUE(publish("observations 2", "True", std::chrono::seconds(30)).ok());
  EXPECT_EQ(message(), "observations 1") << "the text alone waits";
  EXPECT_EQ(ctx.steady().stored, 1);
  ASSERT_TRUE(publish("observations 3", "False", std::chrono::seconds(60)).ok());
  EXPECT_EQ(message(), "observations 3") << "a new status is written at once";
  ASSERT_TRUE(publish("observations 4", "True", std::chrono::seconds(90)).ok());
  EXPECT_EQ(message(), "observations 4");
  ASSERT_TRUE(publish("observations 5", "True", std::chrono::seconds(90 + 300)).ok());
  EXPECT_EQ(message(), "observations 5") << "refreshed";
  sink.stop();
}

// The sink that remembers settled VAs leaves the objects (lastRunTime aside, which a steady backend does
// not store) and the Events exactly as a sink that builds and sends every patch, over random cycles of
// random decisions, metrics states, held decisions, VAs coming and going, and outside edits of the objects.
// With reasonRefresh 0, reasons and the host's OptimizationReady message (which repeats the reason) change
// too, and negative targets (a problem, logged every cycle) come and go.
TEST(StatusSinkSettled, RandomCyclesLeaveTheSameObjectsAndEventsAsPatchingEveryVa) {
  std::mt19937 rng(20261206);
  for (int round = 0; round < 40; ++round) {
    const bool refresh_off = round % 2 == 1;
    const json settings = refresh_off ? json{{"reasonRefresh", "0"}} : json::object();
    FakeContext fake_a("status"), fake_b("status");
    SteadyContext ctx_a(fake_a), ctx_b(fake_b);
    StatusSink remembering;
    ASSERT_TRUE(sdk::testing::configure_as_host(remembering, settings, "sinks.status").empty());
    ASSERT_TRUE(remembering.start(ctx_a).ok());
    const int vas = 6;
    for (int i = 0; i < vas; ++i)
      for (auto* f : {&fake_a, &fake_b})
        ASSERT_TRUE(f->fake_cluster().put(va_object("ns", "va" + std::to_string(i))).ok());
    // What each VA's model says; a quarter of them change it each cycle.
    struct Said {
      bool in_batch = true, decided = true, held = false, no_data = false;
      int desired = 1;
    };
    std::vector<Said> said(vas);
    for (int cycle = 0; cycle < 30; ++cycle) {
      const sdk::TimePoint t = kT0 + std::chrono::seconds(60 * cycle);
      std::vector<Decision> ds;
      std::vector<ModelView> ms;
      for (int i = 0; i < vas; ++i) {
        if (rng() % 4 == 0)
          said[i] = Said{rng() % 8 != 0, rng() % 5 != 0, rng() % 4 == 0, rng() % 4 == 0, static_cast<int>(rng() % 3)};
        if (!said[i].in_batch) continue;
        const std::string va = "va" + std::to_string(i);
        auto m = model("ns", va, said[i].no_data ? MetricsState::kNoData : MetricsState::kOk);
        m.key.model_id = va;
        ms.push_back(m);
        if (!said[i].decided) continue;  // no decision: conditions only
        auto d = decision("ns", va, va, 1, said[i].desired);
        d.model.model_id = va;
        d.held = said[i].held;
        if (refresh_off) {
          d.reason = "observations " + std::to_string(rng() % 3);
          if (rng() % 2 == 0) d.conditions.push_back({"OptimizationReady", "True", "OptimizationSucceeded", d.reason});
          if (rng() % 10 == 0) d.desired = -1;
        }
        ds.push_back(d);
      }
      if (rng() % 6 == 0) {  // an outside edit of one object, on both clusters
        const std::string va = "va" + std::to_string(rng() % vas);
        for (auto* f : {&fake_a, &fake_b}) {
          json obj = f->fake_cluster().get("VariantAutoscaling", "ns", va).value().value();
          obj["status"]["conditions"] = json::array();
          ASSERT_TRUE(f->fake_cluster().put(obj).ok());
        }
      }
      PublishBatch b;
      b.pipeline = "default";
      b.time = t;
      b.decisions = ds;
      b.models = ms;
      ASSERT_TRUE(remembering.publish(b).ok());
      StatusSink fresh;  // remembers nothing: builds and sends every patch
      ASSERT_TRUE(sdk::testing::configure_as_host(fresh, settings, "sinks.status").empty());
      ASSERT_TRUE(fresh.start(ctx_b).ok());
      ASSERT_TRUE(fresh.publish(b).ok());
      fresh.stop();
      for (int i = 0; i < vas; ++i) {
        const std::string va = "va" + std::to_string(i);
        ASSERT_EQ(status_of(fake_a, "ns", va), status_of(fake_b, "ns", va)) << "round " << round << " cycle " << cycle;
      }
      const auto ea = fake_a.fake_cluster().events(), eb = fake_b.fake_cluster().events();
      ASSERT_EQ(ea.size(), eb.size()) << "round " << round << " cycle " << cycle;
      for (std::size_t e = 0; e < ea.size(); ++e) {
        EXPECT_EQ(ea[e].name, eb[e].name);
        EXPECT_EQ(ea[e].reason, eb[e].reason);
        EXPECT_EQ(ea[e].message, eb[e].message);
      }
    }
    EXPECT_LT(ctx_a.steady().patch_calls, ctx_b.steady().patch_calls) << "settled VAs were skipped";
    EXPECT_EQ(ctx_a.steady().stored, ctx_b.steady().stored);
    remembering.stop();
  }
}

TEST(StatusSettings, DefaultsAndValidation) {
  auto d = parse_settings(json::object(), "sinks.status");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->max_attempts, 3);
  EXPECT_EQ(d->reason_refresh, std::chrono::minutes(5));
  auto five = parse_settings(json{{"maxAttempts", 5}}, "sinks.status");
  ASSERT_TRUE(five.ok());
  EXPECT_EQ(five->max_attempts, 5);

  auto zero = parse_settings(json{{"maxAttempts", 0}}, "sinks.status");
  ASSERT_EQ(zero.errors.size(), 1u);
  EXPECT_EQ(zero.errors[0].to_string(), "sinks.status.maxAttempts: must be a whole number in [1, 10], got 0");
  auto typo = parse_settings(json{{"maxAttempt", 2}}, "sinks.status");
  ASSERT_EQ(typo.errors.size(), 1u);
  EXPECT_EQ(typo.errors[0].to_string(), "sinks.status.maxAttempt: unknown setting; did you mean \"maxAttempts\"?");
  auto list = parse_settings(json::array(), "sinks.status");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.errors[0].code, ErrorCode::kInvalidConfig);
}

TEST(StatusSinkLifecycle, PublishBeforeStartIsAnError) {
  StatusSink sink;
  PublishBatch b;
  auto r = sink.publish(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace wva::plugins::status

namespace wva::plugins::status {
namespace {

TEST_F(StatusSinkTest, EventsForChangedRecommendationsAndConditionsTurningFalse) {
  ASSERT_TRUE(ctx_.fake_cluster().put(va_object("ns", "llama")).ok());
  auto count = [&](const std::string& reason) {
    int n = 0;
    for (const auto& e : ctx_.fake_cluster().events()) n += e.reason == reason;
    return n;
  };
  ASSERT_TRUE(publish({decision("ns", "llama", "llama", 1, 2)}, {model("ns", "llama", MetricsState::kOk)}, kT0).ok());
  ASSERT_EQ(count("ScalingRecommendation"), 1);
  EXPECT_EQ(ctx_.fake_cluster().events()[0].message, "Variant llama: desired replicas 2 (scale up)");
  EXPECT_EQ(ctx_.fake_cluster().events()[0].name, "llama");
  EXPECT_EQ(ctx_.fake_cluster().events()[0].kind, "VariantAutoscaling");
  // The same recommendation again: no event.
  ASSERT_TRUE(publish({decision("ns", "llama", "llama", 2, 2)}, {model("ns", "llama", MetricsState::kOk)},
                      kT0 + std::chrono::minutes(1))
                  .ok());
  EXPECT_EQ(count("ScalingRecommendation"), 1);
  ASSERT_TRUE(publish({decision("ns", "llama", "llama", 2, 3)}, {model("ns", "llama", MetricsState::kOk)},
                      kT0 + std::chrono::minutes(2))
                  .ok());
  ASSERT_EQ(count("ScalingRecommendation"), 2);
  EXPECT_EQ(ctx_.fake_cluster().events().back().message, "Variant llama: desired replicas 2 -> 3 (scale up)");
  // Metrics fail: one Warning when MetricsAvailable turns False, none while it stays False.
  auto held = decision("ns", "llama", "llama", 3, 3);
  held.held = true;
  for (int i = 3; i < 5; ++i)
    ASSERT_TRUE(
        publish({held}, {model("ns", "llama", MetricsState::kError, "Prometheus: 503")}, kT0 + std::chrono::minutes(i))
            .ok());
  EXPECT_EQ(count("PrometheusError"), 1);
  EXPECT_EQ(count("ScalingRecommendation"), 2) << "held decisions make no recommendation event";
}

}  // namespace
}  // namespace wva::plugins::status
