// Small helpers for validating the emulator's JSON configuration with path-qualified errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/result.h"

namespace wva::emulator {

// Collects every configuration problem with its path; the first one becomes the Error's path.
class ConfigErrors {
 public:
  void add(std::string path, std::string message) { errors_.push_back({std::move(path), std::move(message)}); }
  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  // One Error: path of the first problem, message of the first plus every other "path: message".
  sdk::Error to_error() const;
  // Each problem as an Error of its own (kInvalidConfig), in the order found.
  std::vector<sdk::Error> to_errors() const {
    std::vector<sdk::Error> out;
    out.reserve(errors_.size());
    for (const auto& e : errors_) out.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig, e.message, e.path));
    return out;
  }

 private:
  struct Item {
    std::string path;
    std::string message;
  };
  std::vector<Item> errors_;
};

// Number at j (int or float); records an error naming `path` when it is not a number.
std::optional<double> get_number(const nlohmann::json& j, const std::string& path, ConfigErrors& errors);
// Non-negative integer.
std::optional<long long> get_count(const nlohmann::json& j, const std::string& path, ConfigErrors& errors);
std::optional<std::string> get_string(const nlohmann::json& j, const std::string& path, ConfigErrors& errors);
std::optional<bool> get_bool(const nlohmann::json& j, const std::string& path, ConfigErrors& errors);
// Duration: a number of seconds, or a string "90s", "1.5m", "250ms", "2h".
std::optional<double> get_seconds(const nlohmann::json& j, const std::string& path, ConfigErrors& errors);
// Reports keys of `object` not in `known` with a "did you mean" when one is close.
void check_keys(const nlohmann::json& object, const std::vector<std::string>& known, const std::string& path,
                ConfigErrors& errors);
// 1 -> "1", 0.5 -> "0.5" (shortest form, no trailing .0).
std::string format_number(double v);

}  // namespace wva::emulator
