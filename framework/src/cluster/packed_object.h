// A JSON object held as MessagePack bytes and unpacked when read. A Deployment takes about 5 KB as
// nlohmann::json (a map node per member, a string per key) and about 0.6 KB packed: the backends keep
// their Deployments this way (30,000 at 10,000 models), since only a few of them are read as JSON per
// cycle (the model views read DeploymentRecords). Not thread-safe: the owner locks.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/context.h"  // sdk::ObjectSnapshot

namespace wva::framework {

class PackedObject {
 public:
  PackedObject() = default;
  explicit PackedObject(const nlohmann::json& object);

  // The object as it was packed (numbers keep their value; a non-negative integer reads back as unsigned,
  // which nlohmann compares and prints as the same number). While a reader holds the snapshot, every
  // get() returns that same snapshot; once none does, the next get() unpacks again.
  sdk::ObjectSnapshot get() const;
  bool empty() const { return !bytes_; }
  std::size_t packed_size() const { return size_; }
  // Copies share the bytes: whether two hold the same packing (not merely equal bytes).
  bool same_bytes(const PackedObject& other) const { return bytes_ == other.bytes_; }

 private:
  std::shared_ptr<std::uint8_t[]> bytes_;  // never written after the constructor; shared by copies
  std::size_t size_ = 0;
  mutable std::weak_ptr<const nlohmann::json> unpacked_;
};

}  // namespace wva::framework
