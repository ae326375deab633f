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
  return sdk::ok();
}

void StatusSink::stop() noexcept { context_ = nullptr; }

StatusSink::Outcome StatusSink::write_one(const VaUpdate& update, sdk::TimePoint now, sdk::Error& error) {
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
    if (!*current) return Outcome::kGone;
    const nlohmann::json patch = build_status_patch(update, current->get(), now);
    auto r = cluster.patch_status(kKind, ns, name, patch);
    if (r) {
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

sdk::Result<void> StatusSink::publish(const sdk::PublishBatch& batch) {
  try {
    if (!context_) return make_error(ErrorCode::kInternal, "publish called before start", config_path_);
    const sdk::TimePoint now = batch.time == sdk::TimePoint{} ? context_->clock().now() : batch.time;
    const std::vector<VaUpdate> updates = plan_updates(batch);

    std::vector<std::pair<std::string, sdk::Error>> failures;
    std::size_t written = 0;
    for (const auto& u : updates) {
      for (const auto& p : u.problems)
        context_->logger().warn("status: VariantAutoscaling " + u.key.to_string() + ": " + p);
      sdk::Error error;
      switch (write_one(u, now, error)) {
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
