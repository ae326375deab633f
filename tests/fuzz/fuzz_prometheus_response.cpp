// libFuzzer target: an /api/v1/query response body -> the Prometheus source's streaming JSON reader, both
// as the source uses it (parse_response_stream: every series handed over as views into the body, which
// the handler reads in full so that a dangling view is a sanitizer report) and through the collecting
// parse_response. Rejection is nullopt with a ParseError; any crash or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "response_parser.h"

namespace {

class ReadEverything : public wva::prometheus::SampleHandler {
 public:
  void on_sample(const wva::prometheus::SampleView& s) override {
    for (const auto& l : s.labels)
      for (char c : l.name) checksum_ += static_cast<unsigned char>(c);
    for (const auto& l : s.labels)
      for (char c : l.value) checksum_ += static_cast<unsigned char>(c);
    ++series_;
  }
  std::size_t series_ = 0;
  std::size_t checksum_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ReadEverything handler;
  wva::prometheus::ParseError stream_err;
  const auto header = wva::prometheus::parse_response_stream(input, handler, &stream_err);
  wva::prometheus::ParseError err;
  const auto r = wva::prometheus::parse_response(input, &err);
  // The collecting parse is the streaming one plus copies: the two must agree.
  if (header.has_value() != r.has_value()) std::abort();
  if (!r) {
    if (err.message.empty() || err.offset > size) std::abort();
    if (err.message != stream_err.message || err.offset != stream_err.offset) std::abort();
    return 0;
  }
  if (r->samples.size() != handler.series_ + (header->scalar ? 1 : 0)) std::abort();
  for (const auto& s : r->samples)
    for (const auto& [k, v] : s.labels)
      if (k.size() + v.size() > size) std::abort();
  return 0;
}
