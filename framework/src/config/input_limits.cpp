#include "config/input_limits.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <system_error>
#include <vector>

namespace wva::framework {

std::size_t json_nesting_depth(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest) deepest = depth;
      if (deepest > max_depth) return max_depth + 1;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::size_t json_value_depth(const nlohmann::json& value, std::size_t max_depth) {
  std::vector<std::pair<const nlohmann::json*, std::size_t>> stack{{&value, 0}};
  std::size_t deepest = 0;
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    if (deepest > max_depth) return max_depth + 1;
    for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return deepest;
}

std::optional<std::string> check_json_depth(std::string_view text, const InputLimits& limits) {
  if (json_nesting_depth(text, limits.max_depth) <= limits.max_depth) return std::nullopt;
  return "nested deeper than " + std::to_string(limits.max_depth) + " levels (the limit)";
}

sdk::Result<std::string> read_bounded_file(const std::filesystem::path& path, const InputLimits& limits) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return sdk::make_error(sdk::ErrorCode::kNotFound, path.string() + ": cannot read: " + ec.message());
  if (size > limits.max_file_bytes)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, path.string() + ": " + std::to_string(size) +
                                                               " bytes, more than the limit of " +
                                                               std::to_string(limits.max_file_bytes) + " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) return sdk::make_error(sdk::ErrorCode::kNotFound, path.string() + ": cannot read");
  std::string text;
  // Read at most one byte past the limit: the file may have grown since file_size().
  text.resize(static_cast<std::size_t>(size) + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > limits.max_file_bytes)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, path.string() + ": more than the limit of " +
                                                               std::to_string(limits.max_file_bytes) + " bytes");
  return text;
}

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", u);
        out += buf;
      }
    }
  }
  return out;
}

}  // namespace wva::framework
