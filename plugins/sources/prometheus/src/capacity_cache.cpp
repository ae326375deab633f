#include "capacity_cache.h"

#include "grouping.h"

namespace wva::prometheus {
namespace {

std::uint64_t pod_key(std::string_view ns, std::string_view pod) { return KeyHash().add(ns).add(pod).done(); }

}  // namespace

bool CapacityCache::fresh(sdk::TimePoint now) const {
  return read_at_ && now - *read_at_ < kRefresh && now >= *read_at_;
}

bool CapacityCache::has(std::string_view ns, std::string_view pod) const { return has(pod_key(ns, pod), ns, pod); }

bool CapacityCache::has(std::uint64_t key, std::string_view ns, std::string_view pod) const {
  return index_.find(key, [&](std::uint32_t i) {
    return equal_bytes(pod_of(entries_[i]), pod) && equal_bytes(ns_of(entries_[i]), ns);
  }) != FlatIndex::kNone;
}

bool CapacityCache::covers(std::span<const sdk::ModelView> models, sdk::TimePoint now) const {
  if (!fresh(now)) return false;
  for (const auto& m : models)
    for (const auto& v : m.variants)
      for (const auto& pod : v.pods)
        if (!has(m.key.ns, pod)) return false;
  return true;
}

void CapacityCache::replace(const std::vector<Read>& read, sdk::TimePoint now) {
  clear();
  entries_.reserve(read.size());
  index_.reset(read.size());
  for (const auto& c : read) {
    Entry e;
    e.ns_offset = names_.size();
    e.ns_size = c.ns.size();
    names_ += c.ns;
    e.pod_offset = names_.size();
    e.pod_size = c.pod.size();
    names_ += c.pod;
    e.tokens = c.tokens;
    // Every series is kept (two for one pod are matched to it both, as the series would be).
    index_.insert(pod_key(c.ns, c.pod), static_cast<std::uint32_t>(entries_.size()));
    entries_.push_back(e);
  }
  read_at_ = now;
  ++generation_;
}

void CapacityCache::feed(Grouper& grouper) const {
  for (const Entry& e : entries_) grouper.add_capacity(ns_of(e), pod_of(e), e.tokens);
}

void CapacityCache::clear() {
  entries_.clear();
  names_.clear();
  index_.reset(0);
  read_at_.reset();
  ++generation_;
}

}  // namespace wva::prometheus
