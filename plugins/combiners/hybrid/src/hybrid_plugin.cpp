#include "hybrid_plugin.h"

#include "arbitration.h"

namespace wva::combiners::hybrid {

sdk::Result<void> HybridCombiner::configure(const sdk::Config& config, const std::string& config_path) {
  settings_ = read_settings(config);
  path_ = config_path;
  return sdk::ok();
}

sdk::Result<void> HybridCombiner::check_chain(std::span<const std::string> analyzers,
                                              const std::string& pipeline_path) {
  if (analyzers.size() == 2 && analyzers[0] == settings_.saturation && analyzers[1] == settings_.model)
    return sdk::ok();
  std::string got;
  for (const auto& a : analyzers) got += (got.empty() ? "" : ", ") + a;
  return sdk::make_error(
      sdk::ErrorCode::kInvalidConfig,
      "hybrid needs exactly two analyzers, the saturation one first then the model-based one "
      "(`analyzers: [" +
          settings_.saturation + ", " + settings_.model +
          "]`; for other instance names: `combiners: {<name>: {plugin: hybrid, saturation: <analyzer>, "
          "model: <analyzer>}}`), got [" +
          got + "]",
      pipeline_path);
}

sdk::Result<sdk::Recommendation> HybridCombiner::combine(const sdk::ModelView& model,
                                                         std::span<const sdk::ChainLink> chain) {
  const sdk::Recommendation* saturation = nullptr;
  const sdk::Recommendation* model_based = nullptr;
  for (const auto& link : chain) {
    if (link.instance == settings_.saturation) saturation = link.recommendation;
    else if (link.instance == settings_.model) model_based = link.recommendation;
  }
  if (saturation == nullptr || model_based == nullptr)
    return sdk::make_error(sdk::ErrorCode::kInvalidConfig,
                           "the chain lacks analyzer \"" + (saturation ? settings_.model : settings_.saturation) + "\"",
                           path_);
  return combine_hybrid(model, *saturation, *model_based, settings_.saturation, settings_.model);
}

}  // namespace wva::combiners::hybrid
