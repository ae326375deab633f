// libFuzzer target: a /v1/completions body -> the emulator server's request check
// (validate_completion_request, after the same nlohmann::json::parse(body, nullptr, false) the handler
// does). A rejected body is a RequestError with a message; for an accepted one, the reads the handler
// makes next (max_tokens as an integer, model as a string, stream as a boolean) must not throw: an
// exception escaping there, a sanitizer report or a crash is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "server.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const nlohmann::json req = nlohmann::json::parse(body, nullptr, false);
  if (const auto invalid = wva::emulator::validate_completion_request(req)) {
    if (invalid->message.empty()) std::abort();
    (void)wva::emulator::request_error_body(*invalid).dump();
    return 0;
  }
  if (!req.is_object()) std::abort();
  if (req.contains("max_tokens") && !req["max_tokens"].is_null()) (void)req["max_tokens"].get<long long>();
  if (req.contains("model")) (void)req["model"].get<std::string>();
  if (req.contains("stream") && req["stream"].is_boolean()) (void)req["stream"].get<bool>();
  if (!req.contains("prompt")) std::abort();
  return 0;
}
