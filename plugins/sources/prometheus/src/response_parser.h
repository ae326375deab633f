// Parser for Prometheus HTTP API query responses (/api/v1/query), also served by Thanos and Cortex.
//
// A hand-written streaming (SAX-style) JSON reader that knows the response shape: it hands each series
// to a SampleHandler as soon as its object closes, with its labels as views into the body (a copy only
// for escaped strings), so no tree of the response is ever built. It accepts the keys in any order,
// skips unknown ones (e.g. "infos", native histograms), and never recurses deeper than kMaxDepth. It
// depends only on the standard library, so the fuzz target can build it with clang alone.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wva::prometheus {

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

struct LabelView {
  std::string_view name;
  std::string_view value;
};

// One series as the streaming parser hands it over; the views are valid only during on_sample().
struct SampleView {
  std::span<const LabelView> labels;
  double value = 0;      // may be NaN or +-Inf exactly as Prometheus sent it
  double timestamp = 0;  // seconds since the epoch (matrix: of the last point)

  // nullptr when the label is absent.
  const std::string_view* label(std::string_view name) const {
    for (const auto& l : labels)
      if (l.name == name) return &l.value;
    return nullptr;
  }
};

// Receives the series of a response while it is parsed. The parse may still fail after some series
// (a truncated body, a status "error" after the data): a handler stages what it gets until the caller
// knows the outcome.
class SampleHandler {
 public:
  virtual ~SampleHandler() = default;
  virtual void on_sample(const SampleView& sample) = 0;
  // The transfer handing these series over failed and is retried: forget what this response gave.
  virtual void restart() {}
};

struct ScalarValue {
  double value = 0;
  double timestamp = 0;
};

// Everything of a response except its series.
struct ResponseHeader {
  bool success = false;               // "status": "success"
  std::string error_type;             // "errorType" when status is "error"
  std::string error;                  // "error" when status is "error"
  std::vector<std::string> warnings;  // "warnings" (and "infos", prefixed "info: ")
  ResultType result_type = ResultType::kNone;
  std::optional<ScalarValue> scalar;  // resultType scalar: the value (no series are handed over)
};

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

// Parses a complete response body, handing each series (vector, matrix) to `handler`. On success the
// response may still be an API error (success == false): a valid answer, not a parse error. On failure
// returns nullopt and fills *error when given; the handler may have seen series before the failure.
std::optional<ResponseHeader> parse_response_stream(std::string_view body, SampleHandler& handler,
                                                    ParseError* error = nullptr);

// The same for a response of which `series_before` series were already handed over (ChunkedResponseParser
// removes them from the body it parses here, and the result-type check still counts them).
std::optional<ResponseHeader> parse_response_stream(std::string_view body, SampleHandler& handler, ParseError* error,
                                                    std::size_t series_before);

namespace detail {
class Reader;
}

// How far before the end of a text a failure may be caused by the text being cut there (a literal, a
// \u escape); a failure further back is in the bytes already read.
inline constexpr std::size_t kSeriesReadMargin = 16;

// Reads single series objects of data.result for ChunkedResponseParser, exactly as the whole-body
// parser reads them.
class SeriesReader {
 public:
  enum class Outcome { kSeries, kNeedMore, kError };
  explicit SeriesReader(SampleHandler& handler);
  ~SeriesReader();
  SeriesReader(const SeriesReader&) = delete;
  SeriesReader& operator=(const SeriesReader&) = delete;

  // Reads the series object at the start of `text` (after optional whitespace), hands it to the handler
  // and sets `consumed`. kNeedMore: the text ends inside it and `final` is false (nothing handed over).
  Outcome read(std::string_view text, bool final, std::size_t& consumed, ParseError& error);
  std::size_t series() const;  // handed over so far

 private:
  std::unique_ptr<detail::Reader> reader_;
};

// The same, collecting the series into owned Samples (tests, tools, the fuzz target).
// Parses a complete response body. On success the response may still be an API error
// (success == false with error_type / error filled): that is a valid answer, not a parse error.
// On failure returns nullopt and fills *error when given.
std::optional<QueryResponse> parse_response(std::string_view body, ParseError* error = nullptr);

// Collects the series into owned Samples; into_response() joins them with the header (a scalar result
// becomes one sample without labels, as before the streaming parser).
class SampleCollector : public SampleHandler {
 public:
  void on_sample(const SampleView& sample) override;
  void restart() override { samples_.clear(); }
  QueryResponse into_response(ResponseHeader header);

 private:
  std::vector<Sample> samples_;
};

// Parses a Prometheus sample value string: a decimal number, "NaN", "+Inf", "-Inf" or "Inf".
std::optional<double> parse_sample_value(std::string_view text);

}  // namespace wva::prometheus
