#include "status_builder.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <utility>

namespace wva::plugins::status {
namespace {

using nlohmann::json;
using sdk::Condition;
using sdk::Decision;

constexpr std::size_t kMaxMessage = 32768;       // metav1.Condition.message
constexpr std::size_t kMaxReason = 1024;         // metav1.Condition.reason
constexpr std::size_t kMaxVariantReason = 4096;  // status.variants[].reason in the CRD

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// Cuts at `max` bytes without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

// "True" / "False" / "Unknown"; anything else is Unknown.
std::string normalize_status(const std::string& s) {
  if (s == "True" || s == "False" || s == "Unknown") return s;
  if (s == "true") return "True";
  if (s == "false") return "False";
  return "Unknown";
}

int severity(const std::string& status) {
  if (status == "False") return 2;
  if (status == "Unknown") return 1;
  return 0;
}

std::string default_reason(const std::string& type, const std::string& status) {
  const bool ok = status == "True";
  if (type == kTargetResolved) return ok ? "TargetFound" : "TargetNotFound";
  if (type == kMetricsAvailable) return ok ? "MetricsFound" : "MetricsMissing";
  if (type == kOptimizationReady) return ok ? "OptimizationSucceeded" : "OptimizationFailed";
  return ok ? "Succeeded" : "Unspecified";
}

Condition normalized(Condition c) {
  c.status = normalize_status(c.status);
  c.reason = sanitize_reason(c.reason, default_reason(c.type, c.status));
  c.message = truncate_utf8(std::move(c.message), kMaxMessage);
  return c;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

const Condition* find_condition(const std::vector<Condition>& cs, const std::string& type) {
  for (const auto& c : cs)
    if (c.type == type) return &c;
  return nullptr;
}

// The model of a VA: the one its decisions belong to, else the first one that names it (as its own VA or
// a variant's), in batch order. Indexed once per batch: a lookup per VA instead of a scan of every model.
class ModelIndex {
 public:
  explicit ModelIndex(const sdk::PublishBatch& batch) {
    for (const auto& m : batch.models) {
      by_key_.try_emplace(m.key, &m);
      if (!m.va_name.empty()) by_va_.try_emplace(VaKey{m.key.ns, m.va_name}, &m);
      for (const auto& v : m.variants)
        if (!v.va_name.empty()) by_va_.try_emplace(VaKey{m.key.ns, v.va_name}, &m);
    }
  }
  const sdk::ModelView* first_with_key(const sdk::ModelKey& key) const {
    auto it = by_key_.find(key);
    return it == by_key_.end() ? nullptr : it->second;
  }
  const sdk::ModelView* first_naming(const VaKey& va) const {
    auto it = by_va_.find(va);
    return it == by_va_.end() ? nullptr : it->second;
  }

 private:
  std::map<sdk::ModelKey, const sdk::ModelView*> by_key_;  // the first model of each key
  std::map<VaKey, const sdk::ModelView*> by_va_;           // the first model naming each VA
};

std::vector<std::string> variants_of(const sdk::ModelView& m, const std::string& va) {
  std::vector<std::string> out;
  for (const auto& v : m.variants)
    if (v.va_name == va || (v.va_name.empty() && m.va_name == va)) out.push_back(v.name);
  return out;
}

// The string member `key` where it is; nullptr when absent or not a string.
const std::string* string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

// The object / array member `key` where it is; nullptr when absent or of another type.
const json* object_at(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? &*it : nullptr;
}
const json* array_at(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() && it->is_array() ? &*it : nullptr;
}

// The .status of an object as read (nullptr: unknown object, or no status object).
const json* status_of(const json* object) { return object ? object_at(*object, "status") : nullptr; }

// Members are set one by one: nlohmann::json's nested initializer lists copy every value twice, and the
// status of a fleet is written every cycle.
json condition_json(const Condition& c, const json* existing, const std::optional<long long>& generation,
                    const std::string& now) {
  const std::string* transition = &now;
  if (const std::string* status = existing ? string_at(*existing, "status") : nullptr; status && *status == c.status)
    if (const std::string* kept = string_at(*existing, "lastTransitionTime"); kept && !kept->empty()) transition = kept;
  json out = json::object();
  out["type"] = c.type;
  out["status"] = c.status;
  out["reason"] = c.reason;
  out["message"] = c.message;
  out["lastTransitionTime"] = *transition;
  if (generation) out["observedGeneration"] = *generation;
  return out;
}

}  // namespace

std::string format_rfc3339(sdk::TimePoint t) {
  const std::time_t secs = sdk::Clock_t::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string sanitize_reason(std::string_view reason, std::string_view fallback) {
  std::string out;
  bool upper_next = false;
  bool changed = false;
  for (char c : reason) {
    if (is_alnum(c) || c == '_' || c == ',' || c == ':') {
      if (out.empty() && !is_alpha(c)) {  // must start with a letter
        changed = true;
        continue;
      }
      if (upper_next && is_alpha(c)) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      upper_next = false;
      out += c;
    } else {
      changed = true;
      upper_next = true;
    }
  }
  if (changed && !out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  if (out.size() > kMaxReason) out.resize(kMaxReason);
  while (!out.empty() && (out.back() == ',' || out.back() == ':')) out.pop_back();
  if (out.empty()) return std::string(fallback);
  return out;
}

bool valid_condition_type(std::string_view type) {
  if (type.empty() || type.size() > 316) return false;
  std::string_view name = type;
  if (auto slash = type.find('/'); slash != std::string_view::npos) {
    std::string_view prefix = type.substr(0, slash);
    name = type.substr(slash + 1);
    if (prefix.empty() || prefix.size() > 253) return false;
    for (char c : prefix)
      if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
            c == '.'))
        return false;
    if (!is_alnum(prefix.front()) || !is_alnum(prefix.back())) return false;
  }
  if (name.empty() || name.size() > 63) return false;
  if (!is_alnum(name.front()) || !is_alnum(name.back())) return false;
  for (char c : name)
    if (!(is_alnum(c) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

Condition metrics_condition(const sdk::ModelMetrics& metrics) {
  switch (metrics.state) {
    case sdk::MetricsState::kOk:  // a message names samples the source rejected (e.g. out of their domain)
      return {kMetricsAvailable, "True", "MetricsFound",
              metrics.message.empty() ? std::string(kMetricsFoundMessage)
                                      : std::string(kMetricsFoundMessage) + "; " + metrics.message};
    case sdk::MetricsState::kNoData:
      return {kMetricsAvailable, "False", "MetricsMissing",
              metrics.message.empty() ? std::string(kMetricsMissingMessage)
                                      : std::string(kMetricsMissingMessage) + ": " + metrics.message};
    case sdk::MetricsState::kStale:
      return {
          kMetricsAvailable, "False", "MetricsStale",
          metrics.message.empty() ? std::string("Saturation metrics are stale (no recent samples)") : metrics.message};
    case sdk::MetricsState::kError:
      // The source's own reason (e.g. the prometheus source's PrometheusError), else a generic one.
      return {kMetricsAvailable, "False", metrics.reason.empty() ? std::string("SourceError") : metrics.reason,
              metrics.message.empty() ? std::string("Failed to get metrics from the metrics source") : metrics.message};
  }
  return {kMetricsAvailable, "Unknown", "MetricsMissing", "unknown metrics state"};
}

void sort_kept_decisions(VaInputs& inputs) {
  inputs.kept.clear();
  for (const Decision* d : inputs.decisions)
    if (d->desired >= 0) inputs.kept.push_back(d);
  std::sort(inputs.kept.begin(), inputs.kept.end(),
            [](const Decision* a, const Decision* b) { return a->variant < b->variant; });
}

std::vector<VaUpdate> plan_updates(const sdk::PublishBatch& batch) {
  std::map<VaKey, VaInputs> by_va;
  auto entry = [&](VaKey key) -> VaInputs& { return by_va[std::move(key)]; };

  for (const Decision& d : batch.decisions) {
    if (d.va_name.empty()) continue;  // nothing to address; the host always sets it
    VaInputs& in = entry(VaKey{d.model.ns, d.va_name});
    in.decisions.push_back(&d);
    d.for_each_condition([&in](const Condition& c) { in.conditions.push_back(&c); });
  }
  for (const auto& rc : batch.conditions) {
    if (rc.va_name.empty()) continue;
    entry(VaKey{rc.ns, rc.va_name}).conditions.push_back(&rc.condition);
  }
  for (const auto& m : batch.models) {
    if (!m.va_name.empty()) entry(VaKey{m.key.ns, m.va_name});
    for (const auto& v : m.variants)
      if (!v.va_name.empty()) entry(VaKey{m.key.ns, v.va_name});
  }

  const ModelIndex models(batch);
  std::vector<VaUpdate> out;
  out.reserve(by_va.size());
  for (auto& [key, inputs] : by_va) {
    resolve_model(
        inputs, [&](const sdk::ModelKey& k) { return models.first_with_key(k); }, models.first_naming(key));
    out.push_back(plan_update(key, inputs));
  }
  return out;
}

VaUpdate plan_update(const VaKey& key, const VaInputs& inputs) {
  VaUpdate u;
  u.key = key;
  for (const Decision* d : inputs.decisions)
    if (d->desired < 0)
      u.problems.push_back("variant " + d->variant + ": desired replicas " + std::to_string(d->desired) +
                           " is negative; not written");
  // What the status needs of each decision; its trail and conditions are not copied (the conditions are
  // merged below, once per VA).
  u.decisions.reserve(inputs.kept.size());
  for (const Decision* d : inputs.kept) {
    Decision& kept = u.decisions.emplace_back();
    kept.model = d->model;
    kept.variant = d->variant;
    kept.va_name = d->va_name;
    kept.accelerator = d->accelerator;
    kept.current = d->current;
    kept.desired = d->desired;
    kept.reason = d->reason;
    kept.analyzer = d->analyzer;
    kept.held = d->held;
    kept.time = d->time;
  }
  u.write_allocation = std::any_of(u.decisions.begin(), u.decisions.end(), [](const Decision& d) { return !d.held; });

  // Explicit conditions: the worst status of each type wins; the first of equal ones is kept.
  std::vector<Condition> merged;
  for (const Condition* raw : inputs.conditions) {
    if (!valid_condition_type(raw->type)) {
      u.problems.push_back("condition type '" + raw->type + "' is not a valid Kubernetes condition type; dropped");
      continue;
    }
    Condition c = normalized(*raw);
    auto it = std::find_if(merged.begin(), merged.end(), [&](const Condition& m) { return m.type == c.type; });
    if (it == merged.end()) merged.push_back(std::move(c));
    else if (severity(c.status) > severity(it->status)) *it = std::move(c);
  }

  const sdk::ModelView* model = inputs.model;
  std::vector<Condition> result;
  // Explicit conditions move into the result (merged types are unique): none is copied twice.
  std::vector<bool> taken(merged.size(), false);
  auto take = [&](const std::string& type) -> bool {
    for (std::size_t i = 0; i < merged.size(); ++i)
      if (!taken[i] && merged[i].type == type) {
        result.push_back(std::move(merged[i]));
        taken[i] = true;
        return true;
      }
    return false;
  };

  // TargetResolved
  if (!take(kTargetResolved)) {
    std::vector<std::string> names;
    for (const auto& d : u.decisions) names.push_back(d.variant);
    if (names.empty() && model) names = variants_of(*model, key.name);
    if (!names.empty())
      result.push_back({kTargetResolved, "True", "TargetFound",
                        (names.size() == 1 ? "Scale target Deployment " : "Scale target Deployments ") +
                            join_names(names) + (names.size() == 1 ? " found" : " found")});
  }
  // MetricsAvailable
  if (!take(kMetricsAvailable) && model) result.push_back(normalized(metrics_condition(model->metrics)));
  // OptimizationReady
  if (!take(kOptimizationReady)) {
    const Condition* metrics = find_condition(result, kMetricsAvailable);
    const bool metrics_down = metrics && metrics->status == "False";
    if (u.write_allocation) {
      std::string msg = "Desired replicas computed:";
      for (const auto& d : u.decisions)
        msg += " " + d.variant + "=" + std::to_string(d.desired) + (d.analyzer.empty() ? "" : " (" + d.analyzer + ")") +
               (d.held ? " [held]" : "");
      result.push_back({kOptimizationReady, "True", "OptimizationSucceeded", truncate_utf8(msg, kMaxMessage)});
    } else if (!u.decisions.empty()) {
      const Decision& d = u.decisions.front();
      std::string msg = "Holding the last decision (" + d.variant + "=" + std::to_string(d.desired) + ")";
      if (!d.reason.empty()) msg += ": " + d.reason;
      result.push_back({kOptimizationReady, "False", metrics_down ? "MetricsUnavailable" : "OptimizationFailed",
                        truncate_utf8(msg, kMaxMessage)});
    } else {
      std::string msg = "No scaling decision this cycle";
      for (const auto& c : result)
        if (c.status == "False") {
          msg += ": " + c.message;
          break;
        }
      result.push_back({kOptimizationReady, "False", metrics_down ? "MetricsUnavailable" : "SkippedProcessing",
                        truncate_utf8(msg, kMaxMessage)});
    }
  }
  // Other types, in the order first seen (a derived condition has a type no explicit one has).
  for (std::size_t i = 0; i < merged.size(); ++i)
    if (!taken[i]) result.push_back(std::move(merged[i]));

  u.conditions = std::move(result);
  return u;
}

namespace {

template <class Out>
void append_size(Out& out, std::size_t n) {
  const auto v = static_cast<std::uint32_t>(n);
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class Out>
void append_text(Out& out, const std::string& s) {
  append_size(out, s.size());
  out.append(s.data(), s.size());
}
template <class Out>
void append_int(Out& out, int v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

void ReasonsHash::append(const char* data, std::size_t n) {
  const std::uint64_t piece = std::hash<std::string_view>{}(std::string_view(data, n));
  h_ ^= piece + 0x9e3779b97f4a7c15ULL + (h_ << 6) + (h_ >> 2);
  h_ *= 0x100000001b3ULL;  // the next piece lands differently
}

template <class Out, class Reasons>
void append_fingerprint(const VaInputs& inputs, Out& out, Reasons& reasons) {
  // The decisions in batch order determine the problems, the kept ones and their order.
  append_size(out, inputs.decisions.size());
  for (const Decision* d : inputs.decisions) {
    append_text(out, d->model.ns);
    append_text(out, d->model.model_id);
    append_text(out, d->variant);
    append_text(out, d->va_name);
    append_text(out, d->accelerator);
    append_int(out, d->current);
    append_int(out, d->desired);
    if (d->desired >= 0) append_text(reasons, d->reason);  // a kept decision's reason goes to variants[]
    else append_text(out, d->reason);
    append_text(out, d->analyzer);
    out.push_back(d->held ? '\1' : '\0');
  }
  // Without a decision that is not held, the first kept one's reason is in OptimizationReady's message.
  const bool write_allocation =
      std::any_of(inputs.kept.begin(), inputs.kept.end(), [](const Decision* d) { return !d->held; });
  if (!write_allocation && !inputs.kept.empty()) append_text(out, inputs.kept.front()->reason);
  append_size(out, inputs.conditions.size());
  for (const Condition* c : inputs.conditions) {
    append_text(out, c->type);
    append_text(out, c->status);
    append_text(out, c->reason);
    // Normalized as plan_update does, the status says whether the message is reason text.
    const bool reason_text = c->type == kOptimizationReady && normalize_status(c->status) == "True";
    if (reason_text) append_text(reasons, c->message);
    else append_text(out, c->message);
  }
  // Of the model: what TargetResolved and MetricsAvailable read.
  const sdk::ModelView* m = inputs.model;
  out.push_back(m ? '\1' : '\0');
  if (!m) return;
  append_text(out, m->va_name);
  append_size(out, m->variants.size());
  for (const auto& v : m->variants) {
    append_text(out, v.name);
    append_text(out, v.va_name);
  }
  append_int(out, static_cast<int>(m->metrics.state));
  append_text(out, m->metrics.message);
  append_text(out, m->metrics.reason);
}

template void append_fingerprint(const VaInputs&, std::string&, std::string&);
template void append_fingerprint(const VaInputs&, DigestHasher&, ReasonsHash&);
template void append_fingerprint(const VaInputs&, std::string&, ReasonsHash&);

namespace {

// A True OptimizationReady's message: the host fills it with the winning analyzer's reason.
bool carries_reason_text(const Condition& c) { return c.type == kOptimizationReady && c.status == "True"; }

bool same_update(const VaUpdate& a, const VaUpdate& b, bool compare_reasons) {
  auto same_decision = [compare_reasons](const Decision& x, const Decision& y) {
    return x.variant == y.variant && x.accelerator == y.accelerator && x.current == y.current &&
           x.desired == y.desired && (!compare_reasons || x.reason == y.reason) && x.analyzer == y.analyzer &&
           x.held == y.held;
  };
  auto same_condition = [compare_reasons](const Condition& x, const Condition& y) {
    return x.type == y.type && x.status == y.status && x.reason == y.reason &&
           (x.message == y.message || (!compare_reasons && carries_reason_text(x) && carries_reason_text(y)));
  };
  return a.key == b.key && a.write_allocation == b.write_allocation &&
         std::equal(a.decisions.begin(), a.decisions.end(), b.decisions.begin(), b.decisions.end(), same_decision) &&
         std::equal(a.conditions.begin(), a.conditions.end(), b.conditions.begin(), b.conditions.end(), same_condition);
}

}  // namespace

bool same_status(const VaUpdate& a, const VaUpdate& b) { return same_update(a, b, true); }
bool same_status_but_reasons(const VaUpdate& a, const VaUpdate& b) { return same_update(a, b, false); }

StatusDigest status_digest(const VaUpdate& update) {
  // What same_update reads, in its order; the reason texts go to their own digest. The decisions' and
  // conditions' counts are in `but_reasons`, so each part splits into its fields one way only.
  DigestHasher but_reasons, reasons;
  append_text(but_reasons, update.key.ns);
  append_text(but_reasons, update.key.name);
  but_reasons.push_back(update.write_allocation ? '\1' : '\0');
  append_size(but_reasons, update.decisions.size());
  for (const Decision& d : update.decisions) {
    append_text(but_reasons, d.variant);
    append_text(but_reasons, d.accelerator);
    append_int(but_reasons, d.current);
    append_int(but_reasons, d.desired);
    append_text(reasons, d.reason);
    append_text(but_reasons, d.analyzer);
    but_reasons.push_back(d.held ? '\1' : '\0');
  }
  append_size(but_reasons, update.conditions.size());
  for (const Condition& c : update.conditions) {
    append_text(but_reasons, c.type);
    append_text(but_reasons, c.status);
    append_text(but_reasons, c.reason);
    // Type and status are compared: both sides carry reason text or neither does.
    append_text(carries_reason_text(c) ? reasons : but_reasons, c.message);
  }
  return StatusDigest{but_reasons.digest(), reasons.digest()};
}

json build_status_patch(const VaUpdate& update, const std::optional<json>& current, sdk::TimePoint now) {
  return build_status_patch(update, current ? &*current : nullptr, now);
}

json build_status_patch(const VaUpdate& update, const json* current, sdk::TimePoint now) {
  const std::string now_s = format_rfc3339(now);
  const json* status = status_of(current);

  std::optional<long long> generation;
  if (const json* md = current && current->is_object() ? object_at(*current, "metadata") : nullptr)
    if (auto it = md->find("generation"); it != md->end() && it->is_number_integer() && it->get<long long>() >= 0)
      generation = it->get<long long>();

  json patch = json::object();

  // Conditions: the list replaces the old one as a whole (merge patch), so keep the ones we do not own.
  // The object is read where it is: types and run times are looked at, not copied.
  json conditions = json::array();
  std::vector<std::string_view> seen;  // a handful of types: a scan beats a set
  auto first_seen = [&](std::string_view type) {
    if (std::find(seen.begin(), seen.end(), type) != seen.end()) return false;
    seen.push_back(type);
    return true;
  };
  if (const json* existing = status ? array_at(*status, "conditions") : nullptr) {
    for (const auto& ec : *existing) {
      const std::string* type = string_at(ec, "type");
      if (!type || !first_seen(*type)) continue;  // malformed or duplicate: dropped
      if (const Condition* c = find_condition(update.conditions, *type))
        conditions.push_back(condition_json(*c, &ec, generation, now_s));
      else conditions.push_back(ec);
    }
  }
  for (const auto& c : update.conditions)
    if (first_seen(c.type)) conditions.push_back(condition_json(c, nullptr, generation, now_s));
  patch["conditions"] = std::move(conditions);

  if (update.write_allocation && !update.decisions.empty()) {
    // Previous lastRunTime of a variant, kept for held decisions (the last entry of its name that has one).
    const json* old_variants = status ? array_at(*status, "variants") : nullptr;
    auto previous_run = [&](const std::string& variant) -> const std::string* {
      const std::string* found = nullptr;
      if (old_variants)
        for (const auto& v : *old_variants)
          if (const std::string* name = string_at(v, "name"); name && *name == variant)
            if (const std::string* t = string_at(v, "lastRunTime")) found = t;
      return found;
    };

    const auto& first = update.decisions.front();
    json alloc = json::object();
    alloc["numReplicas"] = first.desired;
    alloc["lastRunTime"] = now_s;
    alloc["accelerator"] = first.accelerator.empty() ? json(nullptr) : json(first.accelerator);
    if (first.held)
      if (const std::string* p = previous_run(first.variant)) alloc["lastRunTime"] = *p;
    patch["desiredOptimizedAlloc"] = std::move(alloc);

    json variants = json::array();
    for (const auto& d : update.decisions) {
      json v = json::object();
      v["name"] = d.variant;
      v["currentReplicas"] = std::max(0, d.current);
      v["desiredReplicas"] = d.desired;
      v["lastRunTime"] = now_s;
      if (!d.accelerator.empty()) v["accelerator"] = d.accelerator;
      if (!d.reason.empty()) v["reason"] = truncate_utf8(d.reason, kMaxVariantReason);
      if (!d.analyzer.empty()) v["analyzer"] = d.analyzer;
      if (d.held)
        if (const std::string* p = previous_run(d.variant)) v["lastRunTime"] = *p;
      variants.push_back(std::move(v));
    }
    patch["variants"] = std::move(variants);
  }
  return patch;
}

std::vector<PlannedEvent> plan_events(const VaUpdate& update, const std::optional<json>& current) {
  return plan_events(update, current ? &*current : nullptr);
}

std::vector<PlannedEvent> plan_events(const VaUpdate& update, const json* current) {
  std::vector<PlannedEvent> out;
  const json* status = status_of(current);
  // Read where they are (the last entry of a name wins, as a map built from the list would say).
  const json* variants = status ? array_at(*status, "variants") : nullptr;
  const json* conditions = status ? array_at(*status, "conditions") : nullptr;
  if (update.write_allocation) {
    auto previous = [&](const std::string& variant) -> std::optional<long long> {
      std::optional<long long> found;
      if (variants)
        for (const auto& v : *variants)
          if (const std::string* name = string_at(v, "name"); name && *name == variant)
            if (auto it = v.find("desiredReplicas"); it != v.end() && it->is_number_integer())
              found = it->get<long long>();
      return found;
    };
    for (const auto& d : update.decisions) {
      if (d.held) continue;
      const auto p = previous(d.variant);
      if (p && *p == d.desired) continue;
      std::string msg = "Variant " + d.variant + ": desired replicas " +
                        (!p ? std::to_string(d.desired) : std::to_string(*p) + " -> " + std::to_string(d.desired));
      if (!d.reason.empty()) msg += " (" + truncate_utf8(d.reason, 200) + ")";
      out.push_back({"Normal", "ScalingRecommendation", msg});
    }
  }
  auto previous_status = [&](const std::string& type) -> const std::string* {
    const std::string* found = nullptr;
    if (conditions)
      for (const auto& c : *conditions)
        if (const std::string* t = string_at(c, "type"); t && *t == type)
          if (const std::string* st = string_at(c, "status")) found = st;
    return found;
  };
  for (const auto& c : update.conditions) {
    if (c.status != "False") continue;
    const std::string* p = previous_status(c.type);
    if (p && *p == "False") continue;
    out.push_back({"Warning", c.reason.empty() ? c.type + "False" : c.reason, c.message});
  }
  return out;
}

}  // namespace wva::plugins::status
