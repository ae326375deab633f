// Parses a Prometheus query response while it arrives, chunk by chunk, so the body is never held whole.
//
// The series of data.result (nearly all of a response's bytes) are read one by one by the whole-body
// parser's own series reader as soon as each is complete, and dropped; only a series cut by the end of a
// chunk is kept until the next. Every other byte (status, resultType, warnings, errors: a few hundred
// bytes) is kept and parsed by the whole-body parser at the end, told how many series it already handed
// over. So a body is accepted or refused exactly as parse_response_stream() does, the handler sees the
// same series in the same order, and memory is bounded by one series plus that remainder. A response
// whose series cannot be told apart without decoding (an escaped "result" key, a scalar result) goes
// through the whole-body parser entirely, which is slower but still correct.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "response_parser.h"

namespace wva::prometheus {

class ChunkedResponseParser {
 public:
  explicit ChunkedResponseParser(SampleHandler& handler);

  // The next bytes of the body. False once the body is known to be invalid (finish() then says why).
  bool feed(std::string_view bytes);
  // The end of the body: reads what is left. On failure nullopt and *error filled.
  std::optional<ResponseHeader> finish(ParseError* error = nullptr);

  std::size_t bytes() const { return total_; }                             // fed so far
  std::size_t held() const { return pending_.size() + skeleton_.size(); }  // kept now
  std::size_t max_held() const { return max_held_; }                       // the most kept at once

 private:
  enum class Between : unsigned char { kStart, kAfterSeries, kAfterComma };
  struct Level {
    char kind = '{';          // '{' or '['
    bool expect_key = false;  // object: the next string is a key
    bool is_data = false;     // the object of the top-level "data" key
    bool streams = false;     // the data.result array whose series are read one by one
    Between between = Between::kStart;
    std::string key;      // object: the last key (its first kMaxKey bytes, raw)
    bool key_raw = true;  // the key had no escapes and fit
  };
  static constexpr std::size_t kMaxKey = 16;

  // Consumes what it can of `data` (at body offset `base`); returns the bytes consumed.
  std::size_t process(std::string_view data, std::size_t base, bool final);
  // One byte of everything but the streamed series: kept and tracked.
  void skeleton_byte(char c);
  bool fail(std::size_t offset, std::string message);

  SampleHandler& handler_;
  SeriesReader series_;
  std::string pending_;           // bytes not consumed yet: part of one series at most while streaming
  std::size_t pending_base_ = 0;  // body offset of pending_[0]
  std::size_t wait_for_ = 0;      // a cut series is read again once this many bytes are pending
  std::string skeleton_;          // the body without the streamed series
  std::vector<Level> levels_;
  bool in_string_ = false, escape_ = false, reading_key_ = false, value_next_ = false;
  std::string value_key_;  // key of the value that starts next
  bool value_key_raw_ = false;
  std::size_t total_ = 0;
  std::size_t max_held_ = 0;
  std::optional<ParseError> error_;
};

}  // namespace wva::prometheus
