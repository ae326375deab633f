// vLLM's automatic prefix caching, per pod, at the granularity a trace names blocks (Mooncake's 512-token
// hash_ids). A prompt's full blocks are cached once the pod has computed them; a later prompt reuses the
// leading run of its blocks found here and computes only the rest.
//
// As in vLLM's block pool, a cached block is one copy of its KV, counted by the requests that hold it:
// requests running on a shared prefix share its blocks (the pool pays for them once), and a block no
// running request holds stays cached in the pool's free space, evicted least recently used first when
// an allocation needs that space. The replica keeps the pool's count; this class says how many tokens
// each operation moves between the free space and the held blocks.
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>

#include "workload.h"

namespace wva::emulator {

class PrefixCache {
 public:
  struct Hit {
    std::uint32_t blocks = 0;
    std::int64_t tokens = 0;       // tokens of those blocks
    std::int64_t free_tokens = 0;  // of those, in blocks no request holds: holding them takes free space
  };

  // The leading blocks of the prompt found cached, at most `max_blocks` (nothing changes).
  Hit find(const PromptBlocks& blocks, std::uint32_t max_blocks) const;
  std::int64_t cached_prefix_tokens(const PromptBlocks& blocks) const { return find(blocks, blocks.count).tokens; }
  // A request holds the prompt's first `n` blocks (all cached: found by find()); they become the most
  // recently used and are not evicted while held. Returns the tokens of those that were free.
  std::int64_t hold(const PromptBlocks& blocks, std::uint32_t n);
  // A request holding the prompt's first `held` blocks has computed `prompt_tokens` of it: its full blocks
  // past those join the cache, held by it (its own KV becomes the cached copy), and `held` becomes the
  // count of full blocks. Returns the tokens of its own KV this frees: blocks another request cached
  // meanwhile, whose copy it now shares.
  std::int64_t insert_held(const PromptBlocks& blocks, std::int64_t prompt_tokens, std::uint32_t& held);
  // The request lets go of the prompt's first `n` blocks. Returns the tokens of those no request holds any
  // more: they stay cached, in the free space.
  std::int64_t release(const PromptBlocks& blocks, std::uint32_t n);
  // Evicts the least recently used blocks no request holds until those fit in `free_tokens`.
  void fit(double free_tokens);
  // Forgets everything (the pod's KV pool is gone).
  void clear();

  std::int64_t tokens() const { return tokens_; }
  std::int64_t free_tokens() const { return free_tokens_; }  // cached, held by no request
  std::size_t blocks() const { return index_.size(); }

 private:
  static std::uint64_t key(const PromptBlocks& b, std::uint32_t i) {
    return (static_cast<std::uint64_t>(b.salt) << 32) | b.hashes[i];
  }
  struct Entry {
    std::uint64_t key;
    std::int32_t tokens;
    std::uint32_t holders;  // running requests whose prompt starts with this block
  };
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::uint64_t, std::list<Entry>::iterator> index_;
  std::int64_t tokens_ = 0;
  std::int64_t free_tokens_ = 0;
};

}  // namespace wva::emulator
