// "did you mean" for misspelled keys and names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wva::framework {

// The closest candidate within a small edit distance (Damerau-Levenshtein), or nullopt.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);
// "; did you mean \"x\"?" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace wva::framework
