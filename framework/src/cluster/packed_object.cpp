#include "cluster/packed_object.h"

#include <algorithm>

namespace wva::framework {

PackedObject::PackedObject(const nlohmann::json& object) {
  const std::vector<std::uint8_t> packed = nlohmann::json::to_msgpack(object);
  // One allocation for the count and the bytes (70,000 objects at 10,000 models).
  bytes_ = std::make_shared<std::uint8_t[]>(packed.size());
  size_ = packed.size();
  std::copy(packed.begin(), packed.end(), bytes_.get());
}

sdk::ObjectSnapshot PackedObject::get() const {
  if (!bytes_) return nullptr;
  if (auto held = unpacked_.lock()) return held;
  auto object =
      std::make_shared<const nlohmann::json>(nlohmann::json::from_msgpack(bytes_.get(), bytes_.get() + size_));
  unpacked_ = object;
  return object;
}

}  // namespace wva::framework
