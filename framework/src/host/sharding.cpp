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

}  // namespace wva::framework
