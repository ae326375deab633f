// Reading numbers out of Kubernetes objects and ConfigMap YAML, where the original CRDs store numbers as
// strings. One rule for the host and the plugins: a JSON number, or a string that is entirely a finite
// number in plain decimal notation ("12", "0.5", "1e3"); anything else is no number (never 0).
// Not part of the plugin contract: a utility.
#pragma once

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wva::sdk::util {

inline std::optional<double> config_number(const nlohmann::json& v) {
  if (v.is_number()) {
    const double d = v.get<double>();
    return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
  }
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 64) return std::nullopt;
  // strtod accepts hex, "inf", "nan" and leading blanks: only plain decimal notation counts here.
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
      return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

// An integral number within int range (a number or numeric string with an integral value).
inline std::optional<int> config_int(const nlohmann::json& v) {
  const auto d = config_number(v);
  if (!d || std::floor(*d) != *d || *d < -2147483648.0 || *d > 2147483647.0) return std::nullopt;
  return static_cast<int>(*d);
}

// The value as it appeared, for messages (bounded: a huge value is cut).
inline std::string describe_value(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// Shell-style glob: '*' any run of characters, '?' one character. Bounded by |pattern| * |text|.
inline bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace wva::sdk::util
