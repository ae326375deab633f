// libFuzzer target for the Prometheus response parser (built with clang by the fuzz_prometheus_parser
// target). Seeds: fuzz/corpus/ and tests/data/.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "response_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  wva::prometheus::ParseError err;
  auto r = wva::prometheus::parse_response(input, &err);
  if (!r) {
    if (err.message.empty() || err.offset > size) std::abort();
    return 0;
  }
  for (const auto& s : r->samples)
    for (const auto& [k, v] : s.labels)
      if (k.size() + v.size() > size) std::abort();
  return 0;
}
