// The host's DecisionMemory as it was before it was stored flat: a node-based hash map of (namespace,
// model ID, variant) keys, one node with three key strings per variant. The reference the current one is
// compared with (DecisionMemory.*). Not used by the product.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "host/cycle.h"

namespace wva::framework::reference {

class DecisionMemory {
 public:
  struct Remembered {
    int desired = 0;
    std::string analyzer;
  };
  std::optional<Remembered> last(const sdk::ModelKey& model, const std::string& variant) const {
    auto it = last_.find(KeyView{model.ns, model.model_id, variant});
    if (it == last_.end()) return std::nullopt;
    return it->second;
  }
  const Remembered* entry(const sdk::ModelKey& model, const std::string& variant) const {
    auto it = last_.find(KeyView{model.ns, model.model_id, variant});
    return it == last_.end() ? nullptr : &it->second;
  }
  void remember(const sdk::Decision& d) {
    auto it = last_.find(KeyView{d.model.ns, d.model.model_id, d.variant});
    if (it == last_.end()) it = last_.emplace(Key{d.model.ns, d.model.model_id, d.variant}, Remembered{}).first;
    it->second.desired = d.desired;
    if (it->second.analyzer != d.analyzer) it->second.analyzer = d.analyzer;
  }
  std::size_t size() const { return last_.size(); }

 private:
  struct Key {
    std::string ns, model_id, variant;
  };
  struct KeyView {
    std::string_view ns, model_id, variant;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const KeyView& k) const noexcept {
      const std::hash<std::string_view> h;
      std::size_t seed = h(k.ns);
      for (const std::string_view part : {k.model_id, k.variant})
        seed ^= h(part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
      return seed;
    }
    std::size_t operator()(const Key& k) const noexcept { return (*this)(KeyView{k.ns, k.model_id, k.variant}); }
  };
  struct KeyEqual {
    using is_transparent = void;
    static KeyView view(const Key& k) { return {k.ns, k.model_id, k.variant}; }
    static KeyView view(const KeyView& k) { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      const KeyView x = view(a), y = view(b);
      return x.variant == y.variant && x.model_id == y.model_id && x.ns == y.ns;
    }
  };
  std::unordered_map<Key, Remembered, KeyHash, KeyEqual> last_;
};

}  // namespace wva::framework::reference
