// KV capacity per pod kept between cycles. vllm:cache_config_info is fixed for the life of a vLLM
// process (num_gpu_blocks x block_size), yet it was a fifth of the per-pod response every cycle. The
// source reads it with the per-pod group only when a pod the host lists has no capacity here yet (a new
// pod, or one whose series was not scraped yet: those are asked again every cycle, never cached as
// absent) or when the last full read is kRefresh old; otherwise the cached values are handed to the
// grouper, which matches them to the pods exactly as it matches the series.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flat_index.h"
#include "wva/sdk/types.h"

namespace wva::prometheus {

class Grouper;

class CapacityCache {
 public:
  static constexpr std::chrono::minutes kRefresh{5};

  struct Read {
    std::string_view ns, pod;
    double tokens = 0;
  };
  void replace(const std::vector<Read>& read, sdk::TimePoint now);
  // Hands the kept capacities to the grouper of a cycle that did not read them (Grouper::use_capacities:
  // read in place, so the cache must not change before the grouper's finish()).
  void feed(Grouper& grouper) const;
  // Calls f(namespace, pod, tokens) for every kept capacity, in the order they were read.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < entries_.size(); ++i) f(ns_of(entries_[i]), pod_of(entries_[i]), tokens_[i]);
  }

  // True when every pod the host lists for `models` has a capacity here and the last read is recent.
  bool covers(std::span<const sdk::ModelView> models, sdk::TimePoint now) const;
  // The last read is younger than kRefresh.
  bool fresh(sdk::TimePoint now) const;
  // A capacity is kept for the pod; `key` is KeyHash().add(ns).add(pod).done().
  bool has(std::uint64_t key, std::string_view ns, std::string_view pod) const;
  bool has(std::string_view ns, std::string_view pod) const;

  std::size_t size() const { return entries_.size(); }
  std::size_t allocated_bytes() const;
  // Changes with every replace() and clear().
  std::uint64_t generation() const { return generation_; }
  void clear();

 private:
  // A pod's names: its namespace is one of the few distinct ones (kept once each), its name lies in
  // names_. The tokens are a parallel array: 12 + 8 bytes a pod, not 40.
  struct Entry {
    std::uint32_t ns = 0;  // index into namespaces_
    std::uint32_t pod_offset = 0, pod_size = 0;
  };
  struct Namespace {
    std::uint32_t offset = 0, size = 0;  // into names_
  };
  std::string_view ns_name(std::uint32_t n) const {
    return std::string_view(names_.data() + namespaces_[n].offset, namespaces_[n].size);
  }
  std::string_view ns_of(const Entry& e) const { return ns_name(e.ns); }
  std::string_view pod_of(const Entry& e) const { return std::string_view(names_.data() + e.pod_offset, e.pod_size); }

  std::vector<Entry> entries_;
  std::vector<double> tokens_;  // per entry
  std::vector<Namespace> namespaces_;
  std::string names_;
  FlatIndex index_;  // hash of (namespace, pod) -> entry
  std::optional<sdk::TimePoint> read_at_;
  std::uint64_t generation_ = 0;
};

}  // namespace wva::prometheus
