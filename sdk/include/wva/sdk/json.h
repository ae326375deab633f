// JSON forms of SDK types, shared by the CLI and the sinks so every output has one shape.
#pragma once

#include <span>

#include <nlohmann/json.hpp>

#include "wva/sdk/types.h"

namespace wva::sdk {

// {"namespace","model","variant","accelerator","current","desired","reason","analyzer"} (+ "held" when true)
inline nlohmann::json decision_to_json(const Decision& d) {
  nlohmann::json j = nlohmann::json::object();
  j["namespace"] = d.model.ns;
  j["model"] = d.model.model_id;
  j["variant"] = d.variant;
  j["accelerator"] = d.accelerator;
  j["current"] = d.current;
  j["desired"] = d.desired;
  j["reason"] = d.reason;
  j["analyzer"] = d.analyzer;
  if (d.held) j["held"] = true;
  return j;
}

// {"decisions":[...]}
inline nlohmann::json decisions_to_json(std::span<const Decision> decisions) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& d : decisions) arr.push_back(decision_to_json(d));
  return nlohmann::json{{"decisions", std::move(arr)}};
}

}  // namespace wva::sdk
