#include "decision_store.h"

#include <set>
#include <vector>

#include "wva/sdk/util/suggest.h"

namespace wva::plugins::keda {

ApplyStats DecisionStore::apply(const sdk::PublishBatch& batch) {
  ApplyStats stats;
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    std::set<Key> seen;
    for (const auto& d : batch.decisions) {
      if (d.variant.empty() || d.desired < 0) {
        ++stats.skipped;
        continue;
      }
      Key key{d.model.ns, d.variant};
      seen.insert(key);
      auto it = values_.find(key);
      if (d.held && it != values_.end()) {
        // The cycle failed for this variant: what KEDA reads stays what it was.
        it->second.time = batch.time;
        it->second.held = true;
        it->second.pipeline = batch.pipeline;
        ++stats.kept;
        continue;
      }
      VariantValue value{d.desired, d.held, d.model.model_id, batch.pipeline, batch.time};
      if (it == values_.end()) {
        values_.emplace(std::move(key), std::move(value));
        changed = true;
      } else {
        if (it->second.desired != value.desired || it->second.model_id != value.model_id) changed = true;
        it->second = std::move(value);
      }
      ++stats.set;
    }
    // A partial batch (the fast check of models at zero) holds only some models: the others are not gone.
    for (auto it = values_.begin(); !batch.partial && it != values_.end();) {
      if (it->second.pipeline == batch.pipeline && !seen.count(it->first)) {
        it = values_.erase(it);
        ++stats.removed;
        changed = true;
      } else {
        ++it;
      }
    }
    // An empty whole batch that leaves nothing is what a replica that stopped leading publishes (the host
    // withdraws its decisions): it answers as before its first publish, not "no such variant".
    const bool withdrawn = !batch.partial && batch.decisions.empty() && values_.empty();
    if (published_ == withdrawn) changed = true;
    published_ = !withdrawn;
    if (changed) ++version_;
  }
  if (changed) changed_.notify_all();
  return stats;
}

sdk::Result<VariantValue> DecisionStore::lookup(const VariantRef& ref) const {
  std::lock_guard lock(mutex_);
  const std::string what = "variant \"" + ref.variant + "\" in namespace \"" + ref.ns + "\"";
  if (!published_)
    return sdk::make_error(sdk::ErrorCode::kUnavailable,
                           "no decision for " + what +
                               " here: this WVA replica has not published a cycle since this scaler started, or "
                               "publishes nothing now (with leader election only the leader publishes)");
  auto it = values_.find(Key{ref.ns, ref.variant});
  if (it == values_.end()) {
    std::vector<std::string> names;
    for (auto n = values_.lower_bound(Key{ref.ns, ""}); n != values_.end() && std::get<0>(n->first) == ref.ns; ++n)
      names.push_back(std::get<1>(n->first));
    std::string msg =
        "WVA has no decision for " + what + ": no VariantAutoscaling it manages has that Deployment as a variant";
    if (auto best = sdk::closest_match(ref.variant, names)) {
      msg += "; did you mean \"" + *best + "\"?";
    } else if (!names.empty()) {
      msg += "; variants in that namespace:";
      const std::size_t shown = std::min<std::size_t>(names.size(), 5);
      for (std::size_t i = 0; i < shown; ++i) msg += (i ? ", " : " ") + names[i];
      if (names.size() > shown) msg += " (and " + std::to_string(names.size() - shown) + " more)";
    } else {
      msg += "; WVA manages no variant in that namespace";
    }
    return sdk::make_error(sdk::ErrorCode::kNotFound, msg);
  }
  if (ref.model_id && *ref.model_id != it->second.model_id)
    return sdk::make_error(sdk::ErrorCode::kNotFound, what + " belongs to model \"" + it->second.model_id +
                                                          "\", not to \"" + *ref.model_id +
                                                          "\" (scalerMetadata.modelID)");
  return it->second;
}

std::uint64_t DecisionStore::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::uint64_t DecisionStore::wait_for_change(std::uint64_t seen, std::chrono::steady_clock::time_point until) const {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, until, [&] { return closed_ || version_ != seen; });
  return version_;
}

void DecisionStore::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ++version_;
  }
  changed_.notify_all();
}

void DecisionStore::reopen() {
  std::lock_guard lock(mutex_);
  closed_ = false;
}

bool DecisionStore::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::size_t DecisionStore::size() const {
  std::lock_guard lock(mutex_);
  return values_.size();
}

}  // namespace wva::plugins::keda
