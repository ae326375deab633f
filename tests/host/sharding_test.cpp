// The shard assignment contract (host/sharding.h): FNV-1a 64 of "namespace/modelID" mod N, stable across
// processes and versions, total (every model in exactly one shard); and the cycle leaving out of the
// published batch what a replica no longer owns.
#include <gtest/gtest.h>

#include <spdlog/sinks/null_sink.h>

#include <atomic>
#include <set>

#include "host/clock.h"
#include "host/cycle.h"
#include "host/logger.h"
#include "host/metrics_registry.h"
#include "host/sharding.h"
#include "in_process_plugins.h"

namespace wva::framework {
namespace {

TEST(Sharding, Fnv1a64MatchesThePublishedTestVectors) {
  // From the FNV reference (Fowler/Noll/Vo): the hash is the standard one, not a look-alike.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(Sharding, KnownModelsGoToKnownShards) {
  // The contract in numbers: changing the hash, the separator or the order of the fields fails here.
  struct Row {
    const char* ns;
    const char* id;
    std::uint64_t hash;
    std::size_t shard2, shard3, shard7, shard16;
  };
  const Row rows[] = {
      {"llm", "meta/llama-3.1-8b", 0xbbdb6da7ba9f5b24ull, 0, 2, 6, 4},
      {"default", "ibm/granite-13b", 0x1720daf883b561a9ull, 1, 1, 5, 9},
      {"prod", "mistral-7b", 0x815d87403f34f03full, 1, 2, 1, 15},
      {"team-a", "meta/llama-3.1-70b", 0xc0a233a046076647ull, 1, 2, 2, 7},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.ns) + "/" + r.id);
    EXPECT_EQ(fnv1a64(std::string(r.ns) + "/" + r.id), r.hash);
    EXPECT_EQ(shard_of(r.ns, r.id, 1), 0u);
    EXPECT_EQ(shard_of(r.ns, r.id, 2), r.shard2);
    EXPECT_EQ(shard_of(r.ns, r.id, 3), r.shard3);
    EXPECT_EQ(shard_of(r.ns, r.id, 7), r.shard7);
    EXPECT_EQ(shard_of(r.ns, r.id, 16), r.shard16);
  }
  // The namespace is part of the key: the same model ID in two namespaces may land apart.
  EXPECT_NE(fnv1a64("a/b"), fnv1a64("b/a"));
}

TEST(Sharding, EveryModelIsInExactlyOneShardAndShardsAreUsed) {
  for (std::size_t n : {1u, 2u, 3u, 5u, 16u}) {
    std::vector<std::size_t> per_shard(n, 0);
    std::set<std::string> seen;
    for (int m = 0; m < 3000; ++m) {
      const std::string ns = "ns-" + std::to_string(m % 7), id = "org/model-" + std::to_string(m);
      const std::size_t s = shard_of(ns, id, n);
      ASSERT_LT(s, n);
      ASSERT_EQ(shard_of(ns, id, n), s);  // deterministic: one shard per model, always the same
      ASSERT_TRUE(seen.insert(ns + "/" + id).second);
      ++per_shard[s];
    }
    std::size_t total = 0;
    for (auto c : per_shard) total += c;
    EXPECT_EQ(total, seen.size());  // total: no model left out
    // 3000 models spread: no shard empty, none with more than twice its share.
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_GT(per_shard[i], 0u) << "n=" << n << " shard " << i;
      EXPECT_LT(per_shard[i], 2 * 3000 / n + 1) << "n=" << n << " shard " << i;
    }
  }
}

TEST(Sharding, TheCycleLeavesOutOfThePublishWhatIsNoLongerOwned) {
  WorkerPool pool{2};
  DecisionMemory memory;
  WallClock clock;
  SpdLogger log{std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()), ""};
  MetricsRegistryImpl metrics;
  testing::ScriptedSource source([](std::span<const sdk::ModelView> models) {
    std::map<sdk::ModelKey, sdk::ModelMetrics> out;
    for (const auto& m : models) out[m.key] = testing::ok_metrics();
    return sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(out);
  });
  // "moved" stops being owned while its chain runs (the shard moved to another replica mid-cycle).
  std::atomic<bool> lost_is_mine{true};
  testing::FnAnalyzer analyzer("a", [&](const sdk::ModelView& m, const sdk::Variant&) {
    if (m.key.model_id == "moved") lost_is_mine = false;
    return std::optional<int>(3);
  });
  testing::RecordingSink sink;
  PipelineRuntime rt;
  rt.config.name = "p";
  rt.source = {"src", &source};
  rt.analyzers = {{"a", &analyzer}};
  rt.sinks = {{"sink", &sink}};
  rt.combiner = testing::first_combiner();
  CycleServices services{&pool, &memory, &clock, &log, &metrics, std::chrono::seconds(1)};
  // Two shards: "kept" and "moved" are in different ones.
  const std::size_t kept_shard = shard_of("ns", "kept", 2), lost_shard = shard_of("ns", "moved", 2);
  ASSERT_NE(kept_shard, lost_shard);
  services.shards = 2;
  services.owns_shard = [&](std::size_t s) { return s == kept_shard || (s == lost_shard && lost_is_mine.load()); };
  // Conditions follow their VA's model; a VA without a model goes by its own name.
  std::string orphan_mine, orphan_other;
  for (int i = 0; orphan_mine.empty() || orphan_other.empty(); ++i) {
    const std::string name = "orphan-" + std::to_string(i);
    (shard_of("ns", name, 2) == kept_shard ? orphan_mine : orphan_other) = name;
  }
  const std::vector<sdk::ResourceCondition> conditions = {
      {"ns", "kept", {"TargetResolved", "True", "TargetFound", ""}},
      {"ns", "moved", {"TargetResolved", "True", "TargetFound", ""}},
      {"ns", orphan_mine, {"TargetResolved", "False", "X", ""}},
      {"ns", orphan_other, {"TargetResolved", "False", "X", ""}}};
  auto outcome =
      run_cycle(rt, {testing::model("ns", "kept", {"v"}), testing::model("ns", "moved", {"v"})}, conditions, services);
  EXPECT_EQ(outcome.decisions.size(), 2u);  // decided (and remembered) ...
  ASSERT_EQ(sink.batches.size(), 1u);
  ASSERT_EQ(sink.batches[0].size(), 1u);  // ... but only what is still owned is published
  EXPECT_EQ(sink.batches[0][0].model.model_id, "kept");
  ASSERT_EQ(sink.conditions.size(), 1u);
  std::set<std::string> published_conditions;
  for (const auto& c : sink.conditions[0]) published_conditions.insert(c.va_name);
  EXPECT_EQ(published_conditions, (std::set<std::string>{"kept", orphan_mine}));

  // Nothing owned any more: the batch still goes out, empty, so sinks drop what they published before.
  services.owns_shard = [](std::size_t) { return false; };
  run_cycle(rt, {testing::model("ns", "kept", {"v"})}, {}, services);
  ASSERT_EQ(sink.batches.size(), 2u);
  EXPECT_TRUE(sink.batches[1].empty());

  // Without a predicate (not sharded) everything is published, as before.
  services.owns_shard = {};
  run_cycle(rt, {testing::model("ns", "kept", {"v"}), testing::model("ns", "moved", {"v"})}, {}, services);
  ASSERT_EQ(sink.batches.size(), 3u);
  EXPECT_EQ(sink.batches[2].size(), 2u);
}

}  // namespace
}  // namespace wva::framework
