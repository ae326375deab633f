// Step-time profiles of one model on one accelerator (the digest in data/profiles/profiles.json) and the
// vLLM engine settings that shape a replica.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_util.h"

namespace wva::emulator {

struct StepProfile {
  std::string model;        // e.g. "llama-3.1-8b"
  std::string accelerator;  // e.g. "H100"
  // Decode step: base + per_seq * decoding_seqs + per_kv_token * kv_tokens_attended (ms).
  double base_ms = 0;
  double per_seq_ms = 0;
  double per_kv_token_ms = 0;
  // Prefill: gamma + delta * tokens (ms).
  double prefill_gamma_ms = 0;
  double prefill_delta_ms = 0;
  double kv_capacity_tokens = 0;  // KV pool at gpu_memory_utilization 0.9

  // Time of one engine step, in ms. A step that decodes `decoding` sequences attending `kv_attended`
  // cached tokens in all and computes `prefill_tokens` prompt tokens (chunked prefill mixes both):
  //   decode only:  base + per_seq*decoding + per_kv_token*kv_attended     (the measured decode fit)
  //   prefill only: gamma + delta*prefill_tokens                           (the measured prefill fit)
  //   mixed:        max(base, gamma) + per_seq*decoding + per_kv_token*kv_attended + delta*prefill_tokens
  // The fixed cost (weights read, launches) is paid once per step, so it is not counted twice.
  double step_ms(int decoding, double kv_attended, double prefill_tokens) const {
    const double fixed =
        decoding > 0 ? (prefill_tokens > 0 ? std::max(base_ms, prefill_gamma_ms) : base_ms) : prefill_gamma_ms;
    return fixed + per_seq_ms * decoding + per_kv_token_ms * kv_attended + prefill_delta_ms * prefill_tokens;
  }
  double prefill_ms(double tokens) const { return prefill_gamma_ms + prefill_delta_ms * tokens; }
  std::string id() const { return model + "/" + accelerator; }
};

// The vLLM engine settings of one replica.
struct EngineConfig {
  StepProfile profile;
  int max_num_seqs = 1024;
  int max_num_batched_tokens = 8192;
  double kv_cache_tokens = 0;  // pool size; 0 = the profile's capacity
  int block_size = 16;         // reported in vllm:cache_config_info only
  bool prefix_caching = true;  // vLLM's automatic prefix caching (on by default in V1); hits need block hashes

  double pool_tokens() const { return kv_cache_tokens > 0 ? kv_cache_tokens : profile.kv_capacity_tokens; }
};

// The four measured digests (llama-3.1-8b and qwen2.5-32b on H100 and H200), built in so the emulator
// needs no data files.
const std::vector<StepProfile>& builtin_profiles();

// Parses a profiles.json digest ({"profiles": [{model, accelerator, decode_step_ms, prefill_ms, ...}]}).
std::vector<StepProfile> parse_profiles(const nlohmann::json& digest, const std::string& path, ConfigErrors& errors);

// "llama-3.1-8b/H100" (case-insensitive) among `profiles`; nullptr when absent.
const StepProfile* find_profile(const std::vector<StepProfile>& profiles, const std::string& id);

// A profile given in the config: a string id, or a map {base, perSeq, perKvToken, prefillGamma,
// prefillDelta, kvCapacityTokens} (all ms), optionally with `from: <id>` to start from a known profile.
std::optional<StepProfile> parse_profile_ref(const nlohmann::json& j, const std::vector<StepProfile>& known,
                                             const std::string& path, ConfigErrors& errors);

}  // namespace wva::emulator
