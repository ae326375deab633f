// Static assignment of models to shards (`wva run --shards N`), a stable contract: a model belongs to shard
//   fnv1a64(namespace + "/" + modelID) mod N
// with FNV-1a 64 over the bytes of the two strings as the VariantAutoscaling carries them (offset basis
// 14695981039346656037, prime 1099511628211). The assignment depends on nothing else (not the process, the
// build, the order of models or the number of replicas), so every replica, and every version of WVA,
// computes the same shard for a model. A VariantAutoscaling without a usable model (its conditions only)
// goes to the shard of namespace + "/" + its name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace wva::framework {

// The most shards `--shards` accepts (each is a Lease with automatic sharding).
inline constexpr std::size_t kMaxShards = 1024;

std::uint64_t fnv1a64(std::string_view bytes);
// fnv1a64(ns + "/" + id) % shards; shards >= 1.
std::size_t shard_of(std::string_view ns, std::string_view id, std::size_t shards);

// Which shards this replica owns now; asked for every model of every cycle (must be cheap and thread-safe).
using ShardOwnership = std::function<bool(std::size_t shard)>;

}  // namespace wva::framework
