#include "profile.h"

#include <algorithm>
#include <cctype>

namespace wva::emulator {

const std::vector<StepProfile>& builtin_profiles() {
  // From data/profiles/profiles.json (measured 2026-11-27); keep in sync with that digest.
  static const std::vector<StepProfile> kProfiles = {
      {"llama-3.1-8b", "H100", 7.3952, 0.011721, 4.2184e-05, 6.6657, 0.029546, 469252},
      {"llama-3.1-8b", "H200", 5.8568, 0.014273, 3.0519e-05, 7.0761, 0.028814, 916206},
      {"qwen2.5-32b", "H100", 25.4364, 0.093639, 0.000110802, 7.0441, 0.11901, 47859},
      {"qwen2.5-32b", "H200", 19.436, 0.078925, 4.5103e-05, 12.333, 0.117878, 271336},
  };
  return kProfiles;
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

const StepProfile* find_profile(const std::vector<StepProfile>& profiles, const std::string& id) {
  const std::string want = lower(id);
  for (const auto& p : profiles)
    if (lower(p.id()) == want) return &p;
  return nullptr;
}

std::vector<StepProfile> parse_profiles(const nlohmann::json& digest, const std::string& path, ConfigErrors& errors) {
  std::vector<StepProfile> out;
  if (!digest.is_object() || !digest.contains("profiles") || !digest["profiles"].is_array()) {
    errors.add(path, "must be a profiles digest with a \"profiles\" list");
    return out;
  }
  const auto& list = digest["profiles"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + ".profiles[" + std::to_string(i) + "]";
    const auto& e = list[i];
    const std::size_t before = errors.size();
    auto num = [&](const nlohmann::json& obj, const char* key, const std::string& where) -> double {
      if (!obj.is_object() || !obj.contains(key)) {
        errors.add(where + "." + key, "missing");
        return 0;
      }
      return get_number(obj[key], where + "." + key, errors).value_or(0);
    };
    StepProfile sp;
    if (e.is_object() && e.contains("model")) sp.model = get_string(e["model"], p + ".model", errors).value_or("");
    else errors.add(p + ".model", "missing");
    if (e.is_object() && e.contains("accelerator"))
      sp.accelerator = get_string(e["accelerator"], p + ".accelerator", errors).value_or("");
    else errors.add(p + ".accelerator", "missing");
    const nlohmann::json empty = nlohmann::json::object();
    const auto& dec = e.is_object() && e.contains("decode_step_ms") ? e["decode_step_ms"] : empty;
    const auto& pre = e.is_object() && e.contains("prefill_ms") ? e["prefill_ms"] : empty;
    sp.base_ms = num(dec, "base", p + ".decode_step_ms");
    sp.per_seq_ms = num(dec, "per_seq", p + ".decode_step_ms");
    sp.per_kv_token_ms = num(dec, "per_kv_token", p + ".decode_step_ms");
    sp.prefill_gamma_ms = num(pre, "gamma", p + ".prefill_ms");
    sp.prefill_delta_ms = num(pre, "delta_per_token", p + ".prefill_ms");
    sp.kv_capacity_tokens = num(e, "kv_capacity_tokens_at_util_0_9", p);
    if (errors.size() == before) out.push_back(sp);
  }
  return out;
}

std::optional<StepProfile> parse_profile_ref(const nlohmann::json& j, const std::vector<StepProfile>& known,
                                             const std::string& path, ConfigErrors& errors) {
  auto known_ids = [&] {
    std::string s;
    for (const auto& p : known) s += (s.empty() ? "" : ", ") + p.id();
    return s;
  };
  if (j.is_string()) {
    if (const StepProfile* p = find_profile(known, j.get<std::string>())) return *p;
    errors.add(path, "unknown profile \"" + j.get<std::string>() + "\" (known: " + known_ids() + ")");
    return std::nullopt;
  }
  if (!j.is_object()) {
    errors.add(path, "must be a profile id like \"llama-3.1-8b/H100\" or a map of coefficients");
    return std::nullopt;
  }
  check_keys(j, {"from", "base", "perSeq", "perKvToken", "prefillGamma", "prefillDelta", "kvCapacityTokens"}, path,
             errors);
  StepProfile sp;
  bool have_from = false;
  if (j.contains("from")) {
    if (auto id = get_string(j["from"], path + ".from", errors)) {
      if (const StepProfile* p = find_profile(known, *id)) {
        sp = *p;
        have_from = true;
      } else {
        errors.add(path + ".from", "unknown profile \"" + *id + "\" (known: " + known_ids() + ")");
        return std::nullopt;
      }
    }
  } else {
    sp.model = "custom";
    sp.accelerator = "custom";
  }
  struct Field {
    const char* key;
    double* target;
    double min;
  } fields[] = {{"base", &sp.base_ms, 0},
                {"perSeq", &sp.per_seq_ms, 0},
                {"perKvToken", &sp.per_kv_token_ms, 0},
                {"prefillGamma", &sp.prefill_gamma_ms, 0},
                {"prefillDelta", &sp.prefill_delta_ms, 0},
                {"kvCapacityTokens", &sp.kv_capacity_tokens, 1}};
  for (const auto& f : fields) {
    if (!j.contains(f.key)) {
      if (!have_from) errors.add(path + "." + f.key, "missing (or give `from: <profile id>`)");
      continue;
    }
    if (auto v = get_number(j[f.key], path + "." + f.key, errors)) {
      if (*v < f.min) errors.add(path + "." + f.key, "must be >= " + format_number(f.min));
      else *f.target = *v;
    }
  }
  if (sp.base_ms <= 0 && sp.prefill_gamma_ms <= 0 && sp.prefill_delta_ms <= 0 && j.contains("base"))
    errors.add(path, "step time would be 0: give base or prefillGamma > 0");
  return sp;
}

}  // namespace wva::emulator
