// Writes the Prometheus text exposition format 0.0.4 (header-only): the one writer of the host's metrics
// registry and the emulator's vLLM /metrics. Escaping follows the format's rules: a label value escapes
// backslash, double quote and newline; a HELP text escapes backslash and newline; a value is a Go float
// (NaN, +Inf, -Inf, else 17 significant digits, so it reads back exactly).
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include "wva/sdk/util/prom_text.h"

namespace wva::sdk::prom {

using sdk::escape_label_value;

inline std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

inline std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Appends to one exposition text. Label pairs are written as given (`labels` already "k=\"v\",..." via
// label()), so a caller keeps its own label order.
class Writer {
 public:
  // "# HELP name help\n# TYPE name type\n".
  void header(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escape_help(help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // `name{labels} value\n`; no braces when `labels` is empty.
  void sample(std::string_view name, std::string_view labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += format_value(value);
    out_ += '\n';
  }
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// `name="escaped value"`, for a labels text.
inline std::string label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  out += escape_label_value(value);
  out += '"';
  return out;
}

}  // namespace wva::sdk::prom
