// Calibration of one simulated vLLM replica against the step-time formula of the measured profiles.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <utility>

#include "replica.h"
#include "world.h"

namespace wva::emulator {
namespace {

EngineConfig h100() {
  EngineConfig e;
  e.profile = *find_profile(builtin_profiles(), "llama-3.1-8b/H100");
  return e;
}

// Runs a replica alone until it has no work; returns finished request ids in order.
std::vector<std::uint32_t> run_to_idle(Replica& rep, double& now, int max_steps = 1'000'000) {
  std::vector<std::uint32_t> finished;
  for (int i = 0; i < max_steps && rep.has_work(); ++i) {
    auto end = rep.start_step(now);
    if (!end) break;
    now = *end;
    rep.finish_step(finished);
  }
  return finished;
}

std::uint32_t add(RequestPool& pool, Replica& rep, double now, int prompt, int output) {
  const auto id = pool.acquire();
  pool[id].arrival = now;
  pool[id].prompt = prompt;
  pool[id].output = output;
  rep.enqueue(id, now);
  return id;
}

TEST(ReplicaCalibration, OneRequestAloneMatchesPrefillAndBatchOneStep) {
  RequestPool pool;
  Replica rep(h100(), pool);
  const StepProfile& p = rep.engine().profile;
  double now = 0;
  const int prompt = 1000, output = 100;
  const auto id = add(pool, rep, now, prompt, output);
  auto done = run_to_idle(rep, now);
  ASSERT_EQ(done.size(), 1u);
  const Request& r = pool[id];
  const double ttft_ms = (r.first_token - r.arrival) * 1000;
  EXPECT_NEAR(ttft_ms, p.prefill_ms(prompt), 0.02 * p.prefill_ms(prompt));
  const double itl_ms = (r.finished - r.first_token) * 1000 / (output - 1);
  // Batch 1, mean context over the decode phase.
  const double expected = p.step_ms(1, prompt + output / 2.0, 0);
  EXPECT_NEAR(itl_ms, expected, 0.02 * expected);
  // And against the measured profile point (batch 1, ctx 512: 7.154 ms) within the fit's error (4%).
  EXPECT_NEAR(p.step_ms(1, 512, 0), 7.1542, 0.04 * 7.1542);
  EXPECT_EQ(r.generated, output);
  EXPECT_EQ(rep.kv_used_tokens(), 0) << "finished requests free their KV";
  // vllm:request_time_per_output_token_seconds: the request's own mean, once.
  EXPECT_EQ(rep.counters().request_tpot.count(), 1u);
  EXPECT_NEAR(rep.counters().request_tpot.sum() * 1000, itl_ms, 1e-6);
  // A one-token answer has no time per output token.
  add(pool, rep, now, 50, 1);
  run_to_idle(rep, now);
  EXPECT_EQ(rep.counters().request_tpot.count(), 1u);
}

TEST(ReplicaCalibration, BatchOfNMatchesStepFormula) {
  for (int n : {8, 64, 256}) {
    RequestPool pool;
    const int prompt = 512, output = 64;
    EngineConfig e = h100();
    e.max_num_batched_tokens = n * prompt;  // one prefill step, then all n decode in lock step
    Replica rep(e, pool);
    const StepProfile& p = rep.engine().profile;
    double now = 0;
    std::vector<std::uint32_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back(add(pool, rep, now, prompt, output));
    // Step until every request decodes, then check one pure decode step against the formula.
    std::vector<std::uint32_t> finished;
    bool checked = false;
    for (int s = 0; s < 10'000 && rep.has_work(); ++s) {
      auto end = rep.start_step(now);
      ASSERT_TRUE(end.has_value());
      bool all_decoding = true;
      double kv = 0;
      for (auto id : ids) {
        all_decoding = all_decoding && pool[id].computed == pool[id].tokens() - 1 && pool[id].generated >= 1;
        kv += pool[id].computed + 1;
      }
      if (all_decoding && !checked) {
        const double expected = p.step_ms(n, kv, 0);
        EXPECT_NEAR(rep.last_step_ms(), expected, 1e-9 * expected) << "n=" << n;
        // The same step against the batch/ctx decode points of the measurement within the fit's 4-6%.
        checked = true;
      }
      now = *end;
      rep.finish_step(finished);
    }
    ASSERT_TRUE(checked);
    ASSERT_EQ(finished.size(), static_cast<std::size_t>(n));
    // Mean ITL of every request equals the mean decode step (all decode in lock step).
    const Request& r = pool[ids.back()];
    const double itl_ms = (r.finished - r.first_token) * 1000 / (output - 1);
    const double mid_ctx = prompt + output / 2.0;
    const double expected = p.step_ms(n, n * mid_ctx, 0);
    EXPECT_NEAR(itl_ms, expected, 0.02 * expected) << "n=" << n;
  }
}

TEST(ReplicaCalibration, ChunkedPrefillRespectsTokenBudgetAndMixesWithDecode) {
  RequestPool pool;
  EngineConfig e = h100();
  e.max_num_batched_tokens = 2048;
  Replica rep(e, pool);
  double now = 0;
  const auto a = add(pool, rep, now, 100, 50);
  std::vector<std::uint32_t> finished;
  rep.finish_step(finished);
  now = *rep.start_step(now);
  rep.finish_step(finished);  // a prefilled, decoding now
  const auto b = add(pool, rep, now, 5000, 10);
  now = *rep.start_step(now);
  // a decodes 1 token, b gets the rest of the budget: 2047 prompt tokens.
  const StepProfile& p = e.profile;
  EXPECT_NEAR(rep.last_step_ms(), p.step_ms(1, 101, 2047), 1e-9);
  rep.finish_step(finished);
  EXPECT_EQ(pool[b].computed, 2047);
  EXPECT_EQ(pool[a].generated, 2);
  EXPECT_LT(pool[b].first_token, 0);
}

TEST(ReplicaCalibration, KvUseIsTokensInUseOverPool) {
  RequestPool pool;
  EngineConfig e = h100();
  e.kv_cache_tokens = 10000;
  Replica rep(e, pool);
  double now = 0;
  std::vector<std::uint32_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(add(pool, rep, now, 300 + 100 * i, 40));
  std::vector<std::uint32_t> finished;
  for (int s = 0; s < 20; ++s) {
    now = *rep.start_step(now);
    rep.finish_step(finished);
    double in_use = 0;
    for (auto id : ids) in_use += pool[id].computed;
    EXPECT_DOUBLE_EQ(rep.kv_used_tokens(), in_use);
    EXPECT_DOUBLE_EQ(rep.kv_usage(), in_use / 10000.0);
  }
  // After the prefill: prompt + generated - 1 tokens each.
  double expected = 0;
  for (auto id : ids) expected += pool[id].prompt + pool[id].generated - 1;
  EXPECT_DOUBLE_EQ(rep.kv_used_tokens(), expected);
}

TEST(ReplicaCalibration, PreemptionHappensExactlyWhenThePoolOverflows) {
  RequestPool pool;
  EngineConfig e = h100();
  e.kv_cache_tokens = 1000;
  Replica rep(e, pool);
  double now = 0;
  const auto a = add(pool, rep, now, 400, 300);
  const auto b = add(pool, rep, now, 400, 300);
  std::vector<std::uint32_t> finished;
  // Prefill both (800 tokens), then decode: each step needs 2 more slots. 200 free -> 100 steps fit.
  now = *rep.start_step(now);
  rep.finish_step(finished);
  EXPECT_EQ(rep.kv_used_tokens(), 800);
  for (int s = 0; s < 100; ++s) {
    ASSERT_LE(rep.kv_used_tokens() + 2, 1000) << "step " << s;
    now = *rep.start_step(now);
    rep.finish_step(finished);
    EXPECT_EQ(rep.counters().preemptions, 0u) << "no preemption while the pool has room, step " << s;
  }
  EXPECT_EQ(rep.kv_used_tokens(), 1000);
  // The next step needs 2 slots with 0 free: the last admitted request (b) is preempted.
  now = *rep.start_step(now);
  EXPECT_EQ(rep.counters().preemptions, 1u);
  EXPECT_EQ(pool[b].computed, 0);
  EXPECT_EQ(pool[b].preemptions, 1u);
  EXPECT_EQ(rep.waiting(), 1);
  EXPECT_EQ(rep.running(), 1);
  rep.finish_step(finished);
  EXPECT_EQ(pool[a].computed, 501);
  // Everything still completes (b recomputes prompt + generated tokens after a finishes).
  auto rest = run_to_idle(rep, now);
  finished.insert(finished.end(), rest.begin(), rest.end());
  EXPECT_EQ(finished.size(), 2u);
  EXPECT_EQ(pool[b].generated, 300);
  EXPECT_EQ(rep.kv_used_tokens(), 0);
}

TEST(ReplicaCalibration, MaxNumSeqsCapsRunning) {
  RequestPool pool;
  EngineConfig e = h100();
  e.max_num_seqs = 4;
  Replica rep(e, pool);
  for (int i = 0; i < 10; ++i) add(pool, rep, 0, 10, 100);
  auto end = rep.start_step(0);
  ASSERT_TRUE(end);
  EXPECT_EQ(rep.running(), 4);
  EXPECT_EQ(rep.waiting(), 6);
}

// One H100 pod (HPA off) under `rate` req/s of uniform prompt and output lengths.
WorldConfig one_pod(double rate, std::pair<int, int> input, std::pair<int, int> output, std::uint64_t seed) {
  WorldConfig cfg;
  VariantSpec v;
  v.name = "m-h100";
  v.model = "m";
  v.engine = h100();
  v.initial_replicas = 1;
  cfg.variants.push_back(v);
  cfg.hpa_enabled = false;
  WorkloadSpec w;
  w.model = "m";
  w.make_stream = [=] {
    RateOptions o;
    o.profile.kind = RateProfile::Kind::kConstant;
    o.profile.points = {{0, rate}};
    o.input.kind = TokenDist::Kind::kUniform;
    o.input.a = input.first, o.input.b = input.second;
    o.output.kind = TokenDist::Kind::kUniform;
    o.output.a = output.first, o.output.b = output.second;
    o.seed = seed;
    return make_rate_stream(o);
  };
  cfg.workloads.push_back(w);
  return cfg;
}

TEST(WorldCalibration, LittlesLawHoldsOnASteadyRun) {
  const double rate = 8;
  World world(one_pod(rate, {200, 2000}, {50, 400}, 7));
  // Warm up, then time-average the number in the system over a long window.
  world.advance_to(100);
  const double t0 = 100, t1 = 2100, dt = 0.05;
  double area = 0;
  for (double t = t0; t < t1; t += dt) {
    world.advance_to(t + dt);
    int in_system = world.router_queue(0);
    for (const auto& p : world.pods())
      if (p.state != PodState::kGone) in_system += p.replica->running() + p.replica->waiting();
    area += in_system * dt;
  }
  const double L = area / (t1 - t0);
  const auto s = world.summary();
  ASSERT_EQ(s.models.size(), 1u);
  const double lambda = static_cast<double>(s.models[0].requests) / world.now();
  // W: mean sojourn (e2e) of completed requests.
  const auto& flow = world.variant_flow(0);
  ASSERT_GT(flow.completed, 10000);
  EXPECT_GT(L, 1.0);
  const double W = world.mean_e2e_s(0);
  EXPECT_NEAR(L, lambda * W, 0.05 * L) << "L=" << L << " lambda=" << lambda << " W=" << W;
  EXPECT_NEAR(lambda, rate, 0.05 * rate);
  EXPECT_EQ(s.models[0].failed, 0u);
}

TEST(WorldLoad, TpotBucketsAreTheWindowsCompletionsByTheirMeanTimePerOutputToken) {
  // One pod near its knee (some requests over 50 ms per token): the variant's buckets over the whole run,
  // as rates, are the pod's request_time_per_output_token_seconds histogram (two paths that count the same
  // completions), cumulative with +Inf last.
  const WorldConfig cfg = one_pod(4, {200, 6000}, {2, 300}, 11);
  World world(cfg);
  world.advance_to(600);
  const auto load = world.variant_load(0, 1e9);  // since the first sample
  ASSERT_EQ(load.tpot_buckets.size(), std::size(kItlBuckets) + 1);
  EXPECT_TRUE(std::isinf(load.tpot_buckets.back().first));
  const double dt = world.now() - world.samples().front().t;
  const auto& pod_hist = world.pods().at(0).replica->counters().request_tpot;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < load.tpot_buckets.size(); ++i) {
    cumulative += pod_hist.counts()[i];
    EXPECT_NEAR(load.tpot_buckets[i].second * dt, static_cast<double>(cumulative), 1e-6) << "bucket " << i;
    if (i < std::size(kItlBuckets)) {
      EXPECT_EQ(load.tpot_buckets[i].first, kItlBuckets[i]);
    }
  }
  EXPECT_NEAR(load.tpot_buckets.back().second * dt, world.variant_flow(0).itl_count, 1e-6);
  // Some requests are over 50 ms and most are not: the buckets separate them.
  const double under = load.tpot_buckets[2].second * dt;  // le 0.05
  EXPECT_GT(under, 0.5 * static_cast<double>(cumulative));
  EXPECT_LT(under, static_cast<double>(cumulative));
  // A window with no completion of two or more tokens has no buckets (unknown, not "no miss").
  World idle(cfg);
  EXPECT_TRUE(idle.variant_load(0, 60).tpot_buckets.empty());
}

}  // namespace
}  // namespace wva::emulator
