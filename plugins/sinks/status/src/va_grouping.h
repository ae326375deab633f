// The status sink's grouping of a batch by VariantAutoscaling, kept between cycles: each VA keeps its
// slot (an id) and its inputs' vectors, so a steady cycle finds a VA with one hash lookup of its
// namespace and name, allocates nothing, and builds no map. Gives the inputs plan_updates would give.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "status_builder.h"

namespace wva::plugins::status {

class VaGrouping {
 public:
  using Id = std::uint32_t;

  // Groups `batch` (which must outlive the use of the inputs) and resolves each VA's model; returns the
  // ids of the VAs it names, in the order first named.
  const std::vector<Id>& group(const sdk::PublishBatch& batch);

  const VaKey& key(Id id) const { return slots_[id].key; }
  const VaInputs& inputs(Id id) const { return slots_[id].inputs; }
  // Whether the last group() named the VA.
  bool named_by_last_batch(Id id) const { return slots_[id].batch == batch_; }
  // The id of a VA that has a slot; nullopt otherwise.
  const Id* find(const VaKey& key) const;
  // Every id that has a slot (ids are below id_limit()).
  bool live(Id id) const { return id < slots_.size() && slots_[id].live; }
  std::size_t id_limit() const { return slots_.size(); }
  // Frees a VA's slot; its id may be given to another VA by a later group().
  void release(Id id);
  void clear();

 private:
  struct KeyView {
    std::string_view ns, name;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const KeyView& k) const noexcept {
      const std::size_t h = std::hash<std::string_view>{}(k.ns);
      return h ^ (std::hash<std::string_view>{}(k.name) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    }
    std::size_t operator()(const VaKey& k) const noexcept { return (*this)(KeyView{k.ns, k.name}); }
  };
  struct KeyEqual {
    using is_transparent = void;
    static KeyView view(const VaKey& k) { return {k.ns, k.name}; }
    static KeyView view(const KeyView& k) { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      const KeyView x = view(a), y = view(b);
      return x.ns == y.ns && x.name == y.name;
    }
  };
  struct Slot {
    VaKey key;
    VaInputs inputs;
    const sdk::ModelView* first_naming = nullptr;
    std::uint64_t batch = 0;  // the group() call that last named it
    bool live = false;
  };

  // The slot of a VA for this batch (created, or cleared when first named by it).
  Slot& slot(std::string_view ns, std::string_view name);
  const sdk::ModelView* first_with_key(const sdk::PublishBatch& batch, const sdk::ModelKey& key);

  // Slots in a deque: a slot never moves, so the index is keyed by views of its key's strings (no copy of
  // every VA's namespace and name), and growing by 10,000 VAs copies nothing and leaves no spare half.
  std::unordered_map<KeyView, Id, KeyHash, KeyEqual> ids_;
  std::deque<Slot> slots_;
  std::vector<Id> free_;
  std::vector<Id> named_;
  std::uint64_t batch_ = 0;
  // Consecutive items of one VA (a model's decisions) look it up once.
  Id last_id_ = 0;
  bool has_last_ = false;
  // The first model of each key: a binary search when the batch's models are sorted by key (the host's
  // order), else this index, built for the batch.
  bool models_sorted_ = true;
  std::unordered_map<KeyView, const sdk::ModelView*, KeyHash, KeyEqual> by_model_key_;
};

}  // namespace wva::plugins::status
