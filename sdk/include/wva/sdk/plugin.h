// The plugin interfaces: source, analyzer, sink, combiner (and model discovery, a source's capability).
// One object may implement several (the emulator is a source and a sink).
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wva/sdk/abi.h"
#include "wva/sdk/context.h"
#include "wva/sdk/result.h"
#include "wva/sdk/settings_schema.h"
#include "wva/sdk/types.h"

namespace wva::sdk {

using Config = nlohmann::json;

class Source;
class Analyzer;
class Sink;
class ModelDiscovery;
class Combiner;

class WVA_SDK_VISIBLE Plugin {
 public:
  virtual ~Plugin() = default;
  // Keeps the settings; does no I/O. With a schema (settings_schema()), `config` is what
  // prepare_settings() made of the instance's settings: validated, defaults filled, cross-field rules
  // checked, so configure() reads typed values (SettingsReader) and fails only on what it cannot check
  // earlier. `config_path` (e.g. "sources.prometheus") prefixes the path of every error so the operator
  // sees where in pipelines.yaml the problem is.
  virtual Result<void> configure(const Config& config, const std::string& config_path) = 0;
  // The settings this plugin accepts, for the host to validate and default before configure() and to
  // print (`wva plugins --describe`). nullopt: undeclared, the settings reach configure() as written.
  // Since SDK ABI 4.0.
  virtual std::optional<SettingsSchema> settings_schema() const { return std::nullopt; }
  // The rules among fields that a schema cannot say (e.g. "max >= min"), on settings the schema has
  // validated: every broken rule, each with its path under `config_path`. Since SDK ABI 4.0.
  virtual std::vector<Error> check_settings(const Config& /*settings*/, const std::string& /*config_path*/) const {
    return {};
  }
  // The context outlives the plugin's use of it (until stop()).
  virtual Result<void> start(PluginContext& context) = 0;
  // Idempotent; never throws.
  virtual void stop() noexcept = 0;

  virtual Source* as_source() { return nullptr; }
  virtual Analyzer* as_analyzer() { return nullptr; }
  virtual Sink* as_sink() { return nullptr; }
  // Since SDK ABI 3.0 (a new virtual: a new major).
  virtual ModelDiscovery* as_model_discovery() { return nullptr; }
  // Since SDK ABI 4.0.
  virtual Combiner* as_combiner() { return nullptr; }
};

// What the host does with an instance's settings before configure(): the plugin's schema (every error
// with its path, defaults filled), then, when the schema found nothing, the plugin's cross-field rules.
// Without a schema the settings pass unchanged. Tests use it to configure a plugin as the host does.
inline ValidatedSettings prepare_settings(const Plugin& plugin, const Config& settings,
                                          const std::string& config_path) {
  const auto schema = plugin.settings_schema();
  if (!schema) return ValidatedSettings{settings, {}};
  ValidatedSettings out = validate_settings(*schema, settings, config_path);
  if (out.ok()) out.errors = plugin.check_settings(out.values, config_path);
  return out;
}

// Collects metrics for all models of a pipeline in one batch (O(1) backend queries, not O(models)).
// A model missing from the returned map has no metrics this cycle.
class WVA_SDK_VISIBLE Source {
 public:
  virtual ~Source() = default;
  virtual Result<std::map<ModelKey, ModelMetrics>> collect(std::span<const ModelView> models, Deadline deadline) = 0;
};

// One pod serving one model, as the pod's own metrics say (vLLM's `model_name` label).
struct PodModel {
  std::string ns;
  std::string pod;
  std::string model_id;
  bool operator==(const PodModel&) const = default;
  auto operator<=>(const PodModel&) const = default;
};

// Which pods serve which model, from the metrics backend. It lets a VariantAutoscaling find its
// Deployments without a `llmd.ai/model` label or a scaleTargetRef: the host maps each pod to its
// Deployment (ownerReferences) and the Deployments whose pods serve the VA's model become its variants.
// Called by the host at most every few seconds, with a deadline, possibly while collect() runs on another
// thread; one batched backend query, not one per model. A failure keeps the host's last good answer.
// Since SDK ABI 3.0.
class WVA_SDK_VISIBLE ModelDiscovery {
 public:
  virtual ~ModelDiscovery() = default;
  virtual Result<std::vector<PodModel>> discover_models(Deadline deadline) = 0;
};

// Analyzes one model. analyze() is called concurrently for different models and must not mutate shared
// state. Per-cycle preparation (reading ConfigMaps) happens in prepare_cycle(), called once per cycle,
// alone, AFTER the source's collect(): the models it sees already have their metrics filled.
class WVA_SDK_VISIBLE Analyzer {
 public:
  virtual ~Analyzer() = default;
  virtual Result<void> prepare_cycle(std::span<const ModelView> /*models*/) { return ok(); }
  // `upstream` is the previous analyzer's recommendation in the chain, or nullptr for the first.
  virtual Result<Recommendation> analyze(const ModelView& model, const Recommendation* upstream) = 0;
};

// One analyzer's recommendation in a pipeline's chain, with the analyzer's instance name in pipelines.yaml
// (`analyzers: [a, b]`); the recommendation's own `analyzer` field is what the analyzer calls itself.
struct ChainLink {
  std::string instance;
  const Recommendation* recommendation = nullptr;  // never null; valid during the combine() call
};

// Combines the recommendations of a pipeline's analyzer chain into one per model (pipelines.yaml
// `combine: <name>`). The result's targets are the final ones, before the host clamps them to each
// variant's bounds; a variant without a target holds its last decision. A target's `analyzer` names whose
// number it is (empty: the result's `analyzer`). combine() is called for every model of every pipeline
// that uses the instance, possibly concurrently: it must not mutate shared state. Since SDK ABI 4.0.
class WVA_SDK_VISIBLE Combiner {
 public:
  virtual ~Combiner() = default;
  // Called when a pipeline that uses this instance is built, with its analyzer instance names in chain
  // order; an error (its path under `pipeline_path`, e.g. "pipelines.p.combine") rejects the config.
  virtual Result<void> check_chain(std::span<const std::string> /*analyzers*/, const std::string& /*pipeline_path*/) {
    return ok();
  }
  virtual Result<Recommendation> combine(const ModelView& model, std::span<const ChainLink> chain) = 0;
};

// Conditions for a VariantAutoscaling that has no decision this cycle (e.g. its target is missing).
struct ResourceCondition {
  std::string ns;
  std::string va_name;
  Condition condition;
};

// A whole batch (partial false) holds every model the pipeline publishes now: what a sink published
// before for this pipeline and is not in it is gone (a deleted VariantAutoscaling, a shard another replica
// owns now). An empty whole batch withdraws everything, e.g. from a replica that stopped leading.
struct PublishBatch {
  std::string pipeline;
  TimePoint time{};
  std::span<const Decision> decisions;
  std::span<const ModelView> models;  // with the metrics of this cycle
  std::span<const ResourceCondition> conditions;
  // True for a cycle of only some of the pipeline's models (the fast check of models at zero replicas):
  // a model absent from a partial batch is not gone. Since SDK ABI 2.0.
  bool partial = false;
};

class WVA_SDK_VISIBLE Sink {
 public:
  virtual ~Sink() = default;
  virtual Result<void> publish(const PublishBatch& batch) = 0;
};

}  // namespace wva::sdk
