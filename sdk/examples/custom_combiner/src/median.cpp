// median: an example WVA combiner written against the installed SDK.
//
// Per variant, the median of the targets of the analyzers in the chain that have an opinion on it, so one
// analyzer that overshoots or undershoots cannot move the decision alone. With an even count the upper
// or lower middle is taken (setting `middle`). The decision names the analyzer instance whose target
// it took.
//
// Config (pipelines.yaml, under combiners.<instance>; or none with `combine: median`):
//   middle: upper | lower   (default upper: for two analyzers, the larger target)
#include <algorithm>
#include <string>
#include <vector>

#include "wva/sdk/export.h"
#include "wva/sdk/sdk.h"

namespace {

class Median : public wva::sdk::Plugin, public wva::sdk::Combiner {
 public:
  // The host validates the settings against this schema (and fills the default) before configure().
  std::optional<wva::sdk::SettingsSchema> settings_schema() const override {
    return wva::sdk::SettingsSchema{
        "How the median is taken.",
        {wva::sdk::Setting::enumeration("middle", {"upper", "lower"}, "upper",
                                        "With an even count of targets, the upper or the lower middle one.")}};
  }
  wva::sdk::Result<void> configure(const wva::sdk::Config& config, const std::string&) override {
    upper_ = wva::sdk::SettingsReader(config).string("middle") == "upper";
    return wva::sdk::ok();
  }
  wva::sdk::Result<void> start(wva::sdk::PluginContext&) override { return wva::sdk::ok(); }
  void stop() noexcept override {}

  // Pure: called concurrently for different models.
  wva::sdk::Result<wva::sdk::Recommendation> combine(const wva::sdk::ModelView& model,
                                                     std::span<const wva::sdk::ChainLink> chain) override {
    wva::sdk::Recommendation out;
    out.analyzer = "median";
    for (const auto& variant : model.variants) {
      struct Vote {
        int replicas;
        std::string instance;
        std::string reason;
      };
      std::vector<Vote> votes;
      for (const auto& link : chain) {
        const wva::sdk::Recommendation& rec = *link.recommendation;
        if (!rec.has_opinion) continue;
        if (const auto* t = rec.target_for(variant.name))
          votes.push_back({t->replicas, link.instance, t->reason.empty() ? rec.reason : t->reason});
      }
      if (votes.empty()) continue;  // nobody has an opinion on this variant: it holds
      std::stable_sort(votes.begin(), votes.end(),
                       [](const Vote& a, const Vote& b) { return a.replicas < b.replicas; });
      const std::size_t n = votes.size();
      const Vote& pick = votes[n % 2 == 1 ? n / 2 : (upper_ ? n / 2 : n / 2 - 1)];
      out.targets.push_back(
          {variant.name, pick.replicas,
           "median of " + std::to_string(n) + " targets: " + pick.instance + "'s (" + pick.reason + ")",
           pick.instance});
    }
    out.has_opinion = !out.targets.empty();
    if (!out.has_opinion) out.reason = "no analyzer had an opinion";
    return out;
  }

 private:
  bool upper_ = true;
};

}  // namespace

// Writes the C descriptor (ABI version, kind, toolchain fingerprint) and the create/destroy entry points.
WVA_PLUGIN(Median, "median", "1.0.0")
