#include "prefix_cache.h"

#include <algorithm>

namespace wva::emulator {

std::int64_t PrefixCache::cached_prefix_tokens(const PromptBlocks& blocks) const {
  std::int64_t tokens = 0;
  for (std::uint32_t i = 0; i < blocks.count && index_.contains(key(blocks, i)); ++i) tokens += blocks.block_tokens;
  return tokens;
}

// Blocks are made most recent from the last to the first, so a prompt's leading blocks (shared by more
// prompts) are evicted after its tail, as vLLM evicts.
std::int64_t PrefixCache::use_prefix(const PromptBlocks& blocks) {
  std::uint32_t n = 0;
  while (n < blocks.count && index_.contains(key(blocks, n))) ++n;
  for (std::uint32_t i = n; i-- > 0;) lru_.splice(lru_.begin(), lru_, index_.at(key(blocks, i)));
  return static_cast<std::int64_t>(n) * blocks.block_tokens;
}

void PrefixCache::insert(const PromptBlocks& blocks, std::int64_t prompt_tokens) {
  if (blocks.block_tokens <= 0) return;
  const std::int64_t full = std::min<std::int64_t>(blocks.count, prompt_tokens / blocks.block_tokens);
  for (auto i = static_cast<std::uint32_t>(full); i-- > 0;) {
    const std::uint64_t k = key(blocks, i);
    if (const auto it = index_.find(k); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      continue;
    }
    lru_.push_front({k, blocks.block_tokens});
    index_.emplace(k, lru_.begin());
    tokens_ += blocks.block_tokens;
  }
}

void PrefixCache::fit(double free_tokens) {
  while (!lru_.empty() && static_cast<double>(tokens_) > free_tokens) {
    tokens_ -= lru_.back().tokens;
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

}  // namespace wva::emulator
