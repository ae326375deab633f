// The recent changes of a backend, by revision: what ClusterBackend::changes_since answers from.
// Bounded: past `max_entries` entries the oldest are forgotten, and a question about a revision before the
// oldest kept answers nullopt (the caller rebuilds everything). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "cluster/cluster_backend.h"

namespace wva::framework {

class ChangeLog {
 public:
  explicit ChangeLog(std::size_t max_entries = 200000) : max_entries_(max_entries) {}

  // Bumps `revision` and records `changed` under the new value, in one step: whoever reads the new
  // revision finds its changes here.
  std::uint64_t record(std::atomic<std::uint64_t>& revision, std::vector<ObjectRef> changed) {
    std::lock_guard lock(mutex_);
    const std::uint64_t rev = ++revision;
    for (auto& ref : changed) entries_.push_back({rev, std::move(ref)});
    trim();
    return rev;
  }
  // Bumps `revision` with nothing recorded for it: every change up to it is unknown.
  std::uint64_t forget(std::atomic<std::uint64_t>& revision) {
    std::lock_guard lock(mutex_);
    const std::uint64_t rev = ++revision;
    entries_.clear();
    known_after_ = rev;
    return rev;
  }

  std::optional<std::vector<ObjectRef>> since(std::uint64_t revision) const {
    std::lock_guard lock(mutex_);
    if (revision < known_after_) return std::nullopt;
    std::set<ObjectRef> refs;
    for (auto it = entries_.rbegin(); it != entries_.rend() && it->revision > revision; ++it) refs.insert(it->ref);
    return std::vector<ObjectRef>(refs.begin(), refs.end());
  }

 private:
  struct Entry {
    std::uint64_t revision;
    ObjectRef ref;
  };
  void trim() {
    while (entries_.size() > max_entries_) {
      known_after_ = entries_.front().revision;
      entries_.pop_front();
    }
  }

  std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;
  std::uint64_t known_after_ = 0;  // changes after this revision are all in entries_
};

}  // namespace wva::framework
