#include "capacity_cache.h"

#include <stdexcept>

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
  std::size_t bytes = 0;
  for (const auto& c : read) bytes += c.pod.size();
  entries_.reserve(read.size());
  tokens_.reserve(read.size());
  names_.reserve(bytes + 256);  // and the namespaces' names, a few
  index_.reset(read.size());
  // Series come grouped by namespace: the last one is compared first, the others searched (they are few).
  std::uint32_t last_ns = UINT32_MAX;
  for (const auto& c : read) {
    if (last_ns == UINT32_MAX || !equal_bytes(ns_name(last_ns), c.ns)) {
      last_ns = UINT32_MAX;
      for (std::uint32_t n = 0; n < namespaces_.size() && last_ns == UINT32_MAX; ++n)
        if (equal_bytes(ns_name(n), c.ns)) last_ns = n;
      if (last_ns == UINT32_MAX) {
        last_ns = static_cast<std::uint32_t>(namespaces_.size());
        namespaces_.push_back(
            Namespace{static_cast<std::uint32_t>(names_.size()), static_cast<std::uint32_t>(c.ns.size())});
        names_ += c.ns;
      }
    }
    if (names_.size() + c.pod.size() > UINT32_MAX) throw std::length_error("KV capacity cache too large");
    Entry e;
    e.ns = last_ns;
    e.pod_offset = static_cast<std::uint32_t>(names_.size());
    e.pod_size = static_cast<std::uint32_t>(c.pod.size());
    names_ += c.pod;
    // Every series is kept (two for one pod are matched to it both, as the series would be).
    index_.insert(pod_key(c.ns, c.pod), static_cast<std::uint32_t>(entries_.size()));
    entries_.push_back(e);
    tokens_.push_back(c.tokens);
  }
  // Namespaces outgrew the reservation (many of them): the slack is given back once, not held for minutes.
  if (names_.capacity() > names_.size() + names_.size() / 8 + 256) names_.shrink_to_fit();
  read_at_ = now;
  ++generation_;
}

std::size_t CapacityCache::allocated_bytes() const {
  return entries_.capacity() * sizeof(Entry) + tokens_.capacity() * sizeof(double) +
         namespaces_.capacity() * sizeof(Namespace) + names_.capacity() + index_.allocated_bytes();
}

void CapacityCache::feed(Grouper& grouper) const { grouper.use_capacities(*this); }

void CapacityCache::clear() {
  // The storage goes too: a cache cleared (another template, a source reconfigured) holds nothing.
  std::vector<Entry>().swap(entries_);
  std::vector<double>().swap(tokens_);
  std::vector<Namespace>().swap(namespaces_);
  std::string().swap(names_);
  index_ = FlatIndex();
  read_at_.reset();
  ++generation_;
}

}  // namespace wva::prometheus
