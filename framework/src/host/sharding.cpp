#include "host/sharding.h"

namespace wva::framework {
namespace {

constexpr std::uint64_t kOffsetBasis = 14695981039346656037ull;
constexpr std::uint64_t kPrime = 1099511628211ull;

std::uint64_t mix(std::uint64_t h, std::string_view bytes) {
  for (const char c : bytes) {
    h ^= static_cast<std::uint8_t>(c);
    h *= kPrime;
  }
  return h;
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes) { return mix(kOffsetBasis, bytes); }

std::size_t shard_of(std::string_view ns, std::string_view id, std::size_t shards) {
  if (shards <= 1) return 0;
  const std::uint64_t h = mix(mix(mix(kOffsetBasis, ns), "/"), id);
  return static_cast<std::size_t>(h % shards);
}

VaShards::VaShards(std::span<const sdk::ModelView> models, std::size_t shards) : shards_(shards) {
  for (const auto& m : models) {
    const std::size_t shard = shard_of(m.key.ns, m.key.model_id, shards);
    if (!m.va_name.empty()) by_va_.emplace(std::pair{m.key.ns, m.va_name}, shard);
    for (const auto& v : m.variants)
      if (!v.va_name.empty()) by_va_.emplace(std::pair{m.key.ns, v.va_name}, shard);
  }
}

std::size_t VaShards::of(const sdk::ResourceCondition& condition) const {
  auto it = by_va_.find(std::pair{condition.ns, condition.va_name});
  return it != by_va_.end() ? it->second : shard_of(condition.ns, condition.va_name, shards_);
}

}  // namespace wva::framework
