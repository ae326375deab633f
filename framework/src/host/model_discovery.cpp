#include "host/model_discovery.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "host/guard.h"

namespace wva::framework {

// One round of questions, asked on the cache's thread; `done` is set once `answers` is complete.
struct ModelDiscoveryCache::Round {
  std::atomic<bool> done{false};
  Answers answers;
};

namespace {

using Sources = std::vector<std::pair<std::string, std::shared_ptr<sdk::Plugin>>>;

std::vector<std::pair<std::string, sdk::Result<std::vector<sdk::PodModel>>>> ask(const Sources& sources,
                                                                                 CallWatchdog* watchdog,
                                                                                 std::chrono::milliseconds budget) {
  std::vector<std::pair<std::string, sdk::Result<std::vector<sdk::PodModel>>>> out;
  for (const auto& [key, plugin] : sources) {
    // The call co-owns its instance: an abandoned one keeps it alive until it returns.
    std::function<sdk::Result<std::vector<sdk::PodModel>>()> call = [plugin = plugin, budget] {
      return plugin->as_model_discovery()->discover_models(sdk::Deadline::in(budget));
    };
    out.emplace_back(
        key,
        watchdog
            ? watchdog->call<std::vector<sdk::PodModel>>(key, budget + std::chrono::seconds(1), std::move(call)).result
            : guarded(key, call));
  }
  return out;
}

}  // namespace

void ModelDiscoveryCache::wait() {
  if (thread_.joinable()) thread_.join();
}

bool ModelDiscoveryCache::refresh(const std::vector<PipelineRuntime>& pipelines, const sdk::Clock& clock,
                                  CallWatchdog* watchdog, spdlog::logger& log) {
  // The discovery-capable sources of the running configuration, each instance once.
  std::map<std::string, std::shared_ptr<sdk::Plugin>> current;
  for (const auto& p : pipelines) {
    const std::string key = "sources/" + p.source.first;
    auto owner = p.owners.find(key);
    if (owner != p.owners.end() && owner->second && owner->second->as_model_discovery())
      current.emplace(key, owner->second);
  }
  const bool had_sources = any_source_;
  any_source_ = !current.empty();
  bool changed = false;
  // Answers of instances no longer configured are dropped.
  for (auto it = by_source_.begin(); it != by_source_.end();)
    if (!current.count(it->first)) {
      it = by_source_.erase(it);
      changed = true;
    } else {
      ++it;
    }

  // A round that finished is taken.
  if (round_ && round_->done.load(std::memory_order_acquire)) {
    wait();
    changed = take(std::move(round_->answers), log) || changed;
    round_.reset();
  }

  const sdk::TimePoint now = clock.now();
  if (any_source_ && !round_ && (!asked_at_ || now - *asked_at_ >= period_)) {
    asked_at_ = now;
    Sources sources(current.begin(), current.end());
    if (!watchdog) {
      changed = take(ask(sources, nullptr, call_budget_), log) || changed;
    } else {
      auto round = std::make_shared<Round>();
      round_ = round;
      thread_ = std::thread([round, sources = std::move(sources), watchdog, budget = call_budget_] {
        round->answers = ask(sources, watchdog, budget);
        round->done.store(true, std::memory_order_release);
      });
      // The first model views need the first answer: wait for it (bounded by the calls' deadlines).
      if (!answered_) {
        wait();
        changed = take(std::move(round_->answers), log) || changed;
        round_.reset();
      }
    }
  }
  if (!changed && had_sources == any_source_) return false;
  return merge(had_sources);
}

bool ModelDiscoveryCache::take(Answers answers, spdlog::logger& log) {
  answered_ = true;
  bool changed = false;
  for (auto& [key, result] : answers) {
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
  return changed;
}

bool ModelDiscoveryCache::merge(bool had_sources) {
  std::set<sdk::PodModel> all;
  for (const auto& [key, pods] : by_source_) all.insert(pods.begin(), pods.end());
  std::vector<sdk::PodModel> merged(all.begin(), all.end());
  if (merged == merged_ && had_sources == any_source_) return false;
  merged_ = std::move(merged);
  ++generation_;
  return true;
}

}  // namespace wva::framework
