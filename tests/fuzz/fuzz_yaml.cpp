// libFuzzer target: any bytes -> sdk::yaml::load_all (the bounded YAML reader every untrusted YAML goes
// through) and each document to JSON. A refusal must be an error with a message; an accepted stream's
// JSON, written out and read again (JSON is YAML), must read back equal. Any exception, sanitizer report,
// crash or run over the fuzzer's time and memory limits is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wva/sdk/util/yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace yaml = wva::sdk::yaml;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const yaml::Stream stream = yaml::load_all(text);
  if (!stream.ok()) {
    if (stream.error->message.empty() || !stream.documents.empty()) std::abort();
    return 0;
  }
  for (const auto& doc : stream.documents) {
    const nlohmann::json value = yaml::to_json(doc);
    const std::string dumped = value.dump();
    if (dumped.size() > (1u << 20)) continue;  // the round trip of a large expansion is only slow
    const auto again = yaml::load_json(dumped);
    if (!again.ok() || again.value() != value) std::abort();
  }
  return 0;
}
