#include "max_plugin.h"

namespace wva::combiners::max {

namespace {

sdk::VariantTarget* find(sdk::Recommendation& rec, const std::string& variant) {
  for (auto& t : rec.targets)
    if (t.variant == variant) return &t;
  return nullptr;
}

// A target as the combined result carries it: whose number, and why.
sdk::VariantTarget attributed(const sdk::VariantTarget& t, const sdk::ChainLink& link) {
  const sdk::Recommendation& rec = *link.recommendation;
  return sdk::VariantTarget{t.variant, t.replicas, t.reason.empty() ? rec.reason : t.reason,
                            rec.analyzer.empty() ? link.instance : rec.analyzer};
}

}  // namespace

sdk::Recommendation combine_chain(const sdk::ModelView& /*model*/, std::span<const sdk::ChainLink> chain) {
  sdk::Recommendation out;
  out.analyzer = "max";
  for (const auto& link : chain) {
    if (link.recommendation == nullptr || !link.recommendation->has_opinion) continue;
    for (const auto& target : link.recommendation->targets) {
      auto t = attributed(target, link);
      auto* have = find(out, t.variant);
      if (have == nullptr) out.targets.push_back(std::move(t));
      else if (t.replicas > have->replicas) *have = std::move(t);
    }
  }
  out.has_opinion = !out.targets.empty();
  if (!out.has_opinion) out.reason = "no analyzer had an opinion";
  return out;
}

}  // namespace wva::combiners::max
