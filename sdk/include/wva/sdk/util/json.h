// JSON forms of SDK types, shared by the CLI and the sinks so every output has one shape.
#pragma once

#include <algorithm>
#include <charconv>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "wva/sdk/types.h"

namespace wva::sdk {

// {"namespace","model","variant","accelerator","current","desired","reason","analyzer"} (+ "held" when true).
// An unknown accelerator is null, not "".
// Keys keep this order in the output (ordered_json), as scripts and people read them.
inline nlohmann::ordered_json decision_to_json(const Decision& d) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["namespace"] = d.model.ns;
  j["model"] = d.model.model_id;
  j["variant"] = d.variant;
  j["accelerator"] = d.accelerator.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(d.accelerator);
  j["current"] = d.current;
  j["desired"] = d.desired;
  j["reason"] = d.reason;
  j["analyzer"] = d.analyzer;
  if (d.held) j["held"] = true;
  return j;
}

// {"decisions":[...]}
inline nlohmann::ordered_json decisions_to_json(std::span<const Decision> decisions) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& d : decisions) arr.push_back(decision_to_json(d));
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  doc["decisions"] = std::move(arr);
  return doc;
}

namespace detail {

// Appends `text` as a JSON string, as nlohmann's dump (error_handler_t::replace, no ensure_ascii) writes
// it: printable ASCII without quote or backslash is copied; anything else goes through nlohmann.
template <class Serializer>
void append_json_string(std::string& out, Serializer& serializer, const std::string& text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    serializer.dump(nlohmann::ordered_json(text), false, false, 0);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

inline void append_json_int(std::string& out, int value) {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace detail

// Appends decisions_to_json(decisions) with the members of `extra` (an object, or null for none) after
// "decisions", as one line of compact JSON: the bytes decisions_to_json(...).dump() would give, written
// field by field, so a fleet's 30,000 decisions never exist as one JSON document. Invalid UTF-8 in a
// reason is replaced rather than thrown on: output never breaks.
inline void append_decisions_json(std::string& out, std::span<const Decision> decisions,
                                  const nlohmann::ordered_json& extra = nullptr) {
  using Serializer = nlohmann::detail::serializer<nlohmann::ordered_json>;
  Serializer serializer(nlohmann::detail::output_adapter<char, std::string>(out), ' ',
                        nlohmann::ordered_json::error_handler_t::replace);
  out += "{\"decisions\":[";
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const Decision& d = decisions[i];
    out += i ? ",{\"namespace\":" : "{\"namespace\":";  // the keys and order of decision_to_json
    detail::append_json_string(out, serializer, d.model.ns);
    out += ",\"model\":";
    detail::append_json_string(out, serializer, d.model.model_id);
    out += ",\"variant\":";
    detail::append_json_string(out, serializer, d.variant);
    out += ",\"accelerator\":";
    if (d.accelerator.empty()) out += "null";
    else detail::append_json_string(out, serializer, d.accelerator);
    out += ",\"current\":";
    detail::append_json_int(out, d.current);
    out += ",\"desired\":";
    detail::append_json_int(out, d.desired);
    out += ",\"reason\":";
    detail::append_json_string(out, serializer, d.reason);
    out += ",\"analyzer\":";
    detail::append_json_string(out, serializer, d.analyzer);
    out += d.held ? ",\"held\":true}" : "}";
  }
  out += ']';
  if (extra.is_object())
    for (const auto& [key, value] : extra.items()) {
      out += ',';
      serializer.dump(nlohmann::ordered_json(key), false, false, 0);
      out += ':';
      serializer.dump(value, false, false, 0);
    }
  out += '}';
}

// One line of JSON: {"decisions":[...]}.
inline std::string dump_decisions(std::span<const Decision> decisions) {
  std::string out;
  append_decisions_json(out, decisions);
  return out;
}

}  // namespace wva::sdk
