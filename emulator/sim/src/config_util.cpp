#include "config_util.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "wva/sdk/duration.h"
#include "wva/sdk/util/suggest.h"

namespace wva::emulator {

sdk::Error ConfigErrors::to_error() const {
  if (errors_.empty()) return sdk::make_error(sdk::ErrorCode::kInternal, "no error");
  std::string message = errors_.front().message;
  for (std::size_t i = 1; i < errors_.size(); ++i)
    message += "; " + (errors_[i].path.empty() ? errors_[i].message : errors_[i].path + ": " + errors_[i].message);
  return sdk::make_error(sdk::ErrorCode::kInvalidConfig, std::move(message), errors_.front().path);
}

std::optional<double> get_number(const nlohmann::json& j, const std::string& path, ConfigErrors& errors) {
  if (!j.is_number()) {
    errors.add(path, "must be a number, got " + std::string(j.type_name()));
    return std::nullopt;
  }
  double v = j.get<double>();
  if (!std::isfinite(v)) {
    errors.add(path, "must be a finite number");
    return std::nullopt;
  }
  return v;
}

std::optional<long long> get_count(const nlohmann::json& j, const std::string& path, ConfigErrors& errors) {
  if (j.is_number_integer() || j.is_number_unsigned()) {
    long long v = j.get<long long>();
    if (v < 0) {
      errors.add(path, "must be >= 0");
      return std::nullopt;
    }
    return v;
  }
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (std::isfinite(d) && d >= 0 && d == std::floor(d) && d < 9e18) return static_cast<long long>(d);
  }
  errors.add(path, "must be a non-negative integer, got " + j.dump());
  return std::nullopt;
}

std::optional<std::string> get_string(const nlohmann::json& j, const std::string& path, ConfigErrors& errors) {
  if (!j.is_string()) {
    errors.add(path, "must be a string, got " + std::string(j.type_name()));
    return std::nullopt;
  }
  return j.get<std::string>();
}

std::optional<bool> get_bool(const nlohmann::json& j, const std::string& path, ConfigErrors& errors) {
  if (!j.is_boolean()) {
    errors.add(path, "must be true or false, got " + j.dump());
    return std::nullopt;
  }
  return j.get<bool>();
}

std::optional<double> get_seconds(const nlohmann::json& j, const std::string& path, ConfigErrors& errors) {
  if (j.is_number()) {
    double v = j.get<double>();
    if (!std::isfinite(v) || v < 0) {
      errors.add(path, "must be a duration >= 0");
      return std::nullopt;
    }
    return v;
  }
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    // A bare number in a string is seconds, as a number is; anything else is the SDK's one grammar.
    char* end = nullptr;
    const double bare = s.empty() ? -1 : std::strtod(s.c_str(), &end);
    if (end && *end == '\0' && std::isfinite(bare) && bare >= 0 && std::isdigit(static_cast<unsigned char>(s[0])))
      return bare;
    if (auto d = sdk::parse_duration(s); d.ok() && d->count() >= 0) return static_cast<double>(d->count()) / 1000.0;
  }
  errors.add(path, "must be a duration like 90s, 250ms, 5m or 1h (or a number of seconds), got " + j.dump());
  return std::nullopt;
}

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

void check_keys(const nlohmann::json& object, const std::vector<std::string>& known, const std::string& path,
                ConfigErrors& errors) {
  if (!object.is_object()) return;
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const auto best = sdk::closest_match(key, known);
    errors.add(path.empty() ? key : path + "." + key,
               "unknown key" + (best ? " (did you mean \"" + *best + "\"?)" : std::string()));
  }
}

}  // namespace wva::emulator
