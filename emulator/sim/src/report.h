// The world's summary and time series as JSON (written by the plugin's reportFile, read by `wva simulate`).
#pragma once

#include <nlohmann/json.hpp>

#include "world.h"

namespace wva::emulator {

nlohmann::json summary_json(const World& world);
// {"t": [...], "models": {ns/model: {arrivalRate: [...], ...}}, "variants": {ns/name: {replicas: [...], ...}}}
nlohmann::json series_json(const World& world);
// {"summary": ..., "series": ...}
nlohmann::json report_json(const World& world);

}  // namespace wva::emulator
