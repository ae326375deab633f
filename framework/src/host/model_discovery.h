// Which pods serve which model, asked of every source that can tell (sdk::ModelDiscovery), so that a
// VariantAutoscaling finds its Deployments without labels (model_builder.h). The answer changes slowly
// (pods come and go with Deployments), so it is refreshed at most once per period, each source with a
// deadline; a source that fails keeps its last good answer and the failure is logged once per change.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "host/call_watchdog.h"
#include "host/cycle.h"
#include "wva/sdk/context.h"
#include "wva/sdk/plugin.h"

namespace wva::framework {

class ModelDiscoveryCache {
 public:
  ModelDiscoveryCache(std::chrono::milliseconds period, std::chrono::milliseconds call_budget)
      : period_(period), call_budget_(call_budget) {}

  // Asks the pipelines' discovery-capable sources when the period has passed (or never asked).
  // watchdog: null calls directly (virtual clock). Returns whether the merged answer changed.
  bool refresh(const std::vector<PipelineRuntime>& pipelines, const sdk::Clock& clock, CallWatchdog* watchdog,
               spdlog::logger& log);
  // The merged answer, sorted and unique; nullptr when no source of the pipelines can discover.
  const std::vector<sdk::PodModel>* pods() const { return any_source_ ? &merged_ : nullptr; }
  // Bumped whenever pods() changes.
  std::uint64_t generation() const { return generation_; }

 private:
  std::chrono::milliseconds period_;
  std::chrono::milliseconds call_budget_;
  std::optional<sdk::TimePoint> asked_at_;
  bool any_source_ = false;
  std::map<std::string, std::vector<sdk::PodModel>> by_source_;  // "sources/NAME" -> last good answer
  std::map<std::string, std::string> last_error_;                // "sources/NAME" -> last logged failure
  std::vector<sdk::PodModel> merged_;
  std::uint64_t generation_ = 0;
};

}  // namespace wva::framework
