// libFuzzer target: bytes -> the emulator's trace reader (parse_trace: an Azure CSV or Mooncake JSONL, told
// by the first non-blank character). A rejected input is an error naming the line; an accepted one must
// hold its invariants (times from 0 and non-decreasing, token counts non-negative, every row's block
// hashes inside the trace's list): a violation, a sanitizer report or a crash is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "workload.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  const auto trace = wva::emulator::parse_trace(in, "fuzz");
  if (!trace.ok()) {
    if (trace.error().message.find("fuzz") == std::string::npos) std::abort();  // errors name the input
    return 0;
  }
  if (trace->rows.empty() || trace->rows.front().t != 0) std::abort();
  double last = 0;
  for (const auto& row : trace->rows) {
    if (row.t < last || row.prompt < 0 || row.output < 0) std::abort();
    if (static_cast<std::size_t>(row.block_begin) + row.block_count > trace->block_hashes.size()) std::abort();
    last = row.t;
  }
  return 0;
}
