// Durations as operators write them: 500ms, 15s, 2m, 1h, 1d, 1w, combinations like 1m30s, and a bare 0.
// One grammar for the host, pipelines.yaml, the settings schema and every plugin.
#pragma once

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wva/sdk/result.h"

namespace wva::sdk {

inline Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidConfig, "invalid duration \"" + std::string(text) + "\": " + why +
                                                     " (use e.g. 500ms, 15s, 2m, 1h, 1m30s)");
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return std::chrono::milliseconds(0);  // a bare zero needs no unit
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i) return bad("expected a number at position " + std::to_string(start));
    std::string number(text.substr(start, i - start));
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return bad("bad number \"" + number + "\"");
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "d") scale = 86'400'000;
    else if (unit == "w") scale = 604'800'000;
    else if (unit.empty()) return bad("missing unit");
    else return bad("unknown unit \"" + std::string(unit) + "\"");
    total_ms += value * scale;
    if (!(total_ms <= 1e12)) return bad("too large");  // also bounds the sum of many parts
  }
  if (total_ms > 1e12) return bad("too large");
  return std::chrono::milliseconds(static_cast<long long>(std::llround(total_ms)));
}

inline std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const long long h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (rest) out += std::to_string(rest) + "ms";
  return out;
}

}  // namespace wva::sdk
