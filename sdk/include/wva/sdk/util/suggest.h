// "did you mean" for misspelled keys and names (header-only, shared by the framework and plugins).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wva::sdk {

namespace suggest_detail {

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal-string-alignment Damerau-Levenshtein distance: insert, delete, substitute, swap neighbours.
inline std::size_t edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1, 0));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

}  // namespace suggest_detail

// The closest candidate within a small case-insensitive edit distance (Damerau-Levenshtein): at most
// max(2, len/3), and never a candidate reached only by replacing all of it. nullopt when none is close.
inline std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return std::nullopt;
  const std::string w = suggest_detail::lower(word);
  // Allowed distance grows with the word: 2 for short words, a third of the length for long ones.
  const std::size_t threshold = std::max<std::size_t>(2, w.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = threshold + 1;
  for (const auto& c : candidates) {
    if (c.empty()) continue;
    const std::size_t dist = suggest_detail::edit_distance(w, suggest_detail::lower(c));
    // A short word must not "match" an unrelated short candidate by replacing all of it.
    if (dist >= std::max(w.size(), c.size())) continue;
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

// "; did you mean \"x\"?" or "".
inline std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto m = closest_match(word, candidates);
  return m ? "; did you mean \"" + *m + "\"?" : std::string();
}

}  // namespace wva::sdk
