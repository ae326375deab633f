// Small text helpers of the saturation plugin: number formatting for reasons, "did you mean".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wva::saturation {

// Fixed-point with `decimals` digits: fixed(0.0933, 2) == "0.09".
std::string fixed(double value, int decimals);

// A cost for a reason: one decimal when that is exact ("5.0", "20.0"), else up to four significant
// decimals ("5.25", "0.1234").
std::string format_cost(double value);

// The candidate closest to `word` within edit distance 3 (and less than half its length), or nullopt.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

// "; did you mean \"x\"?" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace wva::saturation
