#include "cluster/packed_object.h"

namespace wva::framework {

PackedObject::PackedObject(const nlohmann::json& object) {
  const std::vector<std::uint8_t> packed = nlohmann::json::to_msgpack(object);
  bytes_ = std::make_shared<const std::vector<std::uint8_t>>(packed.begin(), packed.end());  // exact size
}

sdk::ObjectSnapshot PackedObject::get() const {
  if (!bytes_) return nullptr;
  if (auto held = unpacked_.lock()) return held;
  auto object = std::make_shared<const nlohmann::json>(nlohmann::json::from_msgpack(*bytes_));
  unpacked_ = object;
  return object;
}

}  // namespace wva::framework
