#include "host/model_discovery.h"

#include <algorithm>
#include <memory>
#include <set>

#include "host/guard.h"

namespace wva::framework {

bool ModelDiscoveryCache::refresh(const std::vector<PipelineRuntime>& pipelines, const sdk::Clock& clock,
                                  CallWatchdog* watchdog, spdlog::logger& log) {
  // The discovery-capable sources of the running configuration, each instance once.
  std::map<std::string, std::shared_ptr<sdk::Plugin>> sources;
  for (const auto& p : pipelines) {
    const std::string key = "sources/" + p.source.first;
    auto owner = p.owners.find(key);
    if (owner != p.owners.end() && owner->second && owner->second->as_model_discovery())
      sources.emplace(key, owner->second);
  }
  const bool had_sources = any_source_;
  any_source_ = !sources.empty();
  // Answers of instances no longer configured are dropped.
  bool changed = had_sources != any_source_;
  for (auto it = by_source_.begin(); it != by_source_.end();)
    if (!sources.count(it->first)) {
      it = by_source_.erase(it);
      changed = true;
    } else {
      ++it;
    }

  const sdk::TimePoint now = clock.now();
  if (any_source_ && (!asked_at_ || now - *asked_at_ >= period_)) {
    asked_at_ = now;
    for (const auto& [key, plugin] : sources) {
      const auto budget = call_budget_;
      std::function<sdk::Result<std::vector<sdk::PodModel>>()> call = [plugin = plugin, budget] {
        return plugin->as_model_discovery()->discover_models(sdk::Deadline::in(budget));
      };
      auto result = watchdog
                        ? watchdog->call<std::vector<sdk::PodModel>>(key, budget + std::chrono::seconds(1), call).result
                        : guarded(key, call);
      if (!result.ok()) {
        const std::string message = result.error().to_string();
        if (last_error_[key] != message)
          log.error("model discovery: {}: {}; keeping its last answer ({} pods)", key, message, by_source_[key].size());
        last_error_[key] = message;
        continue;
      }
      if (!last_error_[key].empty()) log.info("model discovery: {} answers again", key);
      last_error_[key].clear();
      auto pods = std::move(result.value());
      std::sort(pods.begin(), pods.end());
      pods.erase(std::unique(pods.begin(), pods.end()), pods.end());
      auto& slot = by_source_[key];
      if (slot != pods) {
        slot = std::move(pods);
        changed = true;
      }
    }
  }
  if (!changed) return false;
  std::set<sdk::PodModel> all;
  for (const auto& [key, pods] : by_source_) all.insert(pods.begin(), pods.end());
  std::vector<sdk::PodModel> merged(all.begin(), all.end());
  if (merged == merged_ && had_sources == any_source_) return false;
  merged_ = std::move(merged);
  ++generation_;
  return true;
}

}  // namespace wva::framework
