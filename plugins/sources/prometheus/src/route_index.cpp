#include "route_index.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "promql.h"

namespace wva::prometheus {

bool RouteIndex::same_views(std::span<const sdk::ModelView> models) const {
  if (!built_ || models.size() != models_.size()) return false;
  std::size_t k = 0, c = 0, offset = 0;
  const auto same = [&](std::string_view s) {
    if (k == sizes_.size() || sizes_[k] != s.size() ||
        !equal_bytes(std::string_view(names_.data() + offset, s.size()), s))
      return false;
    offset += s.size();
    ++k;
    return true;
  };
  for (const auto& m : models) {
    if (!same(m.key.ns) || !same(m.key.model_id) || c == counts_.size() || counts_[c++] != m.variants.size())
      return false;
    for (const auto& v : m.variants) {
      if (!same(v.name) || c == counts_.size() || counts_[c++] != v.pods.size()) return false;
      for (const auto& p : v.pods)
        if (!same(p)) return false;
    }
  }
  return k == sizes_.size() && c == counts_.size();
}

bool RouteIndex::update(std::span<const sdk::ModelView> models) {
  if (same_views(models)) return false;
  build(models);
  ++generation_;
  return true;
}

void RouteIndex::build(std::span<const sdk::ModelView> models) {
  names_.clear();
  sizes_.clear();
  counts_.clear();
  models_.clear();
  variants_.clear();
  variant_base_.clear();
  pods_.clear();
  shared_name_.clear();
  pod_begin_.clear();
  deployments_.clear();
  built_ = false;  // until the copy is whole: an index cut short by an error is never taken as equal

  std::size_t listed = 0, variant_count = 0, bytes = 0, in_large_models = 0;
  for (const auto& m : models) {
    variant_count += m.variants.size();
    bytes += m.key.ns.size() + m.key.model_id.size();
    std::size_t of_model = 0;
    for (const auto& v : m.variants) of_model += v.pods.size();
    if (of_model > kScan) in_large_models += of_model;
    for (const auto& v : m.variants) {
      listed += v.pods.size();
      bytes += v.name.size();
      for (const auto& p : v.pods) bytes += p.size();
    }
  }
  if (bytes > std::numeric_limits<std::uint32_t>::max() / 2 || listed + variant_count >= kNone)
    throw std::length_error("model views too large to index");
  names_.reserve(bytes);
  sizes_.reserve(2 * models.size() + variant_count + listed);
  counts_.reserve(models.size() + variant_count);
  models_.reserve(models.size());
  variants_.reserve(variant_count);
  variant_base_.reserve(models.size() + 1);
  pods_.reserve(listed);
  shared_name_.reserve(listed);
  pod_begin_.reserve(models.size() + 1);
  model_index_.reset(models.size());
  pod_index_.reset(in_large_models);
  ns_pod_index_.reset(listed);
  deployment_index_.reset(variant_count * 2);

  const auto keep = [&](std::string_view s) {
    const auto offset = static_cast<std::uint32_t>(names_.size());
    names_ += s;
    sizes_.push_back(static_cast<std::uint32_t>(s.size()));
    return offset;
  };
  struct Candidate {  // a listed pod of the model being built, in the views' order
    std::int32_t variant;
    std::uint32_t name_offset, name_size;
  };
  std::vector<Candidate> candidates;
  for (std::uint32_t mi = 0; mi < models.size(); ++mi) {
    const auto& m = models[mi];
    Model model;
    model.ns_offset = keep(m.key.ns);
    model.ns_size = static_cast<std::uint32_t>(m.key.ns.size());
    model.id_offset = keep(m.key.model_id);
    model.id_size = static_cast<std::uint32_t>(m.key.model_id.size());
    models_.push_back(model);
    counts_.push_back(static_cast<std::uint32_t>(m.variants.size()));
    const KeyHash key = prefix(m.key.ns, m.key.model_id);
    // A second view with the same key gets no series (the first takes them all): nothing of it is indexed.
    const bool first_of_key = find_model(m.key.ns, m.key.model_id) == kNone;
    if (first_of_key) model_index_.insert(key.done(), mi);

    const auto base = static_cast<std::uint32_t>(variants_.size());
    variant_base_.push_back(base);
    pod_begin_.push_back(static_cast<std::uint32_t>(pods_.size()));
    candidates.clear();
    for (std::size_t vi = 0; vi < m.variants.size(); ++vi) {
      const auto& v = m.variants[vi];
      Variant variant;
      variant.model = mi;
      variant.name_offset = keep(v.name);
      variant.name_size = static_cast<std::uint32_t>(v.name.size());
      variants_.push_back(variant);
      counts_.push_back(static_cast<std::uint32_t>(v.pods.size()));
      for (const auto& p : v.pods)
        candidates.push_back(Candidate{static_cast<std::int32_t>(vi), keep(p), static_cast<std::uint32_t>(p.size())});
    }
    if (!first_of_key) continue;
    const auto cname = [&](const Candidate& c) { return name(c.name_offset, c.name_size); };

    // Deployments: every variant's name first (a variant is a Deployment), then the identity the load
    // query cuts from each listed pod's name; the first entry of a name wins.
    const auto add_deployment = [&](std::string_view d, std::uint32_t d_offset, std::uint32_t variant) {
      const std::uint64_t h = KeyHash(key).add(d).done();
      const std::uint32_t found = deployment_index_.find(h, [&](std::uint32_t e) {
        return variants_[deployments_[e].variant].model == mi &&
               equal_bytes(name(deployments_[e].name_offset, deployments_[e].name_size), d);
      });
      if (found != kNone) return;
      deployment_index_.insert(h, static_cast<std::uint32_t>(deployments_.size()));
      deployments_.push_back(Deployment{variant, d_offset, static_cast<std::uint32_t>(d.size())});
    };
    for (std::uint32_t vi = 0; vi < m.variants.size(); ++vi)
      add_deployment(variant_name(base + vi), variants_[base + vi].name_offset, base + vi);
    for (const Candidate& c : candidates) {
      const std::string_view pod = cname(c);
      const std::string_view d = deployment_of_pod(pod);
      add_deployment(d, c.name_offset + static_cast<std::uint32_t>(d.data() - pod.data()),
                     base + static_cast<std::uint32_t>(c.variant));
    }

    // Pods: a name listed twice belongs to the first variant that lists it; sorted by variant, then name
    // (the order the model's replicas are handed over in).
    std::stable_sort(candidates.begin(), candidates.end(),
                     [&](const Candidate& a, const Candidate& b) { return cname(a) < cname(b); });
    candidates.erase(std::unique(candidates.begin(), candidates.end(),
                                 [&](const Candidate& a, const Candidate& b) { return cname(a) == cname(b); }),
                     candidates.end());
    std::sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
      if (a.variant != b.variant) return a.variant < b.variant;
      return cname(a) < cname(b);
    });
    for (const Candidate& c : candidates) {
      const auto pi = static_cast<std::uint32_t>(pods_.size());
      pods_.push_back(Pod{mi, c.variant, c.name_offset, c.name_size});
      if (candidates.size() > kScan) pod_index_.insert(KeyHash(key).add(cname(c)).done(), pi);
      const std::uint64_t ns_pod = ns_pod_key(m.key.ns, cname(c));
      bool shared = false;
      ns_pod_index_.for_each(ns_pod, [&](std::uint32_t other) {
        if (equal_bytes(pod_name(other), cname(c)) && equal_bytes(ns_of(pods_[other].model), m.key.ns)) {
          shared_name_[other] = 1;
          shared = true;
        }
      });
      shared_name_.push_back(shared ? 1 : 0);
      ns_pod_index_.insert(ns_pod, pi);
    }
  }
  variant_base_.push_back(static_cast<std::uint32_t>(variants_.size()));
  pod_begin_.push_back(static_cast<std::uint32_t>(pods_.size()));
  built_ = true;
}

std::size_t RouteIndex::allocated_bytes() const {
  const auto bytes = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
  return names_.capacity() + bytes(sizes_) + bytes(counts_) + bytes(models_) + bytes(variants_) + bytes(variant_base_) +
         bytes(pods_) + bytes(shared_name_) + bytes(pod_begin_) + bytes(deployments_) + model_index_.allocated_bytes() +
         pod_index_.allocated_bytes() + deployment_index_.allocated_bytes() + ns_pod_index_.allocated_bytes();
}

std::uint32_t RouteIndex::find_model(std::string_view ns, std::string_view model) const {
  return model_index_.find(prefix(ns, model).done(), [&](std::uint32_t m) { return is_model(m, ns, model); });
}

std::uint32_t RouteIndex::find_pod(std::uint32_t model, std::string_view pod) const {
  const std::uint32_t first = pod_begin_[model], last = pod_begin_[model + 1];
  if (last - first <= kScan) {
    for (std::uint32_t i = first; i < last; ++i)
      if (equal_bytes(pod_name(i), pod)) return i;
    return kNone;
  }
  return pod_index_.find(prefix(ns_of(model), id_of(model)).add(pod).done(),
                         [&](std::uint32_t i) { return pods_[i].model == model && equal_bytes(pod_name(i), pod); });
}

std::uint32_t RouteIndex::find_deployment(std::uint32_t model, std::string_view deployment) const {
  // A variant is a Deployment: its name (the first variant of that name).
  for (std::uint32_t v = variant_base_[model]; v < variant_base_[model + 1]; ++v)
    if (equal_bytes(variant_name(v), deployment)) return v;
  const std::uint32_t e =
      deployment_index_.find(prefix(ns_of(model), id_of(model)).add(deployment).done(), [&](std::uint32_t i) {
        const Deployment& d = deployments_[i];
        return variants_[d.variant].model == model && equal_bytes(name(d.name_offset, d.name_size), deployment);
      });
  return e == kNone ? kNone : deployments_[e].variant;
}

std::int32_t RouteIndex::variant_by_prefix(std::uint32_t model, std::string_view pod) const {
  std::int32_t best = -1;
  std::size_t best_len = 0;
  for (std::uint32_t v = variant_base_[model]; v < variant_base_[model + 1]; ++v) {
    const std::string_view n = variant_name(v);
    if (n.empty() || pod.size() <= n.size() || pod[n.size()] != '-') continue;
    if (pod.compare(0, n.size(), n) != 0) continue;
    if (n.size() > best_len) {
      best_len = n.size();
      best = static_cast<std::int32_t>(v - variant_base_[model]);
    }
  }
  return best;
}

}  // namespace wva::prometheus
