// JSON forms of SDK types, shared by the CLI and the sinks so every output has one shape.
#pragma once

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

// One line of JSON. Invalid UTF-8 in a reason is replaced rather than thrown on: output never breaks.
inline std::string dump_decisions(std::span<const Decision> decisions) {
  return decisions_to_json(decisions).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace wva::sdk
