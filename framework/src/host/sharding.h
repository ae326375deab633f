// Static assignment of models to shards (`wva run --shards N`), a stable contract: a model belongs to shard
//   fnv1a64(namespace + "/" + modelID) mod N
// with FNV-1a 64 over the bytes of the two strings as the VariantAutoscaling carries them (offset basis
// 14695981039346656037, prime 1099511628211). The assignment depends on nothing else (not the process, the
// build, the order of models or the number of replicas), so every replica, and every version of WVA,
// computes the same shard for a model. A VariantAutoscaling without a usable model (its conditions only)
// goes to the shard of namespace + "/" + its name; the conditions of a VA that belongs to a model follow
// the model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "wva/sdk/plugin.h"

namespace wva::framework {

// The most shards `--shards` accepts (each is a Lease with automatic sharding).
inline constexpr std::size_t kMaxShards = 1024;

std::uint64_t fnv1a64(std::string_view bytes);
// fnv1a64(ns + "/" + id) % shards; shards >= 1.
std::size_t shard_of(std::string_view ns, std::string_view id, std::size_t shards);

// The shard of a VariantAutoscaling's conditions: the shard of the model the VA belongs to (a model view
// names it as its own VA or a variant's), else shard_of(ns, va_name) for a VA without a model.
class VaShards {
 public:
  VaShards(std::span<const sdk::ModelView> models, std::size_t shards);
  std::size_t of(const sdk::ResourceCondition& condition) const;

 private:
  std::map<std::pair<std::string, std::string>, std::size_t, std::less<>> by_va_;
  std::size_t shards_;
};

// Which shards this replica owns now; asked for every model of every cycle (must be cheap and thread-safe).
using ShardOwnership = std::function<bool(std::size_t shard)>;

}  // namespace wva::framework
