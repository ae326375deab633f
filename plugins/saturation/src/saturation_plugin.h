// The saturation analyzer as a plugin: settings from pipelines.yaml, thresholds from the ConfigMaps read
// once per cycle into an immutable snapshot, and analyze() (concurrent, read-only) on top of analysis.h.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>

#include "analysis.h"
#include "settings.h"
#include "thresholds.h"
#include "wva/sdk/plugin.h"

namespace wva::saturation {

// What analyze() reads. Built by prepare_cycle(), never changed afterwards.
struct ConfigSnapshot {
  std::shared_ptr<const ParsedConfigMap> global;                        // null: no ConfigMap
  std::map<std::string, std::shared_ptr<const ParsedConfigMap>> local;  // namespace -> its copy
  std::map<sdk::ModelKey, ResolvedThresholds> resolved;                 // models of this cycle

  // The thresholds of `model`: precomputed for this cycle's models, resolved on the fly otherwise.
  ResolvedThresholds thresholds_for(const sdk::ModelKey& model) const;
};

class SaturationAnalyzer : public sdk::Plugin, public sdk::Analyzer {
 public:
  // `config` is validated (settings_schema()): read, not checked.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  std::optional<sdk::SettingsSchema> settings_schema() const override { return saturation::settings_schema(); }
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;
  sdk::Result<void> prepare_cycle(std::span<const sdk::ModelView> models) override;
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& model, const sdk::Recommendation* upstream) override;

  const Options& options() const { return options_; }
  // The snapshot analyze() reads now (null before the first prepare_cycle()).
  std::shared_ptr<const ConfigSnapshot> snapshot() const { return snapshot_.load(); }

 private:
  struct CachedMap {
    std::map<std::string, std::string> data;
    std::shared_ptr<const ParsedConfigMap> parsed;
  };
  // Reads and parses the ConfigMap in `ns`; keeps `previous` when the read fails.
  std::shared_ptr<const ParsedConfigMap> read_config_map(const std::string& ns,
                                                         std::shared_ptr<const ParsedConfigMap> previous,
                                                         std::set<std::string>& messages);

  Options options_;
  std::string config_path_ = "analyzers.saturation";
  sdk::PluginContext* context_ = nullptr;
  std::string instance_ = "saturation";
  std::atomic<std::shared_ptr<const ConfigSnapshot>> snapshot_;
  // Touched only by prepare_cycle(), which the host calls alone.
  std::map<std::string, CachedMap> cache_;  // namespace -> last ConfigMap data and its parse
  std::set<std::string> logged_;            // problems already logged (logged again once they clear)
};

}  // namespace wva::saturation
