// The prometheus source: one batched query per signal group for all models of a pipeline.
#pragma once

#include <bitset>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "capacity_cache.h"
#include "grouping.h"
#include "http_client.h"
#include "settings.h"
#include "wva/sdk/plugin.h"

namespace wva::prometheus {

// What the last collect() did; for tests and debugging.
struct CollectReport {
  std::vector<std::string> queries;  // PromQL sent, in order
  std::vector<QueryStats> stats;
  GroupStats group;
  std::string load_error;              // when the load query failed (saturation signals still used)
  std::bitset<kSignalCount> recorded;  // signals read from recorded series this cycle
  bool capacity_cached = false;        // KV capacity came from the cache, not a query
  bool spread_read = false;            // promptTokensBucket was queried (else the kept spreads were applied)
};

// The prompt-length spreads (sdk::Load::prompt_tokens_cv) last fitted, kept between the histogram's reads.
struct KeptSpread {
  std::optional<double> model;
  std::vector<std::pair<std::string, double>> variants;  // variant name, spread
};

// How often recordingRules: auto looks for the recorded series again.
inline constexpr std::chrono::minutes kRecordedProbeInterval{5};

class PrometheusSource : public sdk::Plugin, public sdk::Source, public sdk::ModelDiscovery {
 public:
  PrometheusSource() = default;
  ~PrometheusSource() override;

  std::optional<sdk::SettingsSchema> settings_schema() const override { return prometheus::settings_schema(); }
  std::vector<sdk::Error> check_settings(const sdk::Config& settings, const std::string& config_path) const override {
    return prometheus::check_settings(settings, config_path);
  }
  // Validating the host's validated settings again changes nothing; a direct call gets the same checks.
  sdk::Result<void> configure(const sdk::Config& config, const std::string& config_path) override;
  sdk::Result<void> start(sdk::PluginContext& context) override;
  void stop() noexcept override;

  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collect(std::span<const sdk::ModelView> models,
                                                                  sdk::Deadline deadline) override;

  // One query (discoveryQuery): every pod whose series carry the namespace, pod and model labels.
  sdk::Result<std::vector<sdk::PodModel>> discover_models(sdk::Deadline deadline) override;

  const SourceConfig& config() const { return config_; }
  CollectReport last_report() const;
  const PrometheusClient* client() const { return client_.get(); }

 private:
  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collect_impl(std::span<const sdk::ModelView> models,
                                                                       sdk::Deadline deadline);
  // recordingRules: decides which signals read recorded series this cycle (auto: probes when due).
  void update_recorded(const TemplateValues& values, sdk::TimePoint now, sdk::Deadline deadline, CollectReport& report);
  // Keeps this cycle's fitted spreads (a read of the histogram), or fills the kept ones in (no read).
  // keep_spreads: whether any spread was fitted.
  bool keep_spreads(const std::map<sdk::ModelKey, sdk::ModelMetrics>& out);
  void apply_kept_spreads(std::map<sdk::ModelKey, sdk::ModelMetrics>& out) const;
  void log(sdk::LogLevel level, const std::string& message);
  void count(const char* outcome);

  SourceConfig config_;
  std::string config_path_;
  bool configured_ = false;
  sdk::PluginContext* context_ = nullptr;
  std::unique_ptr<PrometheusClient> client_;
  std::map<sdk::ModelKey, sdk::MetricsState> last_state_;  // for logging state changes once
  std::optional<std::string> recorded_unusable_;           // why auto cannot use the recorded series
  std::bitset<kSignalCount> recorded_;                     // signals read from recorded series
  std::optional<sdk::TimePoint> last_probe_;               // of recordingRules: auto
  bool probed_once_ = false;
  CapacityCache capacity_cache_;  // KV capacity per pod between full reads (the built-in kvCapacity query)
  std::map<sdk::ModelKey, KeptSpread> kept_spreads_;  // promptSpreadInterval: the last read's fits
  std::optional<sdk::TimePoint> last_spread_read_;    // the last read of the histogram that fitted a spread
  std::unique_ptr<Grouper> grouper_;                  // kept between cycles with its route index and storage
  // (route generation, cache generation) of the last check that the cache covers every listed pod.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> covered_;
  std::optional<std::pair<std::uint64_t, TemplateValues>> values_;  // the selectors, by route generation
  mutable std::mutex report_mu_;
  CollectReport report_;
};

}  // namespace wva::prometheus
