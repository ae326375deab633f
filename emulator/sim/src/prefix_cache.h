// vLLM's automatic prefix caching, per pod, at the granularity a trace names blocks (Mooncake's 512-token
// hash_ids). A prompt's full blocks are cached once the pod has computed them; a later prompt reuses the
// leading run of its blocks found here and computes only the rest. Cached blocks live in the KV pool's
// free space, so the least recently used go when that space shrinks. Approximation: a request that reuses
// blocks is charged their KV again (vLLM shares them between the requests running on them).
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>

#include "workload.h"

namespace wva::emulator {

class PrefixCache {
 public:
  // Tokens of the prompt's leading blocks found in the cache (nothing changes).
  std::int64_t cached_prefix_tokens(const PromptBlocks& blocks) const;
  // The same, and those blocks become the most recently used.
  std::int64_t use_prefix(const PromptBlocks& blocks);
  // Caches the full blocks of a computed prompt of `prompt_tokens` tokens.
  void insert(const PromptBlocks& blocks, std::int64_t prompt_tokens);
  // Evicts the least recently used blocks until the cached tokens fit in `free_tokens`.
  void fit(double free_tokens);
  std::int64_t tokens() const { return tokens_; }
  std::size_t blocks() const { return index_.size(); }

 private:
  static std::uint64_t key(const PromptBlocks& b, std::uint32_t i) {
    return (static_cast<std::uint64_t>(b.salt) << 32) | b.hashes[i];
  }
  struct Entry {
    std::uint64_t key;
    std::int32_t tokens;
  };
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::uint64_t, std::list<Entry>::iterator> index_;
  std::int64_t tokens_ = 0;
};

}  // namespace wva::emulator
