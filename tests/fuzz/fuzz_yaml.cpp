// libFuzzer target: any bytes -> sdk::yaml::load_all (the bounded YAML reader every untrusted YAML goes
// through) and each document to JSON. A refusal must be an error with a message; an accepted stream's
// JSON, written out and read again (JSON is YAML), must read back equal. load_all_json (JSON built
// without the node trees) must give the same documents, or the same error at the same place. Any exception, sanitizer
// report, crash or run over the fuzzer's time and memory limits is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "wva/sdk/util/yaml.h"

namespace {

// The longest key of a JSON value. An implicit YAML key (JSON's keys are) is at most 1024 characters
// (the YAML spec's bound; libyaml enforces it), so JSON with a longer key does not read as YAML.
std::size_t longest_key(const nlohmann::json& value) {
  std::size_t longest = 0;
  std::vector<const nlohmann::json*> todo{&value};
  while (!todo.empty()) {
    const nlohmann::json* v = todo.back();
    todo.pop_back();
    if (v->is_object())
      for (auto it = v->begin(); it != v->end(); ++it) {
        longest = std::max(longest, it.key().size());
        todo.push_back(&it.value());
      }
    else if (v->is_array())
      for (const auto& item : *v) todo.push_back(&item);
  }
  return longest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace yaml = wva::sdk::yaml;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const yaml::Stream stream = yaml::load_all(text);
  const yaml::JsonStream direct = yaml::load_all_json(text);
  if (stream.ok() != direct.ok() || direct.documents.size() != stream.documents.size()) std::abort();
  if (!stream.ok()) {
    const yaml::ParseError& a = *stream.error;
    const yaml::ParseError& b = *direct.error;
    if (a.message != b.message || a.document != b.document || a.line != b.line || a.column != b.column ||
        a.over_limit != b.over_limit || a.path != b.path)
      std::abort();
  }
  for (std::size_t i = 0; i < direct.documents.size(); ++i)
    if (direct.documents[i] != yaml::to_json(stream.documents[i])) std::abort();
  if (!stream.ok()) {
    if (stream.error->message.empty() || !stream.documents.empty()) std::abort();
    return 0;
  }
  for (const auto& doc : stream.documents) {
    const nlohmann::json value = yaml::to_json(doc);
    const std::string dumped = value.dump();
    if (dumped.size() > (1u << 20)) continue;  // the round trip of a large expansion is only slow
    if (longest_key(value) > 1000) continue;
    const auto again = yaml::load_json(dumped);
    if (!again.ok() || again.value() != value) std::abort();
  }
  return 0;
}
