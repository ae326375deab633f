// The response parser as it was before the streaming parser (src/response_parser.cpp), kept verbatim
// as the reference the streaming parser must agree with (reference_parser_test.cpp): same samples, same
// errors at the same offsets, same grouped output.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wva::prometheus::reference {

using LabelSet = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  LabelSet labels;
  double value = 0;      // may be NaN or +-Inf exactly as Prometheus sent it
  double timestamp = 0;  // seconds since the epoch (evaluation time for instant queries)

  // nullptr when the label is absent.
  const std::string* label(std::string_view name) const {
    for (const auto& [k, v] : labels)
      if (k == name) return &v;
    return nullptr;
  }
};

enum class ResultType { kNone, kVector, kScalar, kMatrix, kString };

struct QueryResponse {
  bool success = false;               // "status": "success"
  std::string error_type;             // "errorType" when status is "error"
  std::string error;                  // "error" when status is "error"
  std::vector<std::string> warnings;  // "warnings" (and "infos", prefixed "info: ")
  ResultType result_type = ResultType::kNone;
  std::vector<Sample> samples;  // vector: one per series; scalar: one without labels;
                                // matrix: the last point of each series
};

struct ParseError {
  std::size_t offset = 0;
  std::string message;
  std::string to_string() const;
};

inline constexpr int kMaxDepth = 64;

// Parses a complete response body. On success the response may still be an API error
// (success == false with error_type / error filled): that is a valid answer, not a parse error.
// On failure returns nullopt and fills *error when given.
std::optional<QueryResponse> parse_response(std::string_view body, ParseError* error = nullptr);

// Parses a Prometheus sample value string: a decimal number, "NaN", "+Inf", "-Inf" or "Inf".
std::optional<double> parse_sample_value(std::string_view text);

}  // namespace wva::prometheus::reference
