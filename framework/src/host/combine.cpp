#include "host/combine.h"

// TODO(integration): drop the guard once plugins/queueing lands combine_hybrid.
#if __has_include("host/combine_hybrid.h")
#include "host/combine_hybrid.h"
#define WVA_HAVE_HYBRID 1
#endif

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
    case CombineMode::kHybrid: {
      // Validation guarantees two analyzers; a missing opinion on either side degrades to the other.
      if (chain.size() < 2) return chain.empty() ? out : from_recommendation(chain[0]);
      const auto& saturation = chain[0];
      const auto& model_based = chain[1];
      if (!model_based.has_opinion) return from_recommendation(saturation);
      if (!saturation.has_opinion) return from_recommendation(model_based);
#ifdef WVA_HAVE_HYBRID
      return from_recommendation(combine_hybrid(model, saturation, model_based));
#else
      (void)model;
      return from_recommendation(saturation);
#endif
    }
  }
  return out;
}

}  // namespace wva::framework
