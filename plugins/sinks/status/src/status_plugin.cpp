#include "status_plugin.h"

#include <algorithm>
#include <exception>
#include <set>
#include <vector>

namespace wva::plugins::status {
namespace {

using sdk::ErrorCode;
using sdk::make_error;

}  // namespace

sdk::Result<void> StatusSink::configure(const sdk::Config& config, const std::string& config_path) {
  try {
    config_ = read_settings(config);
    config_path_ = config_path;
    return sdk::ok();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("unexpected error: ") + e.what(), config_path);
  }
}

sdk::Result<void> StatusSink::start(sdk::PluginContext& context) {
  context_ = &context;
  std::lock_guard lock(settled_mutex_);
  grouping_.clear();  // what settled was another context's cluster
  settled_.clear();
  return sdk::ok();
}

void StatusSink::stop() noexcept { context_ = nullptr; }

StatusSink::Outcome StatusSink::write_one(const VaUpdate& update, const InputsDigest& inputs,
                                          const std::string& pipeline, sdk::TimePoint now, sdk::Error& error) {
  auto& cluster = context_->cluster();
  const VaKey& key = update.key;
  const std::string& ns = key.ns;
  const std::string& name = key.name;
  // The VA's settled state, when it still has a slot.
  auto settled_of = [&]() -> std::optional<Settled>* {
    const VaGrouping::Id* id = grouping_.find(key);
    return id && *id < settled_.size() ? &settled_[*id] : nullptr;
  };
  std::optional<StatusDigest> digest;  // of `update`, computed once when needed
  auto update_digest = [&]() -> const StatusDigest& {
    if (!digest) digest = status_digest(update);
    return *digest;
  };
  auto gone = [&] {
    if (auto* s = settled_of()) s->reset();
    return Outcome::kGone;
  };
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    // The version first (no object made), the object only when an update is built from it.
    auto version = cluster.object_version(kKind, ns, name);
    if (!version) {
      error = version.error();
      error.message = "read failed: " + error.message;
      return Outcome::kFailed;
    }
    if (!*version) return gone();
    if (auto* s = settled_of(); s && *s && (*s)->version == **version) {
      const Settled& last = **s;
      const bool same = last.update == update_digest();           // same_status
      if (same && last.stored_nothing) return Outcome::kWritten;  // it would store nothing again
      if (!same && config_.reason_refresh.count() > 0 && now - last.written < config_.reason_refresh &&
          last.update.but_reasons == update_digest().but_reasons)  // same_status_but_reasons
        return Outcome::kWritten;  // only an analyzer's figures changed: refreshed later
    }
    // The cached object itself (immutable): read where it is, never copied. Should it have changed since
    // its version was read, the update is built from the newer one, and the version after the write
    // differs from the one read: nothing is skipped on its account.
    auto current = cluster.get_shared(kKind, ns, name);
    if (!current) {
      error = current.error();
      error.message = "read failed: " + error.message;
      return Outcome::kFailed;
    }
    if (!*current) return gone();
    const nlohmann::json patch = build_status_patch(update, current->get(), now);
    auto r = cluster.patch_status(kKind, ns, name, patch);
    if (r) {
      // The version the backend holds now: the one read above when it stored nothing, else the written
      // one's (when the backend shows its own writes at once; otherwise the next read differs and the next
      // update is written).
      auto after = cluster.object_version(kKind, ns, name);
      const std::vector<PlannedEvent> events = plan_events(update, current->get());
      if (auto* s = settled_of()) {
        if (after && *after)
          *s = Settled{**after, update_digest(), !update.problems.empty(), inputs, pipeline, now, **after == **version};
        else s->reset();
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

void StatusSink::forget_unnamed(const std::string& pipeline) {
  for (VaGrouping::Id id = 0; id < grouping_.id_limit(); ++id) {
    if (!grouping_.live(id) || grouping_.named_by_last_batch(id)) continue;
    std::optional<Settled>& s = settled_[id];
    if (s && s->pipeline != pipeline) continue;  // another pipeline's VA
    s.reset();
    grouping_.release(id);
  }
}

sdk::Result<void> StatusSink::publish(const sdk::PublishBatch& batch) {
  try {
    if (!context_) return make_error(ErrorCode::kInternal, "publish called before start", config_path_);
    const sdk::TimePoint now = batch.time == sdk::TimePoint{} ? context_->clock().now() : batch.time;
    auto& cluster = context_->cluster();

    // Each VA in the order of its key, one at a time: what may change is known from the digests of its
    // inputs against those of its settled write, on the very object that took it (write_one's rules,
    // decided before an update is built): the same inputs after a write that stored nothing give the same
    // update, which would store nothing again; inputs that differ only in the variants' reasons, within
    // reasonRefresh, give an update that waits. Any other VA gets its update planned and written (write_one
    // decides) before the next is looked at: one VA's update is held at a time, not the fleet's.
    std::lock_guard lock(settled_mutex_);
    const std::vector<VaGrouping::Id>& named = grouping_.group(batch);
    const std::size_t vas = named.size();
    std::size_t written = 0;
    if (settled_.size() < grouping_.id_limit()) settled_.resize(grouping_.id_limit());
    std::vector<VaGrouping::Id> order(named.begin(), named.end());
    std::sort(order.begin(), order.end(),
              [&](VaGrouping::Id a, VaGrouping::Id b) { return grouping_.key(a) < grouping_.key(b); });
    if (!batch.partial) forget_unnamed(batch.pipeline);  // leaves the named VAs as they are

    std::vector<std::pair<std::string, sdk::Error>> failures;
    for (VaGrouping::Id id : order) {
      const VaInputs& inputs = grouping_.inputs(id);
      const VaKey& key = grouping_.key(id);
      const std::optional<Settled>& s = settled_[id];
      DigestHasher but_reasons;
      ReasonsHash reasons;
      append_fingerprint(inputs, but_reasons, reasons);
      const InputsDigest digest{but_reasons.digest(), reasons.value()};
      if (s && !s->update_problems && digest.but_reasons == s->inputs.but_reasons) {
        const bool same = digest.reasons == s->inputs.reasons;
        const bool waits =
            same ? s->stored_nothing : config_.reason_refresh.count() > 0 && now - s->written < config_.reason_refresh;
        if (waits)
          if (auto version = cluster.object_version(kKind, key.ns, key.name);
              version && *version && **version == s->version) {
            ++written;
            continue;
          }
      }
      const VaUpdate planned = plan_update(key, inputs);
      for (const auto& p : planned.problems)
        context_->logger().warn("status: VariantAutoscaling " + key.to_string() + ": " + p);
      sdk::Error error;
      switch (write_one(planned, digest, batch.pipeline, now, error)) {
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

}  // namespace wva::plugins::status
