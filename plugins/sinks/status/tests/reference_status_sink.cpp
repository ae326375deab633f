// The status sink as it was before it wrote a VA at a time and kept digests (a copy, for the equality
// tests): it planned every VA's update before writing any, kept each VA's fingerprint text and its last
// written update, and planned with copies of the merged conditions. Not built into the plugin.
#include "reference_status_sink.h"

#include <algorithm>
#include <exception>
#include <set>
#include <vector>

namespace wva::plugins::status::reference {
namespace {

using sdk::Condition;
using sdk::Decision;
using sdk::ErrorCode;
using sdk::make_error;

constexpr std::size_t kMaxMessage = 32768;  // metav1.Condition.message

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

std::vector<std::string> variants_of(const sdk::ModelView& m, const std::string& va) {
  std::vector<std::string> out;
  for (const auto& v : m.variants)
    if (v.va_name == va || (v.va_name.empty() && m.va_name == va)) out.push_back(v.name);
  return out;
}

}  // namespace

VaUpdate reference_plan_update(const VaKey& key, const VaInputs& inputs) {
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
  auto take = [&](const std::string& type) -> bool {
    if (const Condition* c = find_condition(merged, type)) {
      result.push_back(*c);
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
  // Other types, in the order first seen.
  for (const auto& c : merged)
    if (!find_condition(result, c.type)) result.push_back(c);

  u.conditions = std::move(result);
  return u;
}

sdk::Result<void> ReferenceStatusSink::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    config_ = read_settings(config);
    config_path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("unexpected error: ") + e.what(), config_path);
  }
}

sdk::Result<void> ReferenceStatusSink::start(sdk::PluginContext& context) {
  context_ = &context;
  std::lock_guard lock(settled_mutex_);
  grouping_.clear();  // what settled was another context's cluster
  settled_.clear();
  return sdk::ok();
}

void ReferenceStatusSink::stop() noexcept { context_ = nullptr; }

ReferenceStatusSink::Outcome ReferenceStatusSink::write_one(VaUpdate&& update, Inputs&& inputs,
                                                            const std::string& pipeline, sdk::TimePoint now,
                                                            sdk::Error& error) {
  auto& cluster = context_->cluster();
  const VaKey key = update.key;  // the update moves into the settled state
  const std::string& ns = key.ns;
  const std::string& name = key.name;
  // The VA's settled state, when it still has a slot. Under settled_mutex_.
  auto settled_of = [&]() -> std::optional<Settled>* {
    const VaGrouping::Id* id = grouping_.find(key);
    return id && *id < settled_.size() ? &settled_[*id] : nullptr;
  };
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    // The cached object itself (immutable): read where it is, never copied.
    auto current = cluster.get_shared(kKind, ns, name);
    if (!current) {
      error = current.error();
      error.message = "read failed: " + error.message;
      return Outcome::kFailed;
    }
    if (!*current) {
      std::lock_guard lock(settled_mutex_);
      if (auto* s = settled_of()) s->reset();
      return Outcome::kGone;
    }
    {
      std::lock_guard lock(settled_mutex_);
      if (auto* s = settled_of(); s && *s && (*s)->object == *current) {
        const Settled& last = **s;
        const bool same = same_status(last.update, update);
        if (same && last.stored_nothing) return Outcome::kWritten;  // it would store nothing again
        if (!same && config_.reason_refresh.count() > 0 && now - last.written < config_.reason_refresh &&
            same_status_but_reasons(last.update, update))
          return Outcome::kWritten;  // only an analyzer's figures changed: refreshed later
      }
    }
    const nlohmann::json patch = build_status_patch(update, current->get(), now);
    auto r = cluster.patch_status(kKind, ns, name, patch);
    if (r) {
      // The object as the backend hands it out now: the one read above when it stored nothing, else the
      // written one (when the backend shows its own writes at once; otherwise the next read differs and the
      // next update is written).
      auto after = cluster.get_shared(kKind, ns, name);
      const std::vector<PlannedEvent> events = plan_events(update, current->get());
      {
        std::lock_guard lock(settled_mutex_);
        if (auto* s = settled_of()) {
          if (after && *after)
            *s = Settled{*after, std::move(update), std::move(inputs), pipeline, now, *after == *current};
          else s->reset();
        }
      }
      // kubectl describe shows what changed; a failed event never fails the write.
      for (const auto& e : events)
        if (auto ev = cluster.emit_event(**current, e.type, e.reason, e.message); !ev)
          context_->logger().debug("status: event on VariantAutoscaling " + key.to_string() +
                                   " not recorded: " + ev.error().message);
      return Outcome::kWritten;
    }
    if (r.error().code == ErrorCode::kNotFound) return Outcome::kGone;  // deleted since the read
    error = r.error();
    if (r.error().code != ErrorCode::kConflict) return Outcome::kFailed;
    context_->logger().debug("status: conflict writing VariantAutoscaling " + key.to_string() + " (attempt " +
                             std::to_string(attempt) + " of " + std::to_string(config_.max_attempts) + "); re-reading");
  }
  error.message += " (after " + std::to_string(config_.max_attempts) + " attempts)";
  return Outcome::kFailed;
}

void ReferenceStatusSink::forget_unnamed(const std::string& pipeline) {
  for (VaGrouping::Id id = 0; id < grouping_.id_limit(); ++id) {
    if (!grouping_.live(id) || grouping_.named_by_last_batch(id)) continue;
    std::optional<Settled>& s = settled_[id];
    if (s && s->pipeline != pipeline) continue;  // another pipeline's VA
    s.reset();
    grouping_.release(id);
  }
}

sdk::Result<void> ReferenceStatusSink::publish(const sdk::PublishBatch& batch) {
  try {
    if (!context_) return make_error(ErrorCode::kInternal, "publish called before start", config_path_);
    const sdk::TimePoint now = batch.time == sdk::TimePoint{} ? context_->clock().now() : batch.time;
    auto& cluster = context_->cluster();

    // What may change, from the fingerprints of each VA's inputs against those of its settled write, on the
    // very object that took it (write_one's rules, decided before any update is built): the same inputs
    // after a write that stored nothing give the same update, which would store nothing again; inputs that
    // differ only in the variants' reasons, within reasonRefresh, give an update that waits. Every other
    // VA gets its update planned, and write_one decides. Nothing here waits on I/O.
    struct ToWrite {
      VaUpdate update;
      Inputs inputs;
    };
    std::vector<ToWrite> to_write;
    std::size_t vas = 0;
    std::size_t written = 0;
    {
      std::lock_guard lock(settled_mutex_);
      const std::vector<VaGrouping::Id>& named = grouping_.group(batch);
      vas = named.size();
      if (settled_.size() < grouping_.id_limit()) settled_.resize(grouping_.id_limit());
      for (VaGrouping::Id id : named) {
        const VaInputs& inputs = grouping_.inputs(id);
        const std::optional<Settled>& s = settled_[id];
        std::string but_reasons;
        ReasonsHash reasons;
        append_fingerprint(inputs, but_reasons, reasons);
        if (s && s->update.problems.empty() && but_reasons == s->inputs.but_reasons) {
          const bool same = reasons.value() == s->inputs.reasons;
          const bool waits = same ? s->stored_nothing
                                  : config_.reason_refresh.count() > 0 && now - s->written < config_.reason_refresh;
          const VaKey& key = grouping_.key(id);
          if (waits)
            if (auto current = cluster.get_shared(kKind, key.ns, key.name); current && *current == s->object) {
              ++written;
              continue;
            }
        }
        to_write.push_back(
            ToWrite{reference_plan_update(grouping_.key(id), inputs), Inputs{std::move(but_reasons), reasons.value()}});
      }
      if (!batch.partial) forget_unnamed(batch.pipeline);
    }
    std::sort(to_write.begin(), to_write.end(),
              [](const ToWrite& a, const ToWrite& b) { return a.update.key < b.update.key; });

    std::vector<std::pair<std::string, sdk::Error>> failures;
    for (auto& [planned, inputs] : to_write) {
      const VaKey key = planned.key;
      for (const auto& p : planned.problems)
        context_->logger().warn("status: VariantAutoscaling " + key.to_string() + ": " + p);
      sdk::Error error;
      switch (write_one(std::move(planned), std::move(inputs), batch.pipeline, now, error)) {
        case Outcome::kWritten: ++written; break;
        case Outcome::kGone:
          context_->logger().info("status: VariantAutoscaling " + key.to_string() +
                                  " no longer exists; its status is not written");
          break;
        case Outcome::kFailed:
          context_->logger().warn("status: cannot write VariantAutoscaling " + key.to_string() + ": " +
                                  to_string(error.code) + ": " + error.message);
          failures.emplace_back(key.to_string(), std::move(error));
          break;
      }
    }
    context_->logger().debug("status: pipeline " + batch.pipeline + ": wrote " + std::to_string(written) + " of " +
                             std::to_string(vas) + " VariantAutoscaling status(es)");
    if (failures.empty()) return sdk::ok();

    std::set<ErrorCode> codes;
    std::string msg = "could not write the status of " + std::to_string(failures.size()) + " of " +
                      std::to_string(vas) + " VariantAutoscaling(s): ";
    for (std::size_t i = 0; i < failures.size(); ++i) {
      codes.insert(failures[i].second.code);
      msg += (i ? "; " : "") + failures[i].first + " (" + to_string(failures[i].second.code) + ": " +
             failures[i].second.message + ")";
    }
    return make_error(codes.size() == 1 ? *codes.begin() : ErrorCode::kUnavailable, msg, config_path_);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("status sink failed: ") + e.what(), config_path_);
  }
}

}  // namespace wva::plugins::status::reference
