// In-process plugins for host tests: a scripted source, configurable analyzers and a recording sink.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "first_plugin.h"
#include "max_plugin.h"
#include "wva/sdk/plugin.h"

namespace wva::testing {

// The `first` and `max` combiner plugins' own classes, in-process, for a PipelineRuntime built by hand.
// They hold no state, so one object serves every test.
inline std::pair<std::string, sdk::Combiner*> first_combiner() {
  static combiners::first::FirstCombiner combiner;
  return {"first", &combiner};
}
inline std::pair<std::string, sdk::Combiner*> max_combiner() {
  static combiners::max::MaxCombiner combiner;
  return {"max", &combiner};
}

class PluginBase : public sdk::Plugin {
 public:
  sdk::Result<void> configure(const sdk::Config&, const std::string&) override { return sdk::ok(); }
  sdk::Result<void> start(sdk::PluginContext&) override { return sdk::ok(); }
  void stop() noexcept override {}
};

// Returns what `script` says for the models it is given.
class ScriptedSource : public PluginBase, public sdk::Source {
 public:
  using Script =
      std::function<sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>>(std::span<const sdk::ModelView>)>;
  explicit ScriptedSource(Script s) : script_(std::move(s)) {}
  sdk::Source* as_source() override { return this; }
  sdk::Result<std::map<sdk::ModelKey, sdk::ModelMetrics>> collect(std::span<const sdk::ModelView> models,
                                                                  sdk::Deadline) override {
    ++calls;
    return script_(models);
  }
  std::atomic<int> calls{0};

 private:
  Script script_;
};

// desired = fn(model, variant)
class FnAnalyzer : public PluginBase, public sdk::Analyzer {
 public:
  using Fn = std::function<std::optional<int>(const sdk::ModelView&, const sdk::Variant&)>;
  FnAnalyzer(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  sdk::Analyzer* as_analyzer() override { return this; }
  sdk::Result<sdk::Recommendation> analyze(const sdk::ModelView& model, const sdk::Recommendation*) override {
    sdk::Recommendation rec;
    rec.analyzer = name_;
    for (const auto& v : model.variants)
      if (auto t = fn_(model, v)) rec.targets.push_back({v.name, *t, name_ + " says " + std::to_string(*t)});
    rec.has_opinion = !rec.targets.empty();
    if (!rec.has_opinion) rec.reason = name_ + " has no opinion";
    return rec;
  }

 private:
  std::string name_;
  Fn fn_;
};

class RecordingSink : public PluginBase, public sdk::Sink {
 public:
  sdk::Sink* as_sink() override { return this; }
  sdk::Result<void> publish(const sdk::PublishBatch& batch) override {
    std::lock_guard lock(mutex);
    batches.emplace_back(batch.decisions.begin(), batch.decisions.end());
    conditions.emplace_back(batch.conditions.begin(), batch.conditions.end());
    partial.push_back(batch.partial);
    times.push_back(batch.time);
    return sdk::ok();
  }
  std::mutex mutex;
  std::vector<std::vector<sdk::Decision>> batches;
  std::vector<std::vector<sdk::ResourceCondition>> conditions;  // per batch
  std::vector<bool> partial;                                    // per batch
  std::vector<sdk::TimePoint> times;                            // per batch
};

inline sdk::ModelView model(const std::string& ns, const std::string& id, std::vector<std::string> variants,
                            int current = 2) {
  sdk::ModelView m;
  m.key = {ns, id};
  m.va_name = id;
  for (auto& v : variants) {
    sdk::Variant var;
    var.name = v;
    var.accelerator = "H100";
    var.current_replicas = var.ready_replicas = current;
    m.variants.push_back(var);
  }
  return m;
}

inline sdk::ModelMetrics ok_metrics() {
  sdk::ModelMetrics m;
  m.state = sdk::MetricsState::kOk;
  return m;
}

}  // namespace wva::testing
