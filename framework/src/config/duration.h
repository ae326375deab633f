// Durations as operators write them: 500ms, 15s, 2m, 1h, and combinations like 1m30s.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "wva/sdk/result.h"

namespace wva::framework {

sdk::Result<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);  // "1m30s", "500ms"

}  // namespace wva::framework
