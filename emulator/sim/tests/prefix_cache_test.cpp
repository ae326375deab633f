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
  std::uint32_t held = 0;
  EXPECT_EQ(cache.insert_held(blocks(turn1), 1300, held), 0);  // two full 512-token blocks; the third is partial
  EXPECT_EQ(held, 2u);
  EXPECT_EQ(cache.blocks(), 2u);
  EXPECT_EQ(cache.free_tokens(), 0) << "held by the request that computed them";
  EXPECT_EQ(cache.release(blocks(turn1), held), 1024);
  EXPECT_EQ(cache.free_tokens(), 1024);
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(turn2)), 1024);
  EXPECT_EQ(cache.find(blocks(turn2), 1).tokens, 512) << "at most the blocks asked for";
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(other)), 0) << "a prefix, not any shared block";
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(turn2, 1)), 0) << "another loop of the trace";
  held = 0;
  cache.insert_held(blocks(turn2), 4 * 512, held);
  cache.release(blocks(turn2), held);
  EXPECT_EQ(cache.hold(blocks(turn2), 4), 4 * 512);
  EXPECT_EQ(cache.release(blocks(turn2), 4), 4 * 512);
  // Only what the pool's free space holds stays, the least recently used and a prompt's tail first.
  const std::vector<std::uint32_t> newer{20, 21};
  held = 0;
  cache.insert_held(blocks(newer), 1024, held);
  cache.release(blocks(newer), held);
  cache.fit(3 * 512);
  EXPECT_EQ(cache.tokens(), 3 * 512);
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(newer)), 1024);
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(turn2)), 512) << "its leading block outlives its tail";
}

TEST(PrefixCache, HeldBlocksAreSharedAndNeverEvicted) {
  PrefixCache cache;
  const std::vector<std::uint32_t> a{1, 2, 3, 4}, b{1, 2, 7, 8};
  std::uint32_t held_a = 0;
  cache.insert_held(blocks(a), 4 * 512, held_a);  // request A computed its prompt and is still running
  // B shares A's first two blocks: holding them takes no free space (A's copy is the one copy).
  const PrefixCache::Hit hit = cache.find(blocks(b), 4);
  EXPECT_EQ(hit.blocks, 2u);
  EXPECT_EQ(hit.tokens, 1024);
  EXPECT_EQ(hit.free_tokens, 0);
  EXPECT_EQ(cache.hold(blocks(b), hit.blocks), 0);
  // A finishes: its tail is free; its head is still B's.
  EXPECT_EQ(cache.release(blocks(a), held_a), 1024);
  cache.fit(0);
  EXPECT_EQ(cache.blocks(), 2u) << "with no free space, only the blocks B holds stay";
  EXPECT_EQ(cache.cached_prefix_tokens(blocks(a)), 1024);
  // B computes its own tail; a request that computed blocks cached meanwhile gives its copy back.
  std::uint32_t held_b = hit.blocks;
  EXPECT_EQ(cache.insert_held(blocks(b), 4 * 512, held_b), 0);
  EXPECT_EQ(held_b, 4u);
  std::uint32_t held_c = 0;
  EXPECT_EQ(cache.insert_held(blocks(b), 4 * 512, held_c), 4 * 512) << "all four were B's: C shares them";
  EXPECT_EQ(cache.release(blocks(b), held_b), 0) << "C still holds them";
  EXPECT_EQ(cache.release(blocks(b), held_c), 4 * 512);
  EXPECT_EQ(cache.free_tokens(), cache.tokens());
  cache.clear();
  EXPECT_EQ(cache.tokens(), 0);
  EXPECT_EQ(cache.blocks(), 0u);
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
      // A prompt cached whole still computes its last token: as vLLM, its last block is recomputed.
      add(4096, turn1);
      EXPECT_EQ(rep.counters().prefix_cache_hits, 4096u + 7u * 512u);
    } else {
      EXPECT_EQ(c.prefix_cache_hits, 0u);
      EXPECT_NEAR(second_ttft, e.profile.prefill_ms(5120), 0.05 * e.profile.prefill_ms(5120));
    }
    EXPECT_EQ(rep.kv_used_tokens(), 0) << "finished requests free their KV, cached or not";
  }
}

// Requests running on one cached prefix share its blocks: the pool pays for them once.
TEST(PrefixCache, RequestsOnASharedPrefixPayForItOnce) {
  EngineConfig e = h100();
  e.prefix_caching = true;
  RequestPool pool;
  Replica rep(e, pool);
  double now = 0;
  const std::vector<std::uint32_t> system_prompt{1, 2, 3, 4, 5, 6, 7, 8};
  auto enqueue = [&](int prompt, int output) {
    const auto id = pool.acquire();
    pool[id].arrival = now;
    pool[id].prompt = prompt;
    pool[id].output = output;
    pool[id].blocks = blocks(system_prompt);
    rep.enqueue(id, now);
    return id;
  };
  enqueue(4096, 2);
  run_to_idle(rep, now);
  ASSERT_EQ(rep.kv_used_tokens(), 0);
  // Four requests with the same 4096-token prompt and long answers, admitted together: each holds the 7
  // cached blocks and computes the last one itself (vLLM recomputes a whole hit's last block), which it
  // then shares too. Three steps: the prefill and first token, then two decoded tokens each.
  std::vector<std::uint32_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(enqueue(4096, 200));
  std::vector<std::uint32_t> finished;
  for (int i = 0; i < 3; ++i) {
    now = *rep.start_step(now);
    rep.finish_step(finished);
  }
  ASSERT_EQ(rep.running(), 4);
  for (const auto id : ids) EXPECT_EQ(pool[id].cache_blocks, 8u);
  EXPECT_DOUBLE_EQ(rep.kv_used_tokens(), 4096 + 4 * 2) << "the prompt once, plus each one's two decoded tokens";
  run_to_idle(rep, now);
  EXPECT_EQ(rep.kv_used_tokens(), 0);
  EXPECT_EQ(rep.counters().prefix_cache_hits, 4u * 7u * 512u);
}

// A small pool under many conversations sharing prefixes: preemptions, evictions and cancellations never
// lose or double-count KV (the pool's use stays within [0, pool], and is 0 once every request has left).
TEST(PrefixCache, ThePoolBalancesUnderPreemptionEvictionAndCancellation) {
  EngineConfig e = h100();
  e.prefix_caching = true;
  e.kv_cache_tokens = 24 * 512;
  RequestPool pool;
  Replica rep(e, pool);
  std::vector<std::vector<std::uint32_t>> prompts;
  std::uint64_t seed = 42;
  auto next = [&seed](std::uint64_t n) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (seed >> 33) % n;
  };
  for (std::uint32_t c = 0; c < 40; ++c) {  // 40 prompts: 10 families sharing their first 1-4 blocks
    std::vector<std::uint32_t> h;
    const std::uint32_t family = c % 10, shared = 1 + family % 4, length = shared + 1 + next(6);
    for (std::uint32_t i = 0; i < length; ++i) h.push_back(i < shared ? family * 100 + i : 1000 + c * 100 + i);
    prompts.push_back(std::move(h));
  }
  double now = 0;
  std::vector<std::uint32_t> finished, cancelled, live;
  std::uint64_t preemptions_seen = 0;
  for (int step = 0; step < 20'000; ++step) {
    if (step < 15'000 && rep.running() + rep.waiting() < 6 && next(3) == 0) {
      const auto& h = prompts[next(prompts.size())];
      const auto id = pool.acquire();
      pool[id].arrival = now;
      pool[id].prompt = static_cast<std::int32_t>(h.size() * 512 - next(511));
      pool[id].output = static_cast<std::int32_t>(1 + next(60));
      pool[id].blocks = blocks(h);
      rep.enqueue(id, now);
      live.push_back(id);
    }
    if (!live.empty() && next(50) == 0) {  // a client gives up
      const auto id = live[next(live.size())];
      if (!pool[id].cancelled && pool[id].finished < 0) pool[id].cancelled = true, rep.note_cancelled();
    }
    const auto end = rep.start_step(now);
    if (!end) {
      if (step >= 15'000 && !rep.has_work()) break;
      now += 0.01;
      continue;
    }
    now = *end;
    rep.finish_step(finished);
    rep.take_cancelled(cancelled);
    ASSERT_GE(rep.kv_used_tokens(), 0) << "step " << step;
    ASSERT_LE(rep.kv_used_tokens(), rep.kv_pool_tokens()) << "step " << step;
    preemptions_seen = rep.counters().preemptions;
  }
  EXPECT_FALSE(rep.has_work()) << rep.running() << " running, " << rep.waiting() << " waiting at " << now;
  EXPECT_GT(preemptions_seen, 0u) << "the pool was meant to be short";
  EXPECT_GT(rep.counters().prefix_cache_hits, 0u);
  EXPECT_GT(cancelled.size(), 0u);
  EXPECT_EQ(rep.kv_used_tokens(), 0) << "every request has left: nothing is held";
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
