// Prometheus text exposition helpers (header-only, shared by the framework and plugins).
#pragma once

#include <string>
#include <string_view>

namespace wva::sdk {

// Escapes a label value for the text exposition format and PromQL string literals:
// backslash -> \\, double quote -> \", newline -> \n.
inline std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace wva::sdk
