// Which pods serve which model, asked of every source that can tell (sdk::ModelDiscovery), so that a
// VariantAutoscaling finds its Deployments without labels (model_builder.h). The answer changes slowly
// (pods come and go with Deployments), so it is refreshed at most once per period, each source under a
// deadline; a source that fails keeps its last good answer and the failure is logged once per change.
//
// With a wall clock the questions are asked on a thread of their own (the host's scheduler never waits
// on them, except for the very first answer, which the first model views need); with a virtual clock
// (simulation) they are asked in line, deterministically.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
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
  ~ModelDiscoveryCache() { wait(); }
  ModelDiscoveryCache(const ModelDiscoveryCache&) = delete;
  ModelDiscoveryCache& operator=(const ModelDiscoveryCache&) = delete;

  // Takes the answers that arrived, and asks the pipelines' discovery-capable sources again when the
  // period has passed. watchdog: null asks in line (virtual clock). Returns whether pods() changed.
  bool refresh(const std::vector<PipelineRuntime>& pipelines, const sdk::Clock& clock, CallWatchdog* watchdog,
               spdlog::logger& log);
  // Waits for the questions in flight (each bounded by its deadline); before the plugins are stopped or
  // replaced, and at shutdown.
  void wait();
  // The merged answer, sorted and unique; nullptr when no source of the pipelines can discover.
  const std::vector<sdk::PodModel>* pods() const { return any_source_ ? &merged_ : nullptr; }
  // Bumped whenever pods() changes.
  std::uint64_t generation() const { return generation_; }

 private:
  using Answers = std::vector<std::pair<std::string, sdk::Result<std::vector<sdk::PodModel>>>>;
  struct Round;
  // Records one round's answers; true when a source's answer changed.
  bool take(Answers answers, spdlog::logger& log);
  bool merge(bool had_sources);

  std::chrono::milliseconds period_;
  std::chrono::milliseconds call_budget_;
  std::optional<sdk::TimePoint> asked_at_;
  bool answered_ = false;  // a first round has been taken
  bool any_source_ = false;
  std::shared_ptr<Round> round_;  // in flight on `thread_`
  std::thread thread_;
  std::map<std::string, std::vector<sdk::PodModel>> by_source_;  // "sources/NAME" -> last good answer
  std::map<std::string, std::string> last_error_;                // "sources/NAME" -> last logged failure
  std::vector<sdk::PodModel> merged_;
  std::uint64_t generation_ = 0;
};

}  // namespace wva::framework
