// Where a series goes: (namespace, model) -> the model through one hash lookup, then the host's pod or
// the variant of a Deployment among that model's few (compared in place; a hash table for models with
// many pods, and for Deployment identities derived from pod names). Built from the host's model views and
// kept across cycles while they are unchanged: the host hands the same views cycle after cycle, and
// building the index (150,000 names at 10,000 models) costs more than the lookups it saves in one cycle.
// The index keeps its own copy of every name it routes by and compares the views with that copy each
// cycle, so no pointer into views of an earlier cycle is ever followed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flat_index.h"
#include "wva/sdk/types.h"

namespace wva::prometheus {

class RouteIndex {
 public:
  static constexpr std::uint32_t kNone = FlatIndex::kNone;

  struct Pod {                 // a pod the host listed for a model
    std::uint32_t model = 0;   // index into the views
    std::int32_t variant = 0;  // index into the model's variants: the first that lists the pod
    std::uint32_t name_offset = 0, name_size = 0;
  };

  // Makes the index describe `models`; returns true when it had to be rebuilt (views differ from the last
  // call's in a namespace, model ID, variant or pod name, or in their number or order).
  bool update(std::span<const sdk::ModelView> models);
  // Counts rebuilds: equal generations mean equal routing names.
  std::uint64_t generation() const { return generation_; }

  // The hash of a series' (namespace, model) that the pod and Deployment keys continue.
  static KeyHash prefix(std::string_view ns, std::string_view model) { return KeyHash().add(ns).add(model); }

  std::uint32_t find_model(std::string_view ns, std::string_view model) const;
  bool is_model(std::uint32_t m, std::string_view ns, std::string_view model) const {
    return equal_bytes(id_of(m), model) && equal_bytes(ns_of(m), ns);
  }
  // The pod the host listed for `model` with that name; kNone when it listed none. A model's few pods are
  // compared in place (they lie together, where a hash lookup is a cache miss); many go through the index.
  std::uint32_t find_pod(std::uint32_t model, std::string_view pod) const;
  // The global variant index of a Deployment series of `model`: a variant's name, else the Deployment
  // identity the load query derives from the name of a pod the host listed for it; kNone when neither.
  std::uint32_t find_deployment(std::uint32_t model, std::string_view deployment) const;
  // Calls f(pod index) for every listed pod of that name in namespace `ns`, whatever its model. `guess`
  // is tried first (series in the order of the views find their pod without a hash lookup); it decides
  // alone only when no other listed pod of the namespace has that name.
  template <class F>
  void for_each_pod_in_namespace(std::string_view ns, std::string_view pod, F&& f, std::uint32_t guess = kNone) const {
    if (guess < pods_.size() && !shared_name_[guess] && equal_bytes(pod_name(guess), pod) &&
        equal_bytes(ns_of(pods_[guess].model), ns)) {
      f(guess);
      return;
    }
    ns_pod_index_.for_each(ns_pod_key(ns, pod), [&](std::uint32_t i) {
      if (equal_bytes(pod_name(i), pod) && equal_bytes(ns_of(pods_[i].model), ns)) f(i);
    });
  }
  // The longest variant name that prefixes `name` followed by '-' (pods of Deployment d are d-<hash>-<id>,
  // local ones d-<n>); -1 when none.
  std::int32_t variant_by_prefix(std::uint32_t model, std::string_view name) const;

  // Bytes the index holds (its arrays' capacities).
  std::size_t allocated_bytes() const;

  std::size_t models() const { return models_.size(); }
  std::size_t variants() const { return variants_.size(); }
  std::size_t pods() const { return pods_.size(); }
  const Pod& pod(std::uint32_t i) const { return pods_[i]; }
  std::string_view pod_name(std::uint32_t i) const { return name(pods_[i].name_offset, pods_[i].name_size); }
  // A model's listed pods are [pod_begin(m), pod_begin(m + 1)), sorted by variant, then name.
  std::uint32_t pod_begin(std::uint32_t model) const { return pod_begin_[model]; }
  // A model's variants are [variant_base(m), variant_base(m + 1)) in the global variant index.
  std::uint32_t variant_base(std::uint32_t model) const { return variant_base_[model]; }
  std::uint32_t model_of_variant(std::uint32_t variant) const { return variants_[variant].model; }
  std::string_view variant_name(std::uint32_t variant) const {
    return name(variants_[variant].name_offset, variants_[variant].name_size);
  }

 private:
  struct Model {
    std::uint32_t ns_offset = 0, ns_size = 0, id_offset = 0, id_size = 0;
  };
  struct Variant {
    std::uint32_t model = 0;
    std::uint32_t name_offset = 0, name_size = 0;
  };
  struct Deployment {  // a variant name or a Deployment identity cut from a listed pod's name
    std::uint32_t variant = 0;
    std::uint32_t name_offset = 0, name_size = 0;
  };

  std::string_view name(std::uint32_t offset, std::uint32_t size) const {
    return std::string_view(names_.data() + offset, size);
  }
  std::string_view ns_of(std::uint32_t m) const { return name(models_[m].ns_offset, models_[m].ns_size); }
  std::string_view id_of(std::uint32_t m) const { return name(models_[m].id_offset, models_[m].id_size); }
  static std::uint64_t ns_pod_key(std::string_view ns, std::string_view pod) {
    return KeyHash(0x6E73706F64ULL).add(ns).add(pod).done();
  }
  bool same_views(std::span<const sdk::ModelView> models) const;
  void build(std::span<const sdk::ModelView> models);

  // The copy the views are compared with: every routing name in the views' order (namespace, model ID,
  // then per variant its name and its pods' names), their sizes, and the variant and pod counts.
  std::string names_;
  std::vector<std::uint32_t> sizes_;
  std::vector<std::uint32_t> counts_;

  std::vector<Model> models_;
  std::vector<Variant> variants_;
  std::vector<std::uint32_t> variant_base_;  // models + 1
  std::vector<Pod> pods_;
  std::vector<std::uint8_t> shared_name_;  // per pod: another model lists a pod of that name in its namespace
  std::vector<std::uint32_t> pod_begin_;   // models + 1
  std::vector<Deployment> deployments_;
  FlatIndex model_index_;                     // prefix -> model (the first of equal keys)
  static constexpr std::uint32_t kScan = 16;  // up to this many pods per model are compared in place
  FlatIndex pod_index_;                       // prefix + pod -> pod, for models with more than kScan pods
  FlatIndex deployment_index_;                // prefix + Deployment -> deployments_
  FlatIndex ns_pod_index_;                    // (namespace, pod) -> pods, several per key
  std::uint64_t generation_ = 0;
  bool built_ = false;
};

}  // namespace wva::prometheus
