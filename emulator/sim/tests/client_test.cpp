// Clients that give up (timeouts counted as failed, KV freed, the fleet recovers) and the cost of a
// preemption (the victim recomputes its prompt and generated tokens, which lengthens that step for every
// decoding sequence).
#include <gtest/gtest.h>

#include "replica.h"
#include "world.h"

namespace wva::emulator {
namespace {

EngineConfig h100() {
  EngineConfig e;
  e.profile = *find_profile(builtin_profiles(), "llama-3.1-8b/H100");
  return e;
}

// One H100 pod under `rate` req/s of 2000/200-token requests for `load_s` seconds, then nothing.
WorldConfig overloaded_pod(double rate, double load_s, ClientConfig client) {
  WorldConfig c;
  VariantSpec v;
  v.name = "llama-h100";
  v.model = "m";
  v.engine = h100();
  v.initial_replicas = 1;
  c.variants.push_back(v);
  WorkloadSpec w;
  w.model = "m";
  w.slo_ttft_ms = 2000;
  w.slo_itl_ms = 50;
  RateOptions o;
  o.profile.kind = RateProfile::Kind::kConstant;
  o.profile.points = {{0, rate}};
  o.input.a = 2000;
  o.output.a = 200;
  o.duration = load_s;
  o.seed = 7;
  w.make_stream = [o] { return make_rate_stream(o); };
  c.workloads.push_back(std::move(w));
  c.hpa_enabled = false;
  c.client = client;
  return c;
}

TEST(ClientTimeout, OverloadedPodShedsRequestsWhoseClientsLeft) {
  // 40 req/s of 2000-token prompts is about 2.5x what one H100 serves: the queue grows without bound.
  ClientConfig patient;
  World without(overloaded_pod(40, 300, patient));
  without.advance_to(300);
  ClientConfig impatient;
  impatient.ttft_timeout_s = 20;
  World with(overloaded_pod(40, 300, impatient));
  with.advance_to(300);
  const auto a = without.summary().models.at(0);
  const auto b = with.summary().models.at(0);
  EXPECT_EQ(a.failed, 0u) << "without timeouts nobody gives up";
  ASSERT_GT(b.failures.count("client_timeout"), 0u);
  EXPECT_GT(b.failed, 1000u);
  // Nobody completed with a TTFT far past the timeout (one step of slack: a step in progress finishes).
  ASSERT_TRUE(b.ttft_p99_ms && a.ttft_p99_ms);
  EXPECT_LE(*b.ttft_p99_ms, 20'000 + 500);
  EXPECT_GT(*a.ttft_p99_ms, 60'000) << "the patient fleet serves requests minutes late";
  // The pod's queue is bounded by the timeout: at most ~20 s of arrivals wait.
  int waiting = 0;
  for (const auto& p : with.pods()) waiting += p.replica->waiting();
  EXPECT_LT(waiting, 40 * 20 + 50);
  // After the load ends, the impatient fleet is empty within a timeout; the patient one is still busy.
  with.advance_to(300 + 25);
  without.advance_to(300 + 25);
  EXPECT_FALSE(with.pods()[0].replica->has_work());
  EXPECT_TRUE(without.pods()[0].replica->has_work());
  EXPECT_DOUBLE_EQ(with.pods()[0].replica->kv_used_tokens(), 0) << "cancelled requests free their KV";
}

TEST(ClientTimeout, RequestTimeoutCancelsRunningRequestsAndFreesKv) {
  ClientConfig c;
  c.request_timeout_s = 5;  // 200 tokens at ~20-40 ms each near saturation: the slow ones are cancelled
  World w(overloaded_pod(11, 60, c));
  w.advance_to(60);
  const auto s = w.summary().models.at(0);
  ASSERT_GT(s.failures.count("client_timeout"), 0u);
  ASSERT_TRUE(s.e2e_p99_ms);
  EXPECT_LE(*s.e2e_p99_ms, 5000 + 200);
  w.advance_to(70);
  EXPECT_FALSE(w.pods()[0].replica->has_work());
  EXPECT_DOUBLE_EQ(w.pods()[0].replica->kv_used_tokens(), 0);
  EXPECT_EQ(s.requests, s.completed + s.failed + s.unfinished);
}

TEST(ClientTimeout, CancelledWaitingRequestLeavesAtTheNextStep) {
  RequestPool pool;
  EngineConfig e = h100();
  e.max_num_seqs = 1;
  Replica rep(e, pool);
  auto add = [&](int prompt, int output) {
    const auto id = pool.acquire();
    pool[id].prompt = prompt;
    pool[id].output = output;
    rep.enqueue(id, 0);
    return id;
  };
  const auto a = add(100, 20);
  const auto b = add(3000, 20);  // waits: max_num_seqs 1
  double now = *rep.start_step(0);
  std::vector<std::uint32_t> finished, cancelled;
  rep.finish_step(finished);
  EXPECT_EQ(rep.waiting(), 1);
  pool[b].cancelled = true;
  rep.note_cancelled();
  pool[a].cancelled = true;  // a running one too: its KV is freed
  rep.note_cancelled();
  EXPECT_GT(rep.kv_used_tokens(), 0);
  EXPECT_FALSE(rep.start_step(now).has_value()) << "nothing left to run";
  rep.take_cancelled(cancelled);
  EXPECT_EQ(cancelled.size(), 2u);
  EXPECT_EQ(rep.waiting(), 0);
  EXPECT_EQ(rep.running(), 0);
  EXPECT_DOUBLE_EQ(rep.kv_used_tokens(), 0);
  EXPECT_DOUBLE_EQ(rep.outstanding(), 0) << "the router no longer counts its prompt";
}

TEST(PreemptionCost, VictimRecomputesPromptAndGeneratedTokensInOneLongerStep) {
  RequestPool pool;
  EngineConfig e = h100();
  e.kv_cache_tokens = 2400;  // two requests of 1000 + up to 400 tokens cannot both finish
  Replica rep(e, pool);
  std::vector<std::uint32_t> ids;
  for (int i = 0; i < 2; ++i) {
    const auto id = pool.acquire();
    pool[id].prompt = 1000;
    pool[id].output = 400;
    rep.enqueue(id, 0);
    ids.push_back(id);
  }
  double now = 0;
  std::vector<std::uint32_t> finished;
  std::uint64_t preemptions = 0;
  double recompute_step_ms = 0, decode_step_ms = 0;
  for (int s = 0; s < 5000 && rep.has_work(); ++s) {
    const double before = rep.kv_used_tokens();
    now = *rep.start_step(now);
    const bool preempted_now = rep.counters().preemptions > preemptions;
    preemptions = rep.counters().preemptions;
    rep.finish_step(finished);
    if (preempted_now) decode_step_ms = rep.last_step_ms();
    // The first step after the survivor finishes re-prefills the victim: prompt + generated tokens.
    if (preemptions > 0 && recompute_step_ms == 0 && before == 0 && rep.running() == 1)
      recompute_step_ms = rep.last_step_ms();
  }
  ASSERT_EQ(finished.size(), 2u);
  ASSERT_GE(preemptions, 1u);
  const Request& victim = pool[finished.back()];
  EXPECT_GE(victim.preemptions, 1u);
  ASSERT_GT(decode_step_ms, 0);
  ASSERT_GT(recompute_step_ms, 0);
  // Recomputing ~1000+ tokens costs at least delta * 1000 ms more than a decode step.
  EXPECT_GT(recompute_step_ms, decode_step_ms + e.profile.prefill_delta_ms * 1000 * 0.9);
}

}  // namespace
}  // namespace wva::emulator
