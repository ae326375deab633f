// Guards for untrusted YAML text, shared by the host and plugins that parse YAML themselves.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace wva::sdk {

// nullopt, or an error ("line N: ...") when a YAML document's root starts with ',' (after `---`, tags and
// anchors), or when a later line starts with ',' left of the column where the document's root began
// ("  a:\n, x": the root block ends and the document goes on with ','). Neither is valid YAML, and
// yaml-cpp 0.7 does not reject them: it loops, allocating without bound (a one-byte document "," takes
// gigabytes). Call before YAML::Load / LoadAll on untrusted text.
inline std::optional<std::string> check_yaml_text(std::string_view text) {
  // YAML allows no C0 control character but tab, line feed and carriage return, nor DEL (its c-printable
  // set); yaml-cpp 0.7 loops on some documents that hold one ("\0\0\0, x", fuzz_manifest_loader).
  {
    std::size_t ctl_line = 1;
    for (const char ch : text) {
      const auto u = static_cast<unsigned char>(ch);
      if (u == '\n') ++ctl_line;
      if ((u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0x7f) {
        static constexpr char kHex[] = "0123456789abcdef";
        return "line " + std::to_string(ctl_line) + ": control character 0x" + kHex[u >> 4] + kHex[u & 15] +
               " (YAML allows none but tab, line feed and carriage return)";
      }
    }
  }
  bool at_root = true;          // no node of the current document seen yet
  std::size_t root_column = 0;  // where the current document's root began
  bool root_column_known = false;
  std::size_t line = 1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string_view whole = text.substr(pos, eol - pos);
    std::string_view rest = whole;
    if (rest.substr(0, 3) == "---" || rest.substr(0, 3) == "...") {
      at_root = true;
      root_column_known = false;
      rest.remove_prefix(3);
    } else if (at_root && !rest.empty() && rest.front() == '%') {
      rest = {};  // a directive
    } else if (!at_root && root_column_known) {
      const std::size_t first = whole.find_first_not_of(" \t");
      if (first != std::string_view::npos && first < root_column && whole[first] == ',')
        return "line " + std::to_string(line) + ": a line cannot start with ',' left of the document's root (column " +
               std::to_string(root_column + 1) + ")";
    }
    while (at_root && !rest.empty()) {
      const char c = rest.front();
      if (c != ' ' && c != '\t' && c != '\r' && c != '#' && !root_column_known) {
        root_column = static_cast<std::size_t>(rest.data() - whole.data());
        root_column_known = true;
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        rest.remove_prefix(1);
      } else if (c == '#') {
        rest = {};
      } else if (c == '!' || c == '&') {
        // A tag or an anchor before the root node. yaml-cpp 0.7 reads one up to the next blank, flow
        // indicators included, and loops on several such documents ("!t, x", "&a,x", "!t[a]\n,", found by
        // fuzz_manifest_loader); Kubernetes YAML has no use for them, so they are refused.
        const auto end = rest.find_first_of(" \t\r");
        const std::string_view token = rest.substr(0, end);
        if (token.find_first_of(",[]{}") != std::string_view::npos)
          return "line " + std::to_string(line) + ": a tag or anchor holding ',', '[', ']', '{' or '}' (\"" +
                 std::string(token.substr(0, 40)) + "\") is not supported";
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
