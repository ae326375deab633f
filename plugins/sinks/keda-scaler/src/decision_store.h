// The last desired replicas WVA published for each variant, as the KEDA scaler answers them. Plain C++
// (no gRPC): publish() writes, the RPC handlers read and wait for changes. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include "wva/sdk/plugin.h"
#include "wva/sdk/result.h"

namespace wva::plugins::keda {

// Which variant a ScaledObject asks about: the Deployment `variant` in namespace `ns`, optionally checked
// against the model it belongs to.
struct VariantRef {
  std::string ns;
  std::string variant;
  std::optional<std::string> model_id;
};

struct VariantValue {
  int desired = 0;
  bool held = false;  // the value came from a held decision (the cycle failed; the last good one kept)
  std::string model_id;
  std::string pipeline;
  sdk::TimePoint time{};  // the publish that set or confirmed it
};

struct ApplyStats {
  std::size_t set = 0;      // variants written (fresh decisions, or held ones for a variant not yet known)
  std::size_t kept = 0;     // held decisions for a known variant: the last value kept
  std::size_t skipped = 0;  // no variant name or negative replicas
  std::size_t removed = 0;  // variants of this pipeline that are no longer in its batch
};

class DecisionStore {
 public:
  // One publish batch: sets every variant it decides; variants this pipeline published before and that
  // are missing now (their VariantAutoscaling or Deployment is gone) are forgotten, except after a
  // partial batch (PublishBatch::partial: only some of the pipeline's models).
  ApplyStats apply(const sdk::PublishBatch& batch);

  // kUnavailable before the first publish (nothing decided yet); kNotFound for a variant no publish
  // named (the message lists close names), or one of another model than ref.model_id. Never a made-up 0.
  sdk::Result<VariantValue> lookup(const VariantRef& ref) const;

  // Increases on every apply() that changed a value or the set of variants, and on close().
  std::uint64_t version() const;

  // Waits until version() differs from `seen`, the store is closed, or `until`. Returns version().
  std::uint64_t wait_for_change(std::uint64_t seen, std::chrono::steady_clock::time_point until) const;

  // Wakes every waiter for good: closed() is true until reopen(). Values are kept.
  void close();
  void reopen();
  bool closed() const;

  std::size_t size() const;

 private:
  using Key = std::tuple<std::string, std::string>;  // namespace, variant
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<Key, VariantValue> values_;
  bool published_ = false;
  bool closed_ = false;
  std::uint64_t version_ = 0;
};

}  // namespace wva::plugins::keda
