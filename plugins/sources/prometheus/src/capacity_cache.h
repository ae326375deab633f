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
  // Hands the kept capacities to the grouper of a cycle that did not read them.
  void feed(Grouper& grouper) const;

  // True when every pod the host lists for `models` has a capacity here and the last read is recent.
  bool covers(std::span<const sdk::ModelView> models, sdk::TimePoint now) const;
  // The last read is younger than kRefresh.
  bool fresh(sdk::TimePoint now) const;
  // A capacity is kept for the pod; `key` is KeyHash().add(ns).add(pod).done().
  bool has(std::uint64_t key, std::string_view ns, std::string_view pod) const;
  bool has(std::string_view ns, std::string_view pod) const;

  std::size_t size() const { return entries_.size(); }
  // Changes with every replace() and clear().
  std::uint64_t generation() const { return generation_; }
  void clear();

 private:
  struct Entry {
    std::size_t ns_offset = 0, ns_size = 0, pod_offset = 0, pod_size = 0;  // into names_
    double tokens = 0;
  };
  std::string_view ns_of(const Entry& e) const { return std::string_view(names_.data() + e.ns_offset, e.ns_size); }
  std::string_view pod_of(const Entry& e) const { return std::string_view(names_.data() + e.pod_offset, e.pod_size); }

  std::vector<Entry> entries_;
  std::string names_;
  FlatIndex index_;  // hash of (namespace, pod) -> entry
  std::optional<sdk::TimePoint> read_at_;
  std::uint64_t generation_ = 0;
};

}  // namespace wva::prometheus
