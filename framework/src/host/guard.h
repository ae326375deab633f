// Calls into plugins never let an exception reach the host: it becomes an Error naming the plugin.
#pragma once

#include <exception>
#include <string>
#include <type_traits>

#include "wva/sdk/result.h"

namespace wva::framework {

template <class F>
auto guarded(const std::string& who, F&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const std::exception& e) {
    return sdk::make_error(sdk::ErrorCode::kInternal, who + " threw an exception: " + e.what());
  } catch (...) {
    return sdk::make_error(sdk::ErrorCode::kInternal, who + " threw a non-standard exception");
  }
}

}  // namespace wva::framework
