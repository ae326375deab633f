// Bounds on every document WVA reads (manifests, pipelines.yaml, plugin settings, ConfigMap values), so
// that no input can exhaust the stack (deep nesting) or memory (YAML alias expansion, huge files).
// docs/reliability.md lists these limits and why they are what they are.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"
#include "wva/sdk/util/yaml.h"

namespace wva::framework {

struct InputLimits {
  // Deepest nesting of mappings/lists. Kubernetes objects nest about 15 deep; 128 leaves room and keeps
  // every recursive walk of a parsed document (copy, compare, dump) far from the stack's end.
  std::size_t max_depth = 128;
  // Nodes one YAML document may produce once aliases are expanded (a 541-byte "billion laughs" expands to
  // 10^8 and more). Real manifests have thousands.
  std::size_t max_nodes = 1'000'000;
  // Bytes of scalar text one document may produce once aliases are expanded: ten times the largest
  // Kubernetes object, and small enough that the copies a loader makes stay far below a pod's memory.
  std::size_t max_bytes = 16u << 20;
  // Size of one manifest or configuration file. A Kubernetes object is at most ~1.5 MiB (etcd's limit).
  std::size_t max_file_bytes = 16u << 20;
};

// The bounds YAML is read under (sdk::yaml::load_all counts them while it builds the tree).
inline sdk::yaml::Limits yaml_limits(const InputLimits& limits) {
  return {.max_depth = limits.max_depth, .max_nodes = limits.max_nodes, .max_bytes = limits.max_bytes};
}

// Nesting depth of JSON text without parsing it, in one pass: brackets outside strings. Stops counting
// (returns max_depth + 1) as soon as the depth passes max_depth.
std::size_t json_nesting_depth(std::string_view text, std::size_t max_depth);

// nullopt, or "nested deeper than N levels (the limit)" when text nests deeper than limits.max_depth.
std::optional<std::string> check_json_depth(std::string_view text, const InputLimits& limits = {});

// Nesting depth of a parsed value, without recursion (an explicit stack); stops at max_depth + 1. For
// documents that arrive already parsed (one item of a Kubernetes list), before anything walks them
// recursively (copy, compare, dump).
std::size_t json_value_depth(const nlohmann::json& value, std::size_t max_depth);

// Reads a whole file, refusing one larger than limits.max_file_bytes; errors name the file and the limit.
sdk::Result<std::string> read_bounded_file(const std::filesystem::path& path, const InputLimits& limits = {});

// Control characters (bytes < 0x20 and 0x7f) as C escapes (\n, \t, \r, \x1b), so a name from a file
// cannot split a message over lines or drive the terminal.
std::string escape_control(std::string_view text);

}  // namespace wva::framework
