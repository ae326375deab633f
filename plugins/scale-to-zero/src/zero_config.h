// The ConfigMap `wva-model-scale-to-zero-config` (the upstream name and entry format): a `default` entry
// and per-model entries `{model_id, namespace, enable_scale_to_zero, retention_period}`. Unlike upstream,
// an entry with a namespace applies to that namespace only (docs/upstream.md section 11 item 10).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wva/sdk/result.h"
#include "wva/sdk/types.h"

namespace wva::scale_to_zero {

inline constexpr const char* kConfigMapName = "wva-model-scale-to-zero-config";
inline constexpr std::chrono::milliseconds kDefaultRetention{10 * 60 * 1000};  // upstream's 10 minutes
inline constexpr std::chrono::milliseconds kMaxRetention{7LL * 24 * 3600 * 1000};
inline constexpr std::size_t kMaxEntryBytes = 64 * 1024;

// What one model gets.
struct ZeroPolicy {
  bool enabled = false;
  std::chrono::milliseconds retention = kDefaultRetention;
  std::string source = "code defaults";  // which entry decided, for reasons

  friend bool operator==(const ZeroPolicy&, const ZeroPolicy&) = default;
};

// The fields one entry sets; the rest come from `default`, then the code defaults.
struct PartialPolicy {
  std::optional<bool> enabled;
  std::optional<std::chrono::milliseconds> retention;
};

struct ModelEntry {
  std::string key;       // data key
  std::string model_id;  // required
  std::string ns;        // empty: the model in any namespace
  PartialPolicy values;
};

struct ZeroConfig {
  std::string source;  // "ConfigMap <ns>/<name>"
  std::optional<PartialPolicy> default_entry;
  std::vector<ModelEntry> entries;  // sorted by data key; a duplicate (model, namespace) keeps the first
  std::vector<sdk::Error> errors;   // path "ConfigMap ns/name: data.<key>.<field>"
  std::vector<std::string> warnings;

  // ns-specific entry, then any-namespace entry, then `default`, then off.
  ZeroPolicy resolve(const sdk::ModelKey& model) const;
};

// Parses a ConfigMap's data. Every problem is collected with its path; an invalid entry is left out
// (the caller keeps the last good config while any error remains).
ZeroConfig parse_zero_config(const std::string& source, const std::map<std::string, std::string>& data);

}  // namespace wva::scale_to_zero
