// The status sink writes a VA at a time and keeps digests; the sink as it was (reference_status_sink.*)
// planned every VA before writing any and kept fingerprint text and updates. Over random cycles both send
// byte for byte the same patches and Events, in the same order, log the same lines and return the same
// results: many VAs in two pipelines, decisions that change, are held, negative or missing, reasons and
// the host's OptimizationReady message that change every cycle, explicit and resource conditions, metrics
// states, partial batches, outside edits and deletions of the objects, conflicts, failed reads and writes,
// and steady stretches where nothing changes.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "reference_status_sink.h"
#include "status_plugin.h"
#include "wva/sdk/testing/fakes.h"

namespace wva::plugins::status {
namespace {

using nlohmann::json;
using sdk::Condition;
using sdk::Decision;
using sdk::ErrorCode;
using sdk::MetricsState;
using sdk::ModelView;
using sdk::PublishBatch;
using sdk::testing::FakeContext;

const sdk::TimePoint kT0 = sdk::testing::ManualClock::default_start();

json va_object(const std::string& ns, const std::string& name, long long generation) {
  return {{"apiVersion", "llmd.ai/v1alpha1"},
          {"kind", "VariantAutoscaling"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"generation", generation}}},
          {"spec", {{"modelID", name}}}};
}

// What a cycle does to the cluster besides the sink's writes, drawn once and played on both clusters:
// a failure for the n-th read or patch of a VA within the cycle.
struct Faults {
  std::map<std::pair<std::string, int>, sdk::Error> reads, patches;  // (ns/name, n-th call this cycle)
};

// Stands for a backend that stores a status patch only when it changes more than lastRunTime stamps (as
// the kube and local backends do), records every call the sink makes, in order, as text, and fails the
// calls the cycle's Faults name. A conflict comes with an outside write (the generation moves), as it does
// from an API server. A "read" is what tells a sink whether the object changed: the former sink read the
// object (get_shared) for that, the sink reads its version (object_version), then the object only to build
// an update from it; with versions_are_reads, faults hit object_version and get_shared never fails.
// Versions are the SDK's default (a digest of the object's JSON) or, with counted_versions, a counter
// moved by every new snapshot of the object, as the local backend's writes and the kube backend's
// resourceVersion move (the snapshot seen last is held here, so no new one can take its address).
class RecordingCluster : public sdk::ClusterView {
 public:
  explicit RecordingCluster(sdk::InMemoryCluster& inner) : inner_(inner) {}
  std::vector<std::string> calls;
  Faults faults;
  std::map<std::string, int> reads_this_cycle, patches_this_cycle;
  bool versions_are_reads = false;
  bool counted_versions = false;

  std::string system_namespace() const override { return inner_.system_namespace(); }
  sdk::Result<std::vector<sdk::ObjectSnapshot>> list_shared(const std::string& k, const std::string& ns) override {
    return inner_.list_shared(k, ns);
  }
  sdk::Result<sdk::ObjectSnapshot> get_shared(const std::string& k, const std::string& ns,
                                              const std::string& n) override {
    const std::string key = ns + "/" + n;
    if (!versions_are_reads)
      if (auto f = faults.reads.find({key, reads_this_cycle[key]++}); f != faults.reads.end()) return f->second;
    return inner_.get_shared(k, ns, n);
  }
  sdk::Result<std::optional<std::string>> object_version(const std::string& k, const std::string& ns,
                                                         const std::string& n) override {
    const std::string key = ns + "/" + n;
    if (versions_are_reads)
      if (auto f = faults.reads.find({key, reads_this_cycle[key]++}); f != faults.reads.end()) return f->second;
    if (!counted_versions) return inner_.object_version(k, ns, n);
    auto current = inner_.get_shared(k, ns, n);
    if (!current.ok()) return current.error();
    if (!*current) return std::optional<std::string>();
    auto& [seen, version] = counted_[key];
    if (seen != *current) {
      seen = *current;
      version = ++last_version_;
    }
    return std::optional<std::string>("counted:" + std::to_string(version));
  }
  sdk::Result<void> patch_status(const std::string& k, const std::string& ns, const std::string& n,
                                 const json& p) override {
    const std::string key = ns + "/" + n;
    calls.push_back("patch " + key + " " + p.dump());
    if (auto f = faults.patches.find({key, patches_this_cycle[key]++}); f != faults.patches.end()) {
      if (f->second.code == ErrorCode::kConflict) bump_generation(ns, n);
      return f->second;
    }
    auto current = inner_.get_shared(k, ns, n);
    if (current.ok() && *current) {
      json before = (*current)->value("status", json::object());
      json after = before;
      after.merge_patch(p);
      if (without_run_times(before) == without_run_times(after)) return sdk::ok();
    }
    return inner_.patch_status(k, ns, n, p);
  }
  sdk::Result<void> scale(const std::string& ns, const std::string& d, int r) override {
    return inner_.scale(ns, d, r);
  }
  sdk::Result<void> emit_event(const json& object, const std::string& type, const std::string& reason,
                               const std::string& message) override {
    calls.push_back("event " + object["metadata"].value("namespace", "") + "/" + object["metadata"].value("name", "") +
                    " " + type + " " + reason + " " + message);
    return inner_.emit_event(object, type, reason, message);
  }

  void bump_generation(const std::string& ns, const std::string& n) {
    auto obj = inner_.get_shared("VariantAutoscaling", ns, n);
    if (!obj.ok() || !*obj) return;
    json changed = **obj;
    changed["metadata"]["generation"] = changed["metadata"].value("generation", 0) + 1;
    ASSERT_TRUE(inner_.put(std::move(changed)).ok());
  }

 private:
  static json without_run_times(json j) {
    if (j.is_object()) {
      j.erase("lastRunTime");
      for (auto& [key, v] : j.items()) v = without_run_times(v);
    } else if (j.is_array()) {
      for (auto& v : j) v = without_run_times(v);
    }
    return j;
  }
  sdk::InMemoryCluster& inner_;
  std::map<std::string, std::pair<sdk::ObjectSnapshot, std::uint64_t>> counted_;  // ns/name -> seen, version
  std::uint64_t last_version_ = 0;
};

class RecordingContext : public sdk::PluginContext {
 public:
  RecordingContext() : cluster_(fake_.fake_cluster()) {}
  sdk::Logger& logger() override { return fake_.logger(); }
  const sdk::Clock& clock() override { return fake_.clock(); }
  sdk::ClusterView& cluster() override { return cluster_; }
  sdk::MetricsRegistry& metrics() override { return fake_.metrics(); }
  std::string instance_name() const override { return fake_.instance_name(); }
  RecordingCluster& recording() { return cluster_; }
  sdk::InMemoryCluster& store() { return fake_.fake_cluster(); }
  std::vector<std::string> log() {
    std::vector<std::string> out;
    for (const auto& l : fake_.fake_logger().lines())
      out.push_back(std::to_string(static_cast<int>(l.level)) + " " + l.message);
    return out;
  }

 private:
  FakeContext fake_{"status"};
  RecordingCluster cluster_;
};

// What one VA's model says this cycle.
struct Said {
  bool in_batch = true;
  int variants = 2;
  bool decided = true;
  bool held = false;
  int desired = 1;
  bool negative = false;  // one variant's target is negative (a problem, logged)
  int metrics = 0;        // MetricsState
  int conditions = 0;     // explicit conditions: 0 none, 1 OptimizationReady True (reason text), 2 a False one,
                          // 3 an invalid type, 4 a resource condition
};

class Scenario {
 public:
  explicit Scenario(unsigned seed) : rng_(seed) {}
  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }

  Said said() {
    Said s;
    s.in_batch = pick(10) != 0;
    s.variants = 1 + pick(3);
    s.decided = pick(6) != 0;
    s.held = pick(4) == 0;
    s.desired = pick(4);
    s.negative = pick(12) == 0;
    s.metrics = pick(5) < 3 ? 0 : pick(4);
    s.conditions = pick(6);
    return s;
  }

 private:
  std::mt19937 rng_;
};

std::string va_name(int i) { return "va-" + std::to_string(i); }
std::string ns_of(int i) { return "ns" + std::to_string(i % 3); }

struct Batch {
  std::vector<Decision> decisions;
  std::vector<ModelView> models;
  std::vector<sdk::ResourceCondition> conditions;
  PublishBatch batch(const std::string& pipeline, sdk::TimePoint t, bool partial) const {
    PublishBatch b;
    b.pipeline = pipeline;
    b.time = t;
    b.decisions = decisions;
    b.models = models;
    b.conditions = conditions;
    b.partial = partial;
    return b;
  }
};

TEST(StatusSinkEquivalence, RandomCyclesSendTheSamePatchesEventsAndLogLinesAsTheFormerSink) {
  Scenario draw(20261207);
  int patches = 0, events = 0, failures = 0, skipped = 0;
  for (int round = 0; round < 24; ++round) {
    static const std::vector<json> kSettings{json::object(), json{{"reasonRefresh", "0"}},
                                             json{{"reasonRefresh", "90s"}, {"maxAttempts", 2}},
                                             json{{"maxAttempts", 1}}};
    const json& settings = kSettings[static_cast<std::size_t>(round) % kSettings.size()];
    RecordingContext now_ctx, ref_ctx;
    now_ctx.recording().versions_are_reads = true;
    now_ctx.recording().counted_versions = round % 3 != 0;
    StatusSink sink;
    reference::ReferenceStatusSink former;
    ASSERT_TRUE(sdk::testing::configure_as_host(sink, settings, "sinks.status").empty());
    ASSERT_TRUE(sdk::testing::configure_as_host(former, settings, "sinks.status").empty());
    ASSERT_TRUE(sink.start(now_ctx).ok());
    ASSERT_TRUE(former.start(ref_ctx).ok());
    const int vas = 30 + draw.pick(30);
    for (int i = 0; i < vas; ++i)
      for (auto* c : {&now_ctx, &ref_ctx}) ASSERT_TRUE(c->store().put(va_object(ns_of(i), va_name(i), 1)).ok());
    std::vector<Said> said(static_cast<std::size_t>(vas));
    for (auto& s : said) s = draw.said();
    sdk::TimePoint t = kT0;
    for (int cycle = 0; cycle < 30; ++cycle) {
      t += std::chrono::seconds(20 + draw.pick(60));
      // A steady stretch (nothing but the reasons' figures changes) every few cycles; else a few VAs change.
      const bool steady = cycle % 5 >= 3;
      if (!steady)
        for (auto& s : said)
          if (draw.pick(5) == 0) s = draw.said();
      // Outside the sink: edits, deletions and re-creations, faults of this cycle's calls.
      Faults faults;
      if (!steady && draw.pick(3) == 0) {
        const int i = draw.pick(vas);
        const int what = draw.pick(3);
        const int generation = 1 + draw.pick(3);
        for (auto* c : {&now_ctx, &ref_ctx}) {
          auto obj = c->store().get_shared("VariantAutoscaling", ns_of(i), va_name(i));
          ASSERT_TRUE(obj.ok());
          if (what == 0 && *obj) {
            json changed = **obj;
            changed["status"]["conditions"] = json::array();
            ASSERT_TRUE(c->store().put(std::move(changed)).ok());
          } else if (what == 1) {
            c->store().remove("VariantAutoscaling", ns_of(i), va_name(i));
          } else {
            ASSERT_TRUE(c->store().put(va_object(ns_of(i), va_name(i), generation)).ok());
          }
        }
      }
      for (int k = draw.pick(4); k > 0 && !steady; --k) {
        const int i = draw.pick(vas);
        const std::string key = ns_of(i) + "/" + va_name(i);
        static const std::vector<sdk::Error> kErrors{
            sdk::make_error(ErrorCode::kConflict, "the object has been modified"),
            sdk::make_error(ErrorCode::kUnavailable, "connection refused"),
            sdk::make_error(ErrorCode::kNotFound, "gone"), sdk::make_error(ErrorCode::kTimeout, "deadline")};
        if (draw.pick(4) == 0) faults.reads[{key, draw.pick(3)}] = kErrors[3];
        else faults.patches[{key, draw.pick(3)}] = kErrors[static_cast<std::size_t>(draw.pick(3))];
      }
      for (auto* c : {&now_ctx, &ref_ctx}) {
        c->recording().faults = faults;
        c->recording().reads_this_cycle.clear();
        c->recording().patches_this_cycle.clear();
      }
      // The batches: VAs below a third of the fleet are pipeline "b"'s, the others "a"'s; now and then a
      // partial batch of "a" (some of its models only).
      const bool partial = !steady && draw.pick(6) == 0;
      std::map<std::string, Batch> batches;
      for (int i = 0; i < vas; ++i) {
        const Said& s = said[static_cast<std::size_t>(i)];
        const std::string pipeline = i < vas / 3 ? "b" : "a";
        if (!s.in_batch || (partial && pipeline == "a" && i % 2 == 0)) continue;
        Batch& b = batches[pipeline];
        ModelView m;
        m.key = sdk::ModelKey{ns_of(i), "model-" + std::to_string(i)};
        m.va_name = va_name(i);
        for (int v = 0; v < s.variants; ++v) {
          sdk::Variant var;
          var.name = va_name(i) + "-d" + std::to_string(v);
          var.va_name = va_name(i);
          m.variants.push_back(var);
        }
        m.metrics.state = static_cast<MetricsState>(s.metrics);
        if (s.metrics == static_cast<int>(MetricsState::kError)) m.metrics.reason = "PrometheusError";
        if (s.metrics != 0 && draw.pick(2) == 0) m.metrics.message = "no series for " + va_name(i);
        const std::string figures = "observations " + std::to_string(draw.pick(steady ? 2 : 50));
        if (s.decided)
          for (int v = 0; v < s.variants; ++v) {
            Decision d;
            d.model = m.key;
            d.va_name = va_name(i);
            d.variant = m.variants[static_cast<std::size_t>(v)].name;
            d.accelerator = v == 1 ? "A100" : "H100";
            d.current = s.desired;
            d.desired = s.negative && v == 0 ? -1 : s.desired + v;
            d.reason = figures;
            d.analyzer = v == 2 ? "capacity" : "saturation";
            d.held = s.held;
            d.time = t;
            if (v == 0 && s.conditions == 1) d.conditions.push_back({kOptimizationReady, "True", "Computed", figures});
            if (v == 0 && s.conditions == 2) d.conditions.push_back({kMetricsAvailable, "False", "", "saturated"});
            if (v == 0 && s.conditions == 3) d.conditions.push_back({"not a type!", "True", "x", "y"});
            b.decisions.push_back(d);
          }
        if (s.conditions == 4)
          b.conditions.push_back(
              sdk::ResourceCondition{ns_of(i), va_name(i), Condition{"example.com/Quota", "False", "over quota", "x"}});
        b.models.push_back(m);
      }
      const std::size_t calls_before = now_ctx.recording().calls.size();
      std::size_t named = 0;
      for (const auto& [pipeline, b] : batches) {
        named += b.models.size();
        const PublishBatch batch = b.batch(pipeline, t, partial && pipeline == "a");
        const auto got = sink.publish(batch);
        const auto want = former.publish(batch);
        ASSERT_EQ(got.ok(), want.ok()) << "round " << round << " cycle " << cycle;
        if (!got.ok()) {
          EXPECT_EQ(got.error().to_string(), want.error().to_string()) << "round " << round << " cycle " << cycle;
          ++failures;
        }
      }
      const auto& got_calls = now_ctx.recording().calls;
      const auto& want_calls = ref_ctx.recording().calls;
      ASSERT_EQ(got_calls, want_calls) << "round " << round << " cycle " << cycle;
      ASSERT_EQ(now_ctx.log(), ref_ctx.log()) << "round " << round << " cycle " << cycle;
      for (int i = 0; i < vas; ++i) {
        auto a = now_ctx.store().get_shared("VariantAutoscaling", ns_of(i), va_name(i));
        auto b = ref_ctx.store().get_shared("VariantAutoscaling", ns_of(i), va_name(i));
        ASSERT_TRUE(a.ok() && b.ok());
        ASSERT_EQ(static_cast<bool>(*a), static_cast<bool>(*b));
        if (*a) {
          ASSERT_EQ(**a, **b) << "round " << round << " cycle " << cycle;
        }
      }
      if (now_ctx.recording().calls.size() - calls_before < named) ++skipped;  // settled VAs not sent
    }
    for (const auto& c : now_ctx.recording().calls) (c.starts_with("patch") ? patches : events)++;
    sink.stop();
    former.stop();
  }
  // Each kind of outcome happened often enough to mean something.
  EXPECT_GT(patches, 2000);
  EXPECT_GT(events, 500);
  EXPECT_GT(failures, 50);
  EXPECT_GT(skipped, 20);
}

}  // namespace
}  // namespace wva::plugins::status
