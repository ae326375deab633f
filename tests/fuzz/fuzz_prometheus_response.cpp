// libFuzzer target: an /api/v1/query response body -> wva::prometheus::parse_response (the Prometheus
// source's JSON reader). Rejection is nullopt with a ParseError; any crash or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "response_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  wva::prometheus::ParseError err;
  const auto r = wva::prometheus::parse_response(input, &err);
  if (!r) {
    if (err.message.empty() || err.offset > size) std::abort();
    return 0;
  }
  for (const auto& s : r->samples)
    for (const auto& [k, v] : s.labels)
      if (k.size() + v.size() > size) std::abort();
  return 0;
}
