#include "settings.h"

#include <algorithm>
#include <vector>

#include "wva/sdk/util/suggest.h"

namespace wva::combiners::hybrid {

sdk::Result<Settings> parse_settings(const sdk::Config& config, const std::string& path) {
  Settings s;
  if (config.is_null()) return s;
  if (!config.is_object())
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig, "must be a map {saturation, model}, got " + config.dump(),
                           path);
  std::vector<sdk::Error> errors;
  const std::vector<std::string> keys = {"saturation", "model"};
  for (const auto& [key, value] : config.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      const auto best = sdk::closest_match(key, keys);
      errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                                       "unknown key" + (best ? " (did you mean \"" + *best + "\"?)" : std::string()),
                                       path + "." + key));
      continue;
    }
    if (!value.is_string() || value.get<std::string>().empty()) {
      errors.push_back(sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                                       "must be an analyzer instance name, got " + value.dump(), path + "." + key));
      continue;
    }
    (key == "saturation" ? s.saturation : s.model) = value.get<std::string>();
  }
  if (errors.empty() && s.saturation == s.model)
    errors.push_back(sdk::make_error(
        sdk::ErrorCode::kInvalidConfig,
        "saturation and model name the same analyzer \"" + s.model + "\"; hybrid arbitrates between two",
        path + ".model"));
  if (errors.empty()) return s;
  if (errors.size() == 1) return errors.front();
  std::string message = std::to_string(errors.size()) + " errors:";
  for (const auto& e : errors) message += " " + e.to_string() + ";";
  message.pop_back();
  return sdk::make_error(sdk::ErrorCode::kInvalidConfig, message, errors.front().path);
}

}  // namespace wva::combiners::hybrid
