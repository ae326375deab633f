#include "status_plugin.h"

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
  settled_.clear();  // what settled was another context's cluster
  return sdk::ok();
}

void StatusSink::stop() noexcept { context_ = nullptr; }

StatusSink::Outcome StatusSink::write_one(const VaUpdate& update, const std::string& pipeline, sdk::TimePoint now,
                                          sdk::Error& error) {
  auto& cluster = context_->cluster();
  const std::string& ns = update.key.ns;
  const std::string& name = update.key.name;
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
      settled_.erase(update.key);
      return Outcome::kGone;
    }
    {
      std::lock_guard lock(settled_mutex_);
      if (auto it = settled_.find(update.key); it != settled_.end() && it->second.object == *current) {
        const bool same = same_status(it->second.update, update);
        if (same && it->second.stored_nothing) return Outcome::kWritten;  // it would store nothing again
        if (!same && config_.reason_refresh.count() > 0 && now - it->second.written < config_.reason_refresh &&
            same_status_but_reasons(it->second.update, update))
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
      {
        std::lock_guard lock(settled_mutex_);
        if (after && *after)
          settled_.insert_or_assign(update.key, Settled{*after, update, pipeline, now, *after == *current});
        else settled_.erase(update.key);
      }
      // kubectl describe shows what changed; a failed event never fails the write.
      for (const auto& e : plan_events(update, current->get()))
        if (auto ev = cluster.emit_event(**current, e.type, e.reason, e.message); !ev)
          context_->logger().debug("status: event on VariantAutoscaling " + update.key.to_string() +
                                   " not recorded: " + ev.error().message);
      return Outcome::kWritten;
    }
    if (r.error().code == ErrorCode::kNotFound) return Outcome::kGone;  // deleted since the read
    error = r.error();
    if (r.error().code != ErrorCode::kConflict) return Outcome::kFailed;
    context_->logger().debug("status: conflict writing VariantAutoscaling " + update.key.to_string() + " (attempt " +
                             std::to_string(attempt) + " of " + std::to_string(config_.max_attempts) + "); re-reading");
  }
  error.message += " (after " + std::to_string(config_.max_attempts) + " attempts)";
  return Outcome::kFailed;
}

void StatusSink::forget_settled(const std::string& pipeline, const std::vector<VaUpdate>& updates) {
  std::lock_guard lock(settled_mutex_);
  std::size_t i = 0;  // both ordered by VaKey
  for (auto it = settled_.begin(); it != settled_.end();) {
    while (i < updates.size() && updates[i].key < it->first) ++i;
    const bool named = i < updates.size() && updates[i].key == it->first;
    if (!named && it->second.pipeline == pipeline) it = settled_.erase(it);
    else ++it;
  }
}

sdk::Result<void> StatusSink::publish(const sdk::PublishBatch& batch) {
  try {
    if (!context_) return make_error(ErrorCode::kInternal, "publish called before start", config_path_);
    const sdk::TimePoint now = batch.time == sdk::TimePoint{} ? context_->clock().now() : batch.time;
    const std::vector<VaUpdate> updates = plan_updates(batch);
    if (!batch.partial) forget_settled(batch.pipeline, updates);

    std::vector<std::pair<std::string, sdk::Error>> failures;
    std::size_t written = 0;
    for (const auto& u : updates) {
      for (const auto& p : u.problems)
        context_->logger().warn("status: VariantAutoscaling " + u.key.to_string() + ": " + p);
      sdk::Error error;
      switch (write_one(u, batch.pipeline, now, error)) {
        case Outcome::kWritten: ++written; break;
        case Outcome::kGone:
          context_->logger().info("status: VariantAutoscaling " + u.key.to_string() +
                                  " no longer exists; its status is not written");
          break;
        case Outcome::kFailed:
          context_->logger().warn("status: cannot write VariantAutoscaling " + u.key.to_string() + ": " +
                                  to_string(error.code) + ": " + error.message);
          failures.emplace_back(u.key.to_string(), std::move(error));
          break;
      }
    }
    context_->logger().debug("status: pipeline " + batch.pipeline + ": wrote " + std::to_string(written) + " of " +
                             std::to_string(updates.size()) + " VariantAutoscaling status(es)");
    if (failures.empty()) return sdk::ok();

    std::set<ErrorCode> codes;
    std::string msg = "could not write the status of " + std::to_string(failures.size()) + " of " +
                      std::to_string(updates.size()) + " VariantAutoscaling(s): ";
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
