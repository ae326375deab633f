// One simulated vLLM server (engine V1 scheduler semantics), event-driven: a step is one event.
//
// Each step: running requests are scheduled first, in order, each computing min(tokens still to compute,
// token budget left) tokens (1 when decoding; a chunk when prefilling), within max_num_batched_tokens.
// KV slots for those tokens are taken from the pool (tokens); when the pool is full, the last running
// request is preempted (recompute: its KV is freed and it goes back to the head of the waiting queue).
// Then, if nothing was preempted, waiting requests are admitted while running < max_num_seqs, the budget
// lasts and their first chunk fits the pool. The step lasts StepProfile::step_ms(...). At its end a
// request whose tokens are all computed samples one token; the first one is its TTFT; it finishes when it
// has generated its output tokens and frees its KV. With prefix caching, a request admitted with nothing
// computed starts from the leading blocks of its prompt the pod has cached, shared with the other requests
// running on them (prefix_cache.h).
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "histogram.h"
#include "prefix_cache.h"
#include "profile.h"

namespace wva::emulator {

struct Request {
  double arrival = 0;       // s (world time) it reached the router
  double dispatched = -1;   // when a pod took it
  double first_token = -1;  // when its first token was sampled
  double last_token = -1;
  double finished = -1;
  std::int32_t prompt = 0;
  std::int32_t output = 1;  // tokens to generate (>= 1)
  std::int32_t generated = 0;
  std::int32_t computed = 0;  // tokens whose KV is in the pool (its own, or cached blocks it holds)
  std::uint32_t preemptions = 0;
  std::uint32_t source = 0;        // index of the workload / model stream that produced it
  std::int32_t pod = -1;           // replica id in the world
  std::uint64_t external_id = 0;   // non-zero for requests that arrived over HTTP
  std::uint64_t serial = 0;        // unique per world; tells a reused slot from its previous tenant
  PromptBlocks blocks;             // its prompt's block hashes, when the trace carries them
  std::uint32_t cache_blocks = 0;  // leading prompt blocks it holds in its pod's prefix cache (shared KV)
  bool blocks_cached = false;      // its prompt's blocks went into its pod's prefix cache
  bool counted_prompt = false;
  bool queued = false;     // waited at the router for a ready pod
  bool cancelled = false;  // its client gave up; the pod drops it at its next step boundary

  std::int32_t tokens() const { return prompt + generated; }
};

// Slot storage for requests: indices stay valid until released; no per-request heap allocation.
class RequestPool {
 public:
  std::uint32_t acquire() {
    if (!free_.empty()) {
      const std::uint32_t i = free_.back();
      free_.pop_back();
      items_[i] = Request{};
      return i;
    }
    items_.emplace_back();
    return static_cast<std::uint32_t>(items_.size() - 1);
  }
  void release(std::uint32_t i) { free_.push_back(i); }
  Request& operator[](std::uint32_t i) { return items_[i]; }
  const Request& operator[](std::uint32_t i) const { return items_[i]; }
  std::size_t live() const { return items_.size() - free_.size(); }

 private:
  std::vector<Request> items_;
  std::vector<std::uint32_t> free_;
};

// Cumulative per-pod counters and histograms, named after vLLM's metrics.
struct PodCounters {
  std::uint64_t request_success = 0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t generation_tokens = 0;
  std::uint64_t preemptions = 0;
  std::uint64_t steps = 0;
  std::uint64_t prefix_cache_queries = 0;  // prompt tokens looked up in the prefix cache (vLLM V1 counts tokens)
  std::uint64_t prefix_cache_hits = 0;     // of those, tokens found cached
  Histogram ttft{kTtftBuckets};
  Histogram itl{kItlBuckets};
  Histogram request_tpot{kItlBuckets};  // per request: (last token - first token) / (tokens - 1)
  Histogram e2e{kE2eBuckets};
  Histogram prompt_hist{kTokenBuckets};
  Histogram generation_hist{kTokenBuckets};
};

class Replica {
 public:
  Replica(EngineConfig engine, RequestPool& pool);

  // Puts a request in the waiting queue (the pod took it at `now`).
  void enqueue(std::uint32_t request, double now);
  bool in_step() const { return in_step_; }
  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  // Starts a step at `now` when idle and there is work; returns its end time.
  std::optional<double> start_step(double now);
  // Ends the step in progress (its end time is step_end()); finished requests are appended to `finished`.
  void finish_step(std::vector<std::uint32_t>& finished);
  double step_end() const { return in_step_ ? step_end_ : std::numeric_limits<double>::infinity(); }
  double step_start() const { return step_start_; }
  double last_step_ms() const { return last_step_ms_; }

  // Removes every request (termination past its grace period); their KV is freed.
  void drop_all(std::vector<std::uint32_t>& dropped);
  // A request of this pod was marked cancelled (its client gave up). It leaves at the next step boundary
  // (a step in progress computes what it scheduled, as vLLM aborts between steps); take_cancelled() hands
  // over the ones that left.
  void note_cancelled() { ++pending_cancels_; }
  void take_cancelled(std::vector<std::uint32_t>& out) {
    out.insert(out.end(), cancelled_.begin(), cancelled_.end());
    cancelled_.clear();
  }

  int running() const { return static_cast<int>(running_.size()); }
  int waiting() const { return static_cast<int>(waiting_.size()); }
  double kv_used_tokens() const { return pool_tokens_ - free_tokens_; }
  double kv_pool_tokens() const { return pool_tokens_; }
  double kv_usage() const { return pool_tokens_ > 0 ? kv_used_tokens() / pool_tokens_ : 0; }
  // Router score: requests in the pod plus queued prefill work in units of one full step's token budget.
  double outstanding() const {
    return static_cast<double>(running_.size() + waiting_.size()) +
           waiting_tokens_ / static_cast<double>(engine_.max_num_batched_tokens);
  }
  // Prompt tokens of `request` this pod has cached (its prefix cache; 0 without block hashes).
  std::int64_t cached_prefix_tokens(const Request& request) const {
    return engine_.prefix_caching ? prefix_cache_.cached_prefix_tokens(request.blocks) : 0;
  }
  const EngineConfig& engine() const { return engine_; }
  const PodCounters& counters() const { return counters_; }

 private:
  void preempt(std::uint32_t request);
  void free_kv(Request& r);
  void purge_cancelled();

  EngineConfig engine_;
  RequestPool& pool_;
  double pool_tokens_;
  double free_tokens_;
  std::vector<std::uint32_t> running_;
  std::deque<std::uint32_t> waiting_;
  double waiting_tokens_ = 0;                                      // tokens still to compute by waiting requests
  std::vector<std::pair<std::uint32_t, std::int32_t>> scheduled_;  // request, tokens this step
  bool in_step_ = false;
  double step_start_ = 0;
  double step_end_ = 0;
  double last_step_ms_ = 0;
  int pending_cancels_ = 0;
  std::vector<std::uint32_t> cancelled_;
  PodCounters counters_;
  PrefixCache prefix_cache_;
};

}  // namespace wva::emulator
