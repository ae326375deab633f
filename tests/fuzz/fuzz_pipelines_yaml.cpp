// libFuzzer target: pipelines.yaml text -> parse_pipelines_yaml (the host's configuration parser, also fed
// by the wva-pipelines ConfigMap). The parser reports every problem as an error value and throws nothing;
// any exception, sanitizer report or crash is a finding. A configuration it accepts must survive the
// documented round trip: to_yaml() of it parses again without errors.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/pipeline_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = wva::framework::parse_pipelines_yaml(text, std::chrono::seconds(30), "fuzz.yaml");
  if (parsed.config && !parsed.errors.empty()) std::abort();
  if (!parsed.config && parsed.errors.empty()) std::abort();
  if (parsed.config) {
    const std::string again = wva::framework::to_yaml(*parsed.config);
    const auto reparsed = wva::framework::parse_pipelines_yaml(again, std::chrono::seconds(30), "again.yaml");
    if (!reparsed.config) {
      std::fprintf(stderr, "to_yaml output does not parse again:\n%s\nfirst error: %s\n", again.c_str(),
                   reparsed.errors.empty() ? "" : reparsed.errors.front().message.c_str());
      std::abort();
    }
  }
  return 0;
}
