// Prefix caching when a trace carries block hashes (Mooncake's JSONL): the trace reader, the per-pod cache
// (longest cached prefix, LRU within the pool's free space, loops kept apart), a replica that skips the
// cached part of a prompt, and a prefix-aware router that sends a conversation's next turn to its pod.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "prefix_cache.h"
#include "replica.h"
#include "world.h"

namespace wva::emulator {
namespace {

namespace fs = std::filesystem;

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path file = fs::temp_directory_path() / name;
  std::ofstream(file) << text;
  return file;
}

EngineConfig h100() {
  EngineConfig e;
  e.profile = *find_profile(builtin_profiles(), "llama-3.1-8b/H100");
  return e;
}

TEST(MooncakeTrace, ReadsRowsAndBlockHashes) {
  const fs::path file = write_file("wva-mooncake-good.jsonl",
                                   "{\"timestamp\": 1000, \"input_length\": 1100, \"output_length\": 30, "
                                   "\"hash_ids\": [7, 8, 9]}\n"
                                   "\n"
                                   "{\"timestamp\": 1000, \"input_length\": 600, \"output_length\": 5, "
                                   "\"hash_ids\": [7, 10]}\n"
                                   "{\"timestamp\": 4500, \"input_length\": 20, \"output_length\": 0}\n");
  auto t = load_trace(file.string());  // told from the CSV by its first character
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  ASSERT_EQ(t->rows.size(), 3u);
  EXPECT_DOUBLE_EQ(t->rows[0].t, 0);
  EXPECT_DOUBLE_EQ(t->rows[2].t, 3.5) << "milliseconds from the first row";
  EXPECT_EQ(t->rows[1].prompt, 600);
  EXPECT_EQ(t->rows[1].block_count, 2u);
  EXPECT_EQ(t->block_hashes[t->rows[1].block_begin], 7u);
  EXPECT_EQ(t->rows[2].block_count, 0u) << "hash_ids are optional";
  EXPECT_EQ(t->block_hashes, (std::vector<std::uint32_t>{7, 8, 9, 7, 10}));

  // The stream hands each arrival its blocks; a loop is new conversations (another salt).
  TraceOptions o;
  o.loop = true;
  o.block_tokens = 512;
  auto s = make_trace_stream(std::make_shared<const Trace>(std::move(t.value())), o);
  const Arrival a = *s->next();
  ASSERT_EQ(a.blocks.count, 3u);
  EXPECT_EQ(a.blocks.hashes[2], 9u);
  EXPECT_EQ(a.blocks.block_tokens, 512);
  EXPECT_EQ(a.blocks.salt, 0u);
  s->next(), s->next();
  EXPECT_EQ(s->next()->blocks.salt, 1u);
  fs::remove(file);
}

TEST(MooncakeTrace, MalformedLinesNameFileAndLine) {
  struct Case {
    std::string line, error;
  };
  const std::vector<Case> cases = {
      {"{\"timestamp\": 0, \"input_length\": 1", "not a JSON object"},
      {"[1, 2]", "expected {"},
      {"{\"input_length\": 1, \"output_length\": 1}", "\"timestamp\" must be"},
      {"{\"timestamp\": 0, \"input_length\": -1, \"output_length\": 1}", "\"input_length\" must be"},
      {"{\"timestamp\": 0, \"input_length\": 1.5, \"output_length\": 1}", "\"input_length\" must be"},
      {"{\"timestamp\": 0, \"input_length\": 1}", "\"output_length\" must be"},
      {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": 3}", "must be a list"},
      {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [-1]}", "integers in"},
      {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [4294967296]}", "integers in"},
      {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [\"a\"]}", "integers in"},
  };
  const std::string first = "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 2}\n";
  for (const Case& c : cases) {
    const fs::path file = write_file("wva-mooncake-bad.jsonl", first + c.line + "\n");
    auto t = load_trace(file.string());
    ASSERT_FALSE(t.ok()) << c.line;
    EXPECT_NE(t.error().message.find(file.string() + ":2: "), std::string::npos) << t.error().message;
    EXPECT_NE(t.error().message.find(c.error), std::string::npos) << t.error().message;
  }
  const fs::path backwards = write_file("wva-mooncake-bad.jsonl",
                                        "{\"timestamp\": 5000, \"input_length\": 10, \"output_length\": 2}\n"
                                        "{\"timestamp\": 10, \"input_length\": 1, \"output_length\": 1}\n");
  auto t = load_trace(backwards.string());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find(":2: timestamps go backwards"), std::string::npos) << t.error().message;
  const fs::path long_line =
      write_file("wva-mooncake-bad.jsonl", "{\"timestamp\": 0, \"x\": \"" + std::string(1 << 20, 'a') + "\"}\n");
  t = load_trace(long_line.string());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find(":1: line longer than 1 MiB"), std::string::npos);
  fs::remove(long_line);
}

TEST(TraceReader, OutOfRangeCountsAndTimesAreErrors) {
  // Found by fuzz_trace: a token count past 32 bits was read as a negative prompt.
  std::istringstream azure(
      "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6,10,5\n2023-11-16 18:15:47.1,22222222222,5\n");
  auto a = parse_trace(azure, "azure.csv");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("azure.csv:3: bad ContextTokens"), std::string::npos) << a.error().message;
  std::istringstream mooncake("{\"timestamp\": 1e400, \"input_length\": 1, \"output_length\": 1}\n");
  auto m = parse_trace(mooncake, "conv.jsonl");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("conv.jsonl:1: "), std::string::npos) << m.error().message;
}

PromptBlocks blocks(const std::vector<std::uint32_t>& hashes, std::uint32_t salt = 0) {
  return PromptBlocks{hashes.data(), static_cast<std::uint32_t>(hashes.size()), salt, 512};
}

TEST(PrefixCache, LongestCachedPrefixOfFullBlocksWithinTheFreeSpace) {
  PrefixCache cache;
  const std::vector<std::uint32_t> turn1{1, 2, 3}, turn2{1, 2, 3, 4}, other{9, 2, 3};
  cache.insert(blocks(turn1), 1300);  // two full 512-token blocks; the third is partial
  EXPECT_EQ(cache.blocks(), 2u);
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(turn2)), 1024);
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(other)), 0) << "a prefix, not any shared block";
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(turn2, 1)), 0) << "another loop of the trace";
  cache.insert(blocks(turn2), 4 * 512);
  EXPECT_EQ(cache.use_prefix(blocks(turn2)), 4 * 512);
  // Only what the pool's free space holds stays, the least recently used and a prompt's tail first.
  const std::vector<std::uint32_t> newer{20, 21};
  cache.insert(blocks(newer), 1024);
  cache.fit(3 * 512);
  EXPECT_EQ(cache.tokens(), 3 * 512);
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(newer)), 1024);
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(turn2)), 512) << "its leading block outlives its tail";
}

// Runs a replica alone until it has no work.
void run_to_idle(Replica& rep, double& now) {
  std::vector<std::uint32_t> finished;
  for (int i = 0; i < 100'000 && rep.has_work(); ++i) {
    auto end = rep.start_step(now);
    if (!end) break;
    now = *end;
    rep.finish_step(finished);
  }
}

TEST(PrefixCache, ASecondTurnComputesOnlyWhatIsNotCached) {
  const std::vector<std::uint32_t> turn1{1, 2, 3, 4, 5, 6, 7, 8}, turn2{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  for (const bool caching : {true, false}) {
    EngineConfig e = h100();
    e.prefix_caching = caching;
    RequestPool pool;
    Replica rep(e, pool);
    double now = 0;
    auto add = [&](int prompt, const std::vector<std::uint32_t>& hashes) {
      const auto id = pool.acquire();
      pool[id].arrival = now;
      pool[id].prompt = prompt;
      pool[id].output = 4;
      pool[id].blocks = blocks(hashes);
      rep.enqueue(id, now);
      run_to_idle(rep, now);
      return (pool[id].first_token - pool[id].arrival) * 1000;
    };
    const double first_ttft = add(4096, turn1);
    const double second_ttft = add(5120, turn2);
    const auto& c = rep.counters();
    EXPECT_EQ(c.prefix_cache_queries, caching ? 4096u + 5120u : 0u);
    if (caching) {
      EXPECT_EQ(c.prefix_cache_hits, 4096u) << "the first turn's 8 blocks";
      // The second turn computes 1024 tokens, not 5120: one prefill of them.
      EXPECT_NEAR(second_ttft, e.profile.prefill_ms(1024), 0.05 * e.profile.prefill_ms(1024));
      EXPECT_LT(second_ttft, first_ttft);
      // A prompt cached whole still computes its last token.
      add(4096, turn1);
      EXPECT_EQ(rep.counters().prefix_cache_hits, 4096u + 4095u);
    } else {
      EXPECT_EQ(c.prefix_cache_hits, 0u);
      EXPECT_NEAR(second_ttft, e.profile.prefill_ms(5120), 0.05 * e.profile.prefill_ms(5120));
    }
    EXPECT_EQ(rep.kv_used_tokens(), 0) << "finished requests free their KV, cached or not";
  }
}

// Two pods; two conversations of two turns each, the second turns 10 s after the first.
WorldConfig two_conversations(RouterConfig::Policy policy, std::shared_ptr<const Trace> trace) {
  WorldConfig c;
  VariantSpec v;
  v.name = "llama-h100";
  v.model = "m";
  v.engine = h100();
  v.initial_replicas = 2;
  c.variants.push_back(v);
  WorkloadSpec w;
  w.model = "m";
  TraceOptions o;
  w.make_stream = [trace, o] { return make_trace_stream(trace, o); };
  c.workloads.push_back(std::move(w));
  c.hpa_enabled = false;
  c.router.policy = policy;
  return c;
}

TEST(PrefixCache, PrefixAwareRoutingSendsTheNextTurnToItsPod) {
  Trace trace;
  trace.block_hashes = {1, 2, 3, 4, 11, 12, 13, 14, 1, 2, 3, 4, 5, 11, 12, 13, 14, 15};
  // A1, B1, then B2 before A2.
  trace.rows = {{0, 2048, 20, 0, 4}, {0, 2048, 20, 4, 4}, {10, 2560, 20, 13, 5}, {10.001, 2560, 20, 8, 5}};
  const auto shared = std::make_shared<const Trace>(trace);
  auto hits = [&](RouterConfig::Policy policy) {
    World world(two_conversations(policy, shared));
    world.advance_to(30);
    std::uint64_t total = 0;
    for (const Pod& p : world.pods()) total += p.replica->counters().prefix_cache_hits;
    EXPECT_EQ(world.summary().models.at(0).completed, 4u);
    return total;
  };
  EXPECT_EQ(hits(RouterConfig::Policy::kPrefixAware), 2u * 2048u) << "each second turn finds its first turn's pod";
  // Round robin alternates pods (A1, B1, B2, A2 -> 0, 1, 0, 1): each second turn lands on the other
  // conversation's pod.
  EXPECT_EQ(hits(RouterConfig::Policy::kRoundRobin), 0u);
}

}  // namespace
}  // namespace wva::emulator
