#include "replica.h"

#include <algorithm>

namespace wva::emulator {

Replica::Replica(EngineConfig engine, RequestPool& pool)
    : engine_(std::move(engine)), pool_(pool), pool_tokens_(engine_.pool_tokens()), free_tokens_(pool_tokens_) {}

void Replica::enqueue(std::uint32_t request, double now) {
  Request& r = pool_[request];
  r.dispatched = now;
  waiting_.push_back(request);
  waiting_tokens_ += r.tokens() - r.computed;
}

void Replica::free_kv(Request& r) {
  // Its own KV goes back to the pool; the cached blocks it held stay cached, free once nobody holds them.
  const std::int64_t held = static_cast<std::int64_t>(r.cache_blocks) * r.blocks.block_tokens;
  free_tokens_ += static_cast<double>(r.computed - held);
  if (r.cache_blocks > 0) free_tokens_ += static_cast<double>(prefix_cache_.release(r.blocks, r.cache_blocks));
  r.computed = 0;
  r.cache_blocks = 0;
  r.blocks_cached = false;
}

void Replica::preempt(std::uint32_t request) {
  Request& r = pool_[request];
  free_kv(r);
  ++r.preemptions;
  ++counters_.preemptions;
  waiting_.push_front(request);
  waiting_tokens_ += r.tokens();
}

void Replica::purge_cancelled() {
  pending_cancels_ = 0;
  auto leave = [&](std::uint32_t id) {
    Request& r = pool_[id];
    if (!r.cancelled) return false;
    free_kv(r);
    cancelled_.push_back(id);
    return true;
  };
  running_.erase(std::remove_if(running_.begin(), running_.end(), leave), running_.end());
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const Request& r = pool_[*it];
    if (r.cancelled) {
      waiting_tokens_ -= r.tokens() - r.computed;
      leave(*it);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<double> Replica::start_step(double now) {
  if (in_step_) return std::nullopt;
  if (pending_cancels_ > 0) purge_cancelled();
  if (!has_work()) return std::nullopt;
  scheduled_.clear();
  std::int64_t budget = engine_.max_num_batched_tokens;
  bool preempted = false;
  int decoding = 0;
  double kv_attended = 0;
  double prefill_tokens = 0;

  // Running requests first, in admission order.
  std::size_t i = 0;
  while (i < running_.size() && budget > 0) {
    const std::uint32_t id = running_[i];
    Request& r = pool_[id];
    const std::int32_t need = static_cast<std::int32_t>(std::min<std::int64_t>(r.tokens() - r.computed, budget));
    bool self_preempted = false;
    while (free_tokens_ < need) {
      const std::uint32_t victim = running_.back();
      running_.pop_back();
      preempted = true;
      // The victim is at or after position i, so it was not scheduled this step.
      preempt(victim);
      if (victim == id) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) break;  // it was the last running request
    free_tokens_ -= need;
    budget -= need;
    scheduled_.emplace_back(id, need);
    if (need == 1 && r.computed > 0) {
      ++decoding;
      kv_attended += r.computed + 1;
    } else {
      prefill_tokens += need;
    }
    ++i;
  }

  // Then waiting requests, unless this step preempted (as vLLM V1 does).
  if (!preempted) {
    while (!waiting_.empty() && budget > 0 && running_.size() < static_cast<std::size_t>(engine_.max_num_seqs)) {
      const std::uint32_t id = waiting_.front();
      Request& r = pool_[id];
      // A fresh prompt (or one preempted back to nothing) starts from its cached leading blocks. Its last
      // token is always computed, so a step samples its first token: as vLLM, a prompt cached whole
      // recomputes its last block.
      PrefixCache::Hit hit;
      if (engine_.prefix_caching && r.computed == 0 && r.blocks.count > 0 && r.blocks.block_tokens > 0) {
        prefix_cache_.fit(free_tokens_);
        hit = prefix_cache_.find(r.blocks, static_cast<std::uint32_t>((r.prompt - 1) / r.blocks.block_tokens));
      }
      const std::int32_t need =
          static_cast<std::int32_t>(std::min<std::int64_t>(r.tokens() - r.computed - hit.tokens, budget));
      // Blocks some running request holds are shared: only the free ones take space.
      if (free_tokens_ < static_cast<double>(hit.free_tokens + need)) break;
      waiting_.pop_front();
      waiting_tokens_ -= r.tokens() - r.computed;
      if (engine_.prefix_caching && r.computed == 0) {
        counters_.prefix_cache_queries += static_cast<std::uint64_t>(r.prompt);
        if (hit.blocks > 0) {
          free_tokens_ -= static_cast<double>(prefix_cache_.hold(r.blocks, hit.blocks));
          counters_.prefix_cache_hits += static_cast<std::uint64_t>(hit.tokens);
          r.computed = static_cast<std::int32_t>(hit.tokens);
          r.cache_blocks = hit.blocks;
        }
      }
      running_.push_back(id);
      free_tokens_ -= need;
      budget -= need;
      scheduled_.emplace_back(id, need);
      prefill_tokens += need;
    }
  }
  // What this step allocated came first from the free space the unheld cached blocks were in.
  if (engine_.prefix_caching) prefix_cache_.fit(free_tokens_);
  if (scheduled_.empty()) return std::nullopt;  // nothing fits (cannot happen when prompts fit the pool)

  const double ms = engine_.profile.step_ms(decoding, kv_attended, prefill_tokens);
  in_step_ = true;
  step_start_ = now;
  step_end_ = now + ms / 1000.0;
  last_step_ms_ = ms;
  return step_end_;
}

void Replica::finish_step(std::vector<std::uint32_t>& finished) {
  if (!in_step_) return;
  in_step_ = false;
  ++counters_.steps;
  const double now = step_end_;
  const double step_s = last_step_ms_ / 1000.0;
  std::uint64_t itl_tokens = 0;
  bool any_finished = false;
  for (const auto& [id, n] : scheduled_) {
    Request& r = pool_[id];
    r.computed += n;
    if (engine_.prefix_caching && !r.blocks_cached && r.blocks.count > 0 && r.computed >= r.prompt) {
      r.blocks_cached = true;
      free_tokens_ += static_cast<double>(prefix_cache_.insert_held(r.blocks, r.prompt, r.cache_blocks));
      prefix_cache_.fit(free_tokens_);
    }
    if (r.computed < r.tokens()) continue;  // prefill chunk, more to come
    // All tokens computed: one token is sampled.
    ++r.generated;
    ++counters_.generation_tokens;
    if (r.first_token < 0) {
      r.first_token = now;
      counters_.ttft.observe(now - r.arrival);
    } else if (r.last_token >= 0) {
      // Time since this request's previous token: one step, or more after a preemption or a chunk.
      if (r.last_token == step_start_) ++itl_tokens;
      else counters_.itl.observe(now - r.last_token);
    }
    if (!r.counted_prompt) {
      r.counted_prompt = true;
      counters_.prompt_tokens += static_cast<std::uint64_t>(r.prompt);
    }
    r.last_token = now;
    if (r.generated >= r.output) {
      r.finished = now;
      free_kv(r);
      any_finished = true;
      ++counters_.request_success;
      counters_.e2e.observe(now - r.arrival);
      // A request's mean time per output token after the first: what its ITL SLO is met on.
      if (r.generated > 1) counters_.request_tpot.observe((now - r.first_token) / (r.generated - 1));
      counters_.prompt_hist.observe(r.prompt);
      counters_.generation_hist.observe(r.generated);
      finished.push_back(id);
    }
  }
  counters_.itl.observe(step_s, itl_tokens);
  if (any_finished) {
    running_.erase(
        std::remove_if(running_.begin(), running_.end(), [&](std::uint32_t id) { return pool_[id].finished >= 0; }),
        running_.end());
  }
}

void Replica::drop_all(std::vector<std::uint32_t>& dropped) {
  for (auto id : running_) pool_[id].computed = 0, pool_[id].cache_blocks = 0, dropped.push_back(id);
  for (auto id : waiting_) pool_[id].computed = 0, pool_[id].cache_blocks = 0, dropped.push_back(id);
  prefix_cache_.clear();
  running_.clear();
  waiting_.clear();
  waiting_tokens_ = 0;
  scheduled_.clear();
  in_step_ = false;
  free_tokens_ = pool_tokens_;
  pending_cancels_ = 0;
}

}  // namespace wva::emulator
