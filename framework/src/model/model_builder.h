// Builds the per-model views a pipeline analyzes from what the cluster holds: VariantAutoscalings,
// their Deployments (one scaleTargetRef, or every Deployment of the model discovered by label), costs
// from accelerator-unitcost, SLOs from service-classes-config, profiles from spec.modelProfile.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/cluster_backend.h"
#include "cluster/hpa_record.h"
#include "model/pod_names.h"
#include "wva/sdk/plugin.h"
#include "wva/sdk/types.h"

namespace wva::framework {

struct ClusterModels {
  std::vector<sdk::ModelView> models;              // sorted by key; variants sorted by name
  std::vector<sdk::ResourceCondition> conditions;  // e.g. TargetResolved=False for a missing Deployment
  std::vector<sdk::Labels> va_labels;              // labels of models[i]'s VA, for selectors
  std::vector<std::string> warnings;               // e.g. a bad accelerator-unitcost entry
};

// Reads everything through the ClusterView (cached, no per-model I/O): one full build. `discovered`: which
// pods serve which model by their metrics (sources with sdk::ModelDiscovery); a VA without a scaleTargetRef
// and without a labelled Deployment then takes the Deployments owning the pods that serve its model.
sdk::Result<ClusterModels> build_models(sdk::ClusterView& cluster,
                                        const std::vector<sdk::PodModel>* discovered = nullptr);

// The model views kept up to date: rebuild() reads everything; update() reads only the objects that
// changed and rebuilds only the models they affect, with the same result as a rebuild:
// - a VariantAutoscaling: the model it joined before and the one it joins now;
// - a Deployment: the models whose VAs name it (scaleTargetRef) or whose llmd.ai/model label it carried
//   before or carries now; pods named after it without a known owner are mapped again;
// - a Pod: the models of its Deployment before and now (nothing when its Deployment did not change);
// - a HorizontalPodAutoscaler: the models of the Deployment it scaled before and the one it scales now;
// - ConfigMap accelerator-unitcost or service-classes-config (system namespace): everything (rebuild());
// - any other object: nothing (the views do not read it).
// The VAs read are the cluster cache's shared snapshots; of a Deployment only its DeploymentRecord is kept
// (ClusterBackend::list_deployment_records), so the views hold none of the Deployments' JSON.
class ModelViews {
 public:
  sdk::Result<void> rebuild(ClusterBackend& cluster);
  sdk::Result<void> update(ClusterBackend& cluster, const std::vector<ObjectRef>& changed);
  // Which pods serve which model by their metrics (nullptr: no source can tell). Takes effect at the next
  // rebuild(); update() then keeps the models found through it current as pods and Deployments change.
  void set_discovered(const std::vector<sdk::PodModel>* discovered);
  bool built() const { return built_; }
  const ClusterModels& models() const { return *out_; }
  // Moves the views out (built() is false afterwards).
  ClusterModels take();
  // The cached views themselves for one cycle that runs on every model (Host's working set), instead of
  // a copy: the cycle writes its metrics and previous_desired into them, so a lent view's metrics and
  // previous_desired are those of the last cycle that borrowed it, until the borrower resets them. A
  // rebuild or update while a borrower still holds them changes a copy (copy-on-write; the copy's metrics
  // are left empty), never the borrowed views. Lendable when nobody else holds the views now.
  bool lendable() const { return out_.use_count() == 1; }
  std::shared_ptr<std::vector<sdk::ModelView>> lend() { return {out_, &out_->models}; }
  // The previous_desired of models()[model]'s variants as the VA status says (what build_models put in
  // the views before any cycle wrote this cycle's own).
  const std::vector<std::optional<int>>& status_desired(std::size_t model) const { return status_desired_[model]; }
  // Warnings of the models (and ConfigMaps) the last rebuild or update built, for the log: a model that
  // did not change does not repeat its warnings.
  const std::vector<std::string>& new_warnings() const { return new_warnings_; }
  // Models built by the last rebuild or update (all of them after a rebuild).
  std::size_t last_built() const { return last_built_; }

 private:
  struct PodEntry {
    std::string deployment;     // resolved owner, "" = none
    bool from_backend = false;  // the backend named the owner (else the name-prefix rule found it)
    sdk::Labels labels;         // kept for the name-prefix rule when the backend did not name one
  };
  struct ModelRecord {
    std::size_t conditions = 0, warnings = 0;  // its spans in out_.conditions / the model part of out_.warnings
    std::vector<std::string> refs;             // Deployment names its VAs' scaleTargetRefs name
  };
  struct Built;
  using NsName = std::pair<std::string, std::string>;

  Built build_model(const sdk::ModelKey& key, const std::string& system_namespace) const;
  void install(const sdk::ModelKey& key, Built built);
  void index_deployment(const std::string& ns, const std::string& name, DeploymentRecordPtr rec);  // null: gone
  void index_hpa(const std::string& ns, const std::string& name, std::optional<HpaBounds> bounds);
  const HpaBounds* hpa_bounds(const std::string& ns, const std::string& name) const;  // null: none
  std::string resolve_owner(const std::string& ns, const std::string& pod, const PodEntry& entry) const;
  // The pod's resolved owner ("" = none); nullopt when the cluster has no such pod.
  std::optional<std::string> pod_owner(const std::string& ns, const std::string& pod) const;
  // Records a pod (nullopt: gone) whose owner pods_by_owner_ already says.
  void keep_pod(const std::string& ns, const std::string& pod, std::optional<PodEntry> entry);
  void set_pod_owner(const std::string& ns, const std::string& pod, const std::string& before,
                     const std::string& after);
  void models_of_deployment(const std::string& ns, const std::string& name, const std::string& label,
                            std::set<sdk::ModelKey>& out) const;
  void discovered_models_of_pod(const std::string& ns, const std::string& pod, std::set<sdk::ModelKey>& out) const;
  void rebuild_prefix();  // out_.warnings' ConfigMap and skipped-VA part
  void assemble_all();    // every model from the indexes, in key order

  // The views for writing: a copy first when a borrower holds them (see lend()).
  ClusterModels& writable();

  bool built_ = false;
  std::shared_ptr<ClusterModels> out_ = std::make_shared<ClusterModels>();
  std::vector<std::vector<std::optional<int>>> status_desired_;  // parallel to out_->models
  std::vector<std::string> new_warnings_;
  std::size_t last_built_ = 0;
  // The ConfigMaps, read once per rebuild.
  struct ConfigMaps;  // accelerator-unitcost + service-classes-config, parsed
  std::shared_ptr<const ConfigMaps> config_;
  std::vector<std::string> config_warnings_;
  std::map<NsName, std::string> skipped_warnings_;  // VAs without a modelID
  std::size_t prefix_warnings_ = 0;                 // config_warnings_ + skipped_warnings_ in out_.warnings
  // Indexes of the cached objects (VAs: shared snapshots, not copies; Deployments: their records).
  std::map<NsName, sdk::ObjectSnapshot> vas_;
  std::map<sdk::ModelKey, std::vector<std::string>> groups_;                       // model -> its VAs' names, sorted
  std::map<std::string, std::map<std::string, DeploymentRecordPtr>> deployments_;  // ns -> name -> what is read
  std::map<NsName, std::vector<std::string>> deployments_by_label_;  // (ns, llmd.ai/model) -> names, sorted
  std::map<std::string, std::map<std::string, HpaBounds>> hpas_;     // ns -> HPA name -> what is read
  std::map<std::string, std::set<NsName>> hpas_by_target_;           // ns -> (Deployment, HPA name)
  // A pod whose backend-named owner prefixes its name ("<deployment>-...") is only in pods_by_owner_
  // (pod_owner() finds it there); the others (no owner named by the backend, or an owner its name does not
  // start with) are kept here with their entry: at 120,000 pods most are not, and a map node per pod cost
  // as much as the views.
  std::map<NsName, PodEntry> pods_apart_;
  std::map<NsName, PodNames> pods_by_owner_;                   // (ns, Deployment) -> pod names
  std::map<std::string, std::set<std::string>> unowned_pods_;  // ns -> pods the backend named no owner of
  std::map<sdk::ModelKey, ModelRecord> records_;
  std::map<NsName, std::map<sdk::ModelKey, int>> models_by_ref_;  // (ns, Deployment) -> models naming it
  std::map<NsName, std::vector<sdk::ModelKey>> models_by_label_;  // (ns, label value) -> models, sorted
  // Model discovery (sdk::ModelDiscovery): which pods serve which model by their metrics.
  bool discovery_on_ = false;
  std::map<NsName, std::set<std::string>> discovered_by_pod_;       // (ns, pod) -> model IDs
  std::map<sdk::ModelKey, std::set<std::string>> discovered_pods_;  // model -> pod names in its namespace
};

// "A100-SXM4-80GB" -> "A100" given cost keys {A100, H100}: the longest key the product name starts with
// (case-insensitive, ignoring a vendor prefix such as "NVIDIA-" or "nvidia-tesla-", and ending at a word
// boundary so "A10G" is not "A10" and "L40S" is not "L40"), else the name itself. The rules of
// build_models are written at the top of model_builder.cpp.
std::string normalize_accelerator(const std::string& product, const std::vector<std::string>& cost_keys);

}  // namespace wva::framework
