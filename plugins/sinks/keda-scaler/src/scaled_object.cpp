#include "scaled_object.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "wva/sdk/util/suggest.h"

namespace wva::plugins::keda {
namespace {

constexpr std::size_t kMaxNameLength = 253;  // a Kubernetes object name

// Deployment and namespace names are DNS-1123 subdomains / labels: lower-case alphanumerics, '-' and '.'.
bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::islower(u) || std::isdigit(u) || c == '-' || c == '.')) return false;
  }
  return true;
}

}  // namespace

sdk::Result<VariantRef> variant_ref(const std::string& scaled_object, const std::string& scaled_object_ns,
                                    const std::map<std::string, std::string>& metadata) {
  const std::string who =
      "ScaledObject \"" + (scaled_object_ns.empty() ? "" : scaled_object_ns + "/") + scaled_object + "\": ";
  const std::vector<std::string> known = {kVariantKey, kNamespaceKey, kModelKey};
  // A misspelt key would otherwise be ignored silently (e.g. "namepsace" scaling another namespace's variant).
  for (const auto& [key, value] : metadata) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    if (auto best = sdk::closest_match(key, known))
      return sdk::make_error(sdk::ErrorCode::kInvalidConfig, who + "unknown scalerMetadata key \"" + key.substr(0, 64) +
                                                                 "\"; did you mean \"" + *best + "\"?");
  }

  VariantRef ref;
  auto v = metadata.find(kVariantKey);
  if (v == metadata.end() || v->second.empty())
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           who +
                               "scalerMetadata.variantName is required: the Deployment of the variant, e.g. "
                               "variantName: llama-8b-h100");
  if (!valid_name(v->second))
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           who + "scalerMetadata.variantName \"" + v->second.substr(0, kMaxNameLength) +
                               "\" is not a Deployment name (lower-case letters, digits, '-' and '.', at most 253)");
  ref.variant = v->second;

  auto n = metadata.find(kNamespaceKey);
  ref.ns = n != metadata.end() && !n->second.empty() ? n->second : scaled_object_ns;
  if (ref.ns.empty())
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           who + "no namespace: the request names none and scalerMetadata.namespace is not set");
  if (!valid_name(ref.ns))
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           who + "namespace \"" + ref.ns.substr(0, kMaxNameLength) + "\" is not a namespace name");

  if (auto m = metadata.find(kModelKey); m != metadata.end() && !m->second.empty()) {
    if (m->second.size() > 1024)
      return sdk::make_error(sdk::ErrorCode::kInvalidConfig, who + "scalerMetadata.modelID is longer than 1024");
    ref.model_id = m->second;
  }
  return ref;
}

std::string metric_name(const std::string& variant) {
  std::string out = "wva-desired-replicas-";
  for (char c : variant) {
    const auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
  }
  return out;
}

}  // namespace wva::plugins::keda
