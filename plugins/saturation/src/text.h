// Small text helpers of the saturation plugin: number formatting for reasons, "did you mean".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wva/sdk/util/suggest.h"

namespace wva::saturation {

// Fixed-point with `decimals` digits: fixed(0.0933, 2) == "0.09".
std::string fixed(double value, int decimals);

// A cost for a reason: one decimal when that is exact ("5.0", "20.0"), else up to four significant
// decimals ("5.25", "0.1234").
std::string format_cost(double value);

// "did you mean": the SDK's closest_match() and did_you_mean() ("; did you mean \"x\"?" or "").
using sdk::closest_match;
using sdk::did_you_mean;

}  // namespace wva::saturation
