// sdk::ModelDiscovery for the prometheus source: which pods serve which model, from one query whose
// series carry the namespace, pod and model labels (vLLM labels every series with model_name, the served
// model's name, which is the VariantAutoscaling's modelID).
#include <exception>

#include "prometheus_plugin.h"

namespace wva::prometheus {

using sdk::ErrorCode;
using sdk::make_error;

sdk::Result<std::vector<sdk::PodModel>> PrometheusSource::discover_models(sdk::Deadline deadline) {
  try {
    if (!client_) return make_error(ErrorCode::kUnavailable, "model discovery: the source is not started");
    std::vector<sdk::PodModel> out;
    if (config_.discovery_query.empty()) return out;
    const auto values =
        make_template_values(config_.labels, config_.namespaces, {}, 0, config_.window, config_.rate_window);
    const auto promql = render_template(config_.discovery_query, values);
    if (!promql)
      return make_error(ErrorCode::kInvalidConfig, "model discovery: discoveryQuery has an unknown placeholder");
    auto response = client_->query(*promql, deadline);
    if (!response.ok()) {
      count("error");
      return make_error(response.error().code, std::string(kFailedToGetMetrics) + " (model discovery query " + *promql +
                                                   "): " + response.error().message);
    }
    if (!response.value().success) {
      count("error");
      return make_error(ErrorCode::kUnavailable, std::string(kFailedToGetMetrics) + " (model discovery query " +
                                                     *promql + "): " + response.value().error_type + ": " +
                                                     response.value().error);
    }
    count("ok");
    for (const auto& sample : response.value().samples) {
      const std::string* ns = sample.label(config_.labels.ns);
      const std::string* pod = sample.label(config_.labels.pod);
      const std::string* model = sample.label(config_.labels.model);
      // A series without one of the three cannot name a serving pod (e.g. an aggregate): not an error.
      if (!ns || !pod || !model || ns->empty() || pod->empty() || model->empty()) continue;
      out.push_back(sdk::PodModel{*ns, *pod, *model});
    }
    return out;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("model discovery: internal error: ") + e.what());
  }
}

}  // namespace wva::prometheus
