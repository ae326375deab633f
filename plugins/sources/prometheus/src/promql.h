// PromQL text: label-value escaping, per-signal query templates, and the batched queries of one cycle.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "wva/sdk/util/prom_text.h"

namespace wva::prometheus {

// The signals the source reads. Each has a configurable query template (see default_template()).
enum class Signal : int {
  // Per-pod saturation signals (group "replicas").
  kKvCacheUsage = 0,
  kWaiting,
  kRunning,
  kSampleTime,  // timestamp of the newest sample, for staleness
  kKvCapacity,  // vllm:cache_config_info: num_gpu_blocks * block_size, or the value itself
  // Per-pod load signals (group "load"); rates per second.
  kCompletions,
  kArrivals,     // an arrivals counter, when the server has one (disabled by default)
  kQueueGrowth,  // d(waiting)/dt: arrivals = completions + queue growth
  kPromptTokensSum,
  kPromptTokensCount,
  // vllm:request_prompt_tokens_bucket: the prompt-length histogram's buckets (rates of cumulative counts),
  // one series per Deployment and `le`; the grouper keeps them as a bucket list per Deployment and fits
  // the spread of the prompt lengths to them (sdk::Load::prompt_tokens_cv).
  kPromptTokensBucket,
  kGenerationTokensSum,
  kGenerationTokensCount,
  kTtftSum,  // seconds
  kTtftCount,
  kItlSum,  // seconds
  kItlCount,
  // vllm:request_time_per_output_token_seconds_bucket: the completed requests by their mean time per output
  // token (seconds; what an ITL SLO is judged on), rates of cumulative counts, one series per Deployment
  // and `le`; kept as a bucket list per Deployment like kPromptTokensBucket and handed on as it is
  // (sdk::Load::request_tpot_buckets). Read every cycle: the analyzer calibrates on this window's.
  kRequestTpotBucket,
  // Per-model (no pod label): requests waiting at the router, e.g. the inference gateway's flow-control
  // queue; the demand of a model at zero replicas (group "load").
  kRouterQueue,
};
inline constexpr std::size_t kSignalCount = 19;

enum class SignalGroup { kReplicas, kLoad };

// The config key of a signal, e.g. "kvCacheUsage"; also the value of the wva_signal label in batches.
std::string_view signal_name(Signal s);
std::optional<Signal> signal_from_name(std::string_view name);
SignalGroup signal_group(Signal s);
const std::string& default_template(Signal s);
std::vector<std::string> signal_names();

// The label that tags each sub-query of a batched query with its signal.
inline constexpr std::string_view kSignalLabel = "wva_signal";

// The label of a histogram bucket's upper bound (the bucket signals): "+Inf" or a number, e.g. "1000.0".
inline constexpr std::string_view kBucketLabel = "le";

// The histogram signals: one series per Deployment and bucket (`le`), kept by the grouper as a bucket list
// per Deployment and histogram (its index here).
inline constexpr std::array<Signal, 2> kBucketSignals = {Signal::kPromptTokensBucket, Signal::kRequestTpotBucket};
constexpr std::optional<std::size_t> bucket_signal_index(Signal s) {
  for (std::size_t i = 0; i < kBucketSignals.size(); ++i)
    if (kBucketSignals[i] == s) return i;
  return std::nullopt;
}
constexpr bool is_bucket_signal(Signal s) { return bucket_signal_index(s).has_value(); }

// The label the load queries put the Deployment of a pod in (label_replace on the pod name) before
// summing per Deployment.
inline constexpr std::string_view kDeploymentLabel = "wva_deployment";
// Pods of Deployment d are named d-<pod-template-hash>-<5 random>: the hash is 1 to 10 characters of
// Kubernetes' "safe" alphabet (no vowels, no 0/1/3), almost always 6 or more; StatefulSet pods are d-<n>,
// local pods d-<n>. PromQL anchors the regex: the capture is the name without "-<hash>-<id>" or "-<id>".
inline constexpr std::string_view kPodTemplateHashAlphabet = "bcdfghjklmnpqrstvwxz2456789";
inline constexpr std::string_view kDeploymentRegex = "(.+?)(?:(?:-[bcdfghjklmnpqrstvwxz2456789]{6,10})?-[^-]+)?";
// What kDeploymentRegex captures from a pod name (the grouper applies it to the pods the host lists).
std::string_view deployment_of_pod(std::string_view pod);

// Escapes a label value for a double-quoted PromQL string: \ -> \\, " -> \", newline -> \n.
using sdk::escape_label_value;
// Escapes RE2 metacharacters so the value matches literally inside =~ (before escape_label_value).
std::string escape_regex(std::string_view value);
// `label="v"` for one value, `label=~"a|b"` (regex-escaped, sorted) for several; "" for none.
std::string label_matcher(std::string_view label, const std::set<std::string>& values);

struct LabelNames {
  std::string ns = "namespace";
  std::string model = "model_name";
  std::string pod = "pod";
};

// Placeholders a template may use.
//   {{selector}}    {namespace=~"..",model_name=~".."}   (model matcher only when few models)
//   {{nsSelector}}  {namespace=~".."}                     (for series without the model label)
//   {{by}}          namespace, model_name, pod
//   {{byPod}}       namespace, pod
//   {{byModel}}     namespace, model_name
//   {{modelLabel}}  model_name                            (the configured model label's name)
//   {{window}}      e.g. 1m   (max_over_time window of the saturation signals)
//   {{rateWindow}}  e.g. 1m   (rate / deriv window of the load signals)
//   {{byDeployment}}    namespace, model_name, wva_deployment
//   {{podLabel}}        pod                               (the configured pod label's name)
//   {{deploymentRegex}} kDeploymentRegex
//   {{staleAfter}}      e.g. 120 (staleAfter in seconds: the sampleTime query returns only older samples)
struct TemplateValues {
  std::string selector;
  std::string ns_selector;
  std::string by;
  std::string by_pod;
  std::string window;
  std::string rate_window;
  std::string by_model;
  std::string model_label;
  std::string by_deployment;
  std::string pod_label;
  std::string deployment_regex;
  std::string stale_after = "120";
  std::string ns_matcher;  // namespace=~"..", without braces (not a placeholder)
};

inline constexpr std::array<std::string_view, 12> kPlaceholders = {
    "{{selector}}", "{{nsSelector}}", "{{by}}",           "{{byPod}}",    "{{byModel}}",         "{{modelLabel}}",
    "{{window}}",   "{{rateWindow}}", "{{byDeployment}}", "{{podLabel}}", "{{deploymentRegex}}", "{{staleAfter}}"};

// Replaces the placeholders. Returns nullopt and the offending text in *unknown when the template holds
// a "{{...}}" that is not a known placeholder.
std::optional<std::string> render_template(std::string_view tmpl, const TemplateValues& values,
                                           std::string* unknown = nullptr);

TemplateValues make_template_values(const LabelNames& labels, const std::set<std::string>& namespaces,
                                    const std::set<std::string>& models, std::size_t model_matcher_limit,
                                    const std::string& window, const std::string& rate_window,
                                    std::chrono::milliseconds stale_after = std::chrono::milliseconds(120000));

// Recording rules (the chart's PrometheusRule): the recorded series of a signal ("" when it has none),
// the template that reads it, and the rule's expression (the default template, default labels, no
// selector, 1m windows).
std::string_view recorded_metric(Signal s);
std::string recorded_template(Signal s);
std::string recording_rule_expr(Signal s);
// Which recorded series exist in the namespaces: one series per recorded metric name, at most 14.
std::string recorded_probe_query(const std::string& ns_matcher);

struct PlannedQuery {
  std::string promql;
  SignalGroup group = SignalGroup::kReplicas;
  std::optional<Signal> single;  // set when the query holds one signal untagged (batching off)
};

// The queries of one cycle: with batching, one per group, each an `or` of label_replace-tagged signals;
// without, one per enabled signal. Empty templates are disabled signals.
std::vector<PlannedQuery> plan_queries(const std::array<std::string, kSignalCount>& templates,
                                       const TemplateValues& values, bool batch);

}  // namespace wva::prometheus
