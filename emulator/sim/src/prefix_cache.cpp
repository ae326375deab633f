#include "prefix_cache.h"

#include <algorithm>

namespace wva::emulator {

PrefixCache::Hit PrefixCache::find(const PromptBlocks& blocks, std::uint32_t max_blocks) const {
  Hit hit;
  const std::uint32_t limit = std::min(blocks.count, max_blocks);
  for (; hit.blocks < limit; ++hit.blocks) {
    const auto it = index_.find(key(blocks, hit.blocks));
    if (it == index_.end()) break;
    hit.tokens += it->second->tokens;
    if (it->second->holders == 0) hit.free_tokens += it->second->tokens;
  }
  return hit;
}

// Blocks are made most recent from the last to the first, so a prompt's leading blocks (shared by more
// prompts) are evicted after its tail, as vLLM evicts.
std::int64_t PrefixCache::hold(const PromptBlocks& blocks, std::uint32_t n) {
  std::int64_t taken = 0;
  for (std::uint32_t i = std::min(n, blocks.count); i-- > 0;) {
    const auto it = index_.at(key(blocks, i));
    if (it->holders++ == 0) taken += it->tokens, free_tokens_ -= it->tokens;
    lru_.splice(lru_.begin(), lru_, it);
  }
  return taken;
}

std::int64_t PrefixCache::insert_held(const PromptBlocks& blocks, std::int64_t prompt_tokens, std::uint32_t& held) {
  if (blocks.block_tokens <= 0) return 0;
  const auto full =
      static_cast<std::uint32_t>(std::min<std::int64_t>(blocks.count, prompt_tokens / blocks.block_tokens));
  std::int64_t freed = 0;
  for (std::uint32_t i = full; i-- > 0;) {
    const std::uint64_t k = key(blocks, i);
    if (const auto found = index_.find(k); found != index_.end()) {
      const auto it = found->second;
      if (i >= held) {
        // Cached meanwhile by another request: this one's copy goes, and it holds the cached one. A copy
        // some request holds costs nothing more; a free one moves from the free space to held.
        if (it->holders == 0) free_tokens_ -= it->tokens;
        else freed += blocks.block_tokens;
        ++it->holders;
      }
      lru_.splice(lru_.begin(), lru_, it);
      continue;
    }
    lru_.push_front({k, blocks.block_tokens, 1});
    index_.emplace(k, lru_.begin());
    tokens_ += blocks.block_tokens;
  }
  held = std::max(held, full);
  return freed;
}

std::int64_t PrefixCache::release(const PromptBlocks& blocks, std::uint32_t n) {
  std::int64_t released = 0;
  for (std::uint32_t i = 0; i < std::min(n, blocks.count); ++i) {
    const auto it = index_.at(key(blocks, i));
    if (--it->holders == 0) released += it->tokens, free_tokens_ += it->tokens;
  }
  return released;
}

void PrefixCache::fit(double free_tokens) {
  auto it = lru_.end();
  while (static_cast<double>(free_tokens_) > free_tokens && it != lru_.begin()) {
    --it;
    if (it->holders > 0) continue;
    tokens_ -= it->tokens;
    free_tokens_ -= it->tokens;
    index_.erase(it->key);
    it = lru_.erase(it);
  }
}

void PrefixCache::clear() {
  lru_.clear();
  index_.clear();
  tokens_ = free_tokens_ = 0;
}

}  // namespace wva::emulator
