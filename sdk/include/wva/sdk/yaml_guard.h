// Guards for untrusted YAML text, shared by the host and plugins that parse YAML themselves.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace wva::sdk {

// nullopt, or an error ("line N: ...") when a YAML document's root starts with ',' (after `---`, tags and
// anchors). That is never valid YAML, and yaml-cpp 0.7 does not reject it: it loops, allocating without
// bound (a one-byte document "," takes gigabytes). Call before YAML::Load / LoadAll on untrusted text.
inline std::optional<std::string> check_yaml_text(std::string_view text) {
  bool at_root = true;  // no node of the current document seen yet
  std::size_t line = 1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    std::string_view rest = text.substr(pos, eol - pos);
    if (rest.substr(0, 3) == "---" || rest.substr(0, 3) == "...") {
      at_root = true;
      rest.remove_prefix(3);
    } else if (at_root && !rest.empty() && rest.front() == '%') {
      rest = {};  // a directive
    }
    while (at_root && !rest.empty()) {
      const char c = rest.front();
      if (c == ' ' || c == '\t' || c == '\r') {
        rest.remove_prefix(1);
      } else if (c == '#') {
        rest = {};
      } else if (c == '!' || c == '&') {
        // A tag or an anchor ends at a blank or a flow indicator: "!t, x" and "&a,x" start with ','
        // once the property is read (fuzz_manifest_loader: yaml-cpp loops on both).
        const auto end = rest.find_first_of(" \t\r,[]{}");
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
      } else if (c == ',') {
        return "line " + std::to_string(line) + ": a YAML document cannot start with ','";
      } else {
        at_root = false;
      }
    }
    pos = eol + 1;
    ++line;
  }
  return std::nullopt;
}

}  // namespace wva::sdk
