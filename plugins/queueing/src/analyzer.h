// The queueing analyzer's logic for one model, and the cycle-wide snapshot it reads. No I/O here: the
// plugin (plugin.cpp) fills the Snapshot from the cluster in prepare_cycle().
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "allocation.h"
#include "queue_model.h"
#include "settings.h"
#include "wva/sdk/types.h"
#include "wva/sdk/util/service_classes.h"

namespace wva::queueing {

// Everything read once per cycle; analyze() only reads it (concurrently for different models).
struct Snapshot {
  std::vector<sdk::util::ServiceClass> service_classes;  // serviceClassConfigMap, sorted by priority
  std::map<ProfileKey, ProfileEntry> profiles;           // profiles ConfigMap
  std::map<std::string, int> capacity;                   // limited mode: GPUs per accelerator type
  std::vector<std::string> warnings;                     // ConfigMap problems (last good value kept)
  bool limited_planned = false;                          // prepare_cycle ran the limited-mode allocation
  std::map<sdk::ModelKey, LimitedResult> plan;           // limited mode: per model
};

// One variant as sized this cycle.
struct VariantSizing {
  size_t index = 0;            // into ModelView::variants
  std::string profile_source;  // "VA status", "VA spec.modelProfile", "ConfigMap <name>"
  std::optional<QueueModel> model;
  MaxRate max;  // at the model's token mix
};

// The sizing of one model: the allocation problem and its candidates, or why there is no opinion.
struct ModelPlan {
  bool sizable = false;
  std::string no_opinion_reason;  // CamelCase, when !sizable: NoProfile, NoSLO, NoLoad, MetricsUnavailable
  std::string no_opinion_message;
  sdk::Slo slo;
  double load = 0;  // req/s
  double in_tokens = 0, out_tokens = 0;
  std::string load_note;        // where the load came from
  bool slo_infeasible = false;  // no variant meets the SLO at any rate: sized for stability instead
  std::string infeasible_note;
  std::vector<VariantSizing> sized;  // variants with a profile, in ModelView order
  std::vector<std::string> unsized;  // variants without a profile (no opinion on them)
  AllocationProblem problem;         // variants = sized, same order
  std::vector<Allocation> candidates;
  std::vector<std::string> notes;  // e.g. unknown costs
};

ModelPlan plan_model(const sdk::ModelView& model, const Snapshot& snapshot, const Settings& settings);

// The recommendation for an allocation (replicas per sized variant) of a plan.
sdk::Recommendation recommend(const sdk::ModelView& model, const ModelPlan& plan, const std::vector<int>& replicas,
                              const std::string& analyzer, const std::string& extra_reason = {});

// The whole analysis of one model: unlimited mode, or limited mode through snapshot.plan.
sdk::Recommendation analyze_model(const sdk::ModelView& model, const Snapshot& snapshot, const Settings& settings,
                                  const std::string& analyzer = "queueing");

// Limited mode over all models (called from prepare_cycle, with metrics filled in). Models without an
// opinion keep the GPUs they hold now: those are taken off the capacity first.
std::map<sdk::ModelKey, LimitedResult> plan_limited(std::span<const sdk::ModelView> models, const Snapshot& snapshot,
                                                    const Settings& settings);

std::string format_number(double v, int decimals = 2);

}  // namespace wva::queueing
