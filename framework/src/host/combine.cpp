#include "host/combine.h"

#include "host/combine_hybrid.h"

namespace wva::framework {

namespace {

std::map<std::string, CombinedTarget> from_recommendation(const sdk::Recommendation& rec) {
  std::map<std::string, CombinedTarget> out;
  if (!rec.has_opinion) return out;
  for (const auto& t : rec.targets)
    out[t.variant] = CombinedTarget{t.replicas, rec.analyzer, t.reason.empty() ? rec.reason : t.reason};
  return out;
}

}  // namespace

std::map<std::string, CombinedTarget> combine_recommendations(CombineMode mode, const sdk::ModelView& model,
                                                              const std::vector<sdk::Recommendation>& chain) {
  std::map<std::string, CombinedTarget> out;
  switch (mode) {
    case CombineMode::kFirst:
      for (const auto& rec : chain)
        for (auto& [variant, target] : from_recommendation(rec)) out.try_emplace(variant, target);
      return out;
    case CombineMode::kMax:
      for (const auto& rec : chain)
        for (auto& [variant, target] : from_recommendation(rec)) {
          auto [it, inserted] = out.try_emplace(variant, target);
          if (!inserted && target.replicas > it->second.replicas) it->second = target;
        }
      return out;
    case CombineMode::kLast:
      // Each analyzer refines its upstream (an enforcer last in the chain has the final word).
      for (const auto& rec : chain)
        for (auto& [variant, target] : from_recommendation(rec)) out.insert_or_assign(variant, target);
      return out;
    case CombineMode::kHybrid:
      // Validation guarantees two analyzers (saturation first); combine_hybrid handles a missing opinion.
      if (chain.size() < 2) return chain.empty() ? out : from_recommendation(chain[0]);
      return from_recommendation(combine_hybrid(model, chain[0], chain[1]));
  }
  return out;
}

}  // namespace wva::framework
