#include "host/combine.h"

#include "host/guard.h"

namespace wva::framework {

CombinedTargets targets_of(const sdk::Recommendation& combined) {
  CombinedTargets out;
  if (!combined.has_opinion) return out;
  for (const auto& t : combined.targets)
    out[t.variant] = CombinedTarget{t.replicas, t.analyzer.empty() ? combined.analyzer : t.analyzer,
                                    t.reason.empty() ? combined.reason : t.reason};
  return out;
}

sdk::Result<CombinedTargets> combine_chain(sdk::Combiner& combiner, const std::string& combiner_name,
                                           const sdk::ModelView& model,
                                           const std::vector<std::pair<std::string, sdk::Analyzer*>>& analyzers,
                                           const std::vector<sdk::Recommendation>& chain) {
  std::vector<sdk::ChainLink> links;
  links.reserve(chain.size());
  for (std::size_t k = 0; k < chain.size(); ++k)
    links.push_back(sdk::ChainLink{k < analyzers.size() ? analyzers[k].first : chain[k].analyzer, &chain[k]});
  auto combined = guarded("combiner " + combiner_name,
                          [&] { return combiner.combine(model, std::span<const sdk::ChainLink>(links)); });
  if (!combined.ok()) return combined.error();
  return targets_of(combined.value());
}

}  // namespace wva::framework
