// libFuzzer target: the data of the analyzers' ConfigMaps -> their parsers (saturation's
// capacity-scaling-config; queueing's service-classes, profiles and capacity ConfigMaps). The first byte
// picks the parser; the rest is the ConfigMap's data, entries separated by NUL bytes, each entry's first
// line its key and the remainder its value. Every parser reports problems as error values and throws
// nothing: any exception, sanitizer report or crash is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "queueing/src/settings.h"
#include "saturation/src/thresholds.h"
#include "wva/sdk/util/service_classes.h"

namespace {

std::map<std::string, std::string> data_of(std::string_view text) {
  std::map<std::string, std::string> data;
  while (!text.empty() && data.size() < 64) {
    const auto end = text.find('\0');
    std::string_view entry = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const auto nl = entry.find('\n');
    std::string key(entry.substr(0, nl));
    std::string value(nl == std::string_view::npos ? std::string_view() : entry.substr(nl + 1));
    data.emplace(std::move(key), std::move(value));
  }
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const auto data = data_of(std::string_view(reinterpret_cast<const char*>(bytes) + 1, size - 1));
  switch (bytes[0] % 4) {
    case 0: {
      const auto first = wva::saturation::parse_config_map("wva-system", "capacity-scaling-config", data);
      // Parsing again with the first parse as the last good one must also hold.
      const auto second = wva::saturation::parse_config_map("wva-system", "capacity-scaling-config", data, &first);
      if (first.errors.size() != second.errors.size()) std::abort();
      break;
    }
    case 1: {
      const auto r = wva::sdk::util::parse_service_classes(data, "ConfigMap wva-system/service-classes-config");
      for (const auto& e : r.problems)
        if (e.message.empty() || e.path.empty()) std::abort();
      break;
    }
    case 2: {
      const auto r = wva::queueing::parse_profiles(data, "ConfigMap wva-system/profiles");
      for (const auto& e : r.problems)
        if (e.message.empty() || e.path.empty()) std::abort();
      break;
    }
    default: {
      const auto r = wva::queueing::parse_capacity(data, "ConfigMap wva-system/capacity");
      if (!r && r.error().message.empty()) std::abort();
      break;
    }
  }
  return 0;
}
