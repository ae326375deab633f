#include "promql.h"

namespace wva::prometheus {
namespace {

struct SignalInfo {
  Signal signal;
  std::string_view name;
  SignalGroup group;
  std::string tmpl;
};

// `sum by (namespace, model, wva_deployment)` of a per-pod expression, the Deployment derived from the pod
// name by label_replace: the analyzers need these signals per variant, and a sum per Deployment is one
// series where the pods were `replicas` (the grouper adds the same sums otherwise). `also_by` keeps another
// label apart, e.g. a histogram's `le`: one series per Deployment and bucket.
std::string per_deployment(std::string_view expr, std::string_view also_by = {}) {
  std::string by = "{{byDeployment}}";
  if (!also_by.empty()) by += ", " + std::string(also_by);
  return "sum by (" + by + ") (label_replace(" + std::string(expr) + ", \"" + std::string(kDeploymentLabel) +
         "\", \"$1\", \"{{podLabel}}\", \"{{deploymentRegex}}\"))";
}

const std::array<SignalInfo, kSignalCount>& signal_table() {
  static const std::array<SignalInfo, kSignalCount> table = {{
      {Signal::kKvCacheUsage, "kvCacheUsage", SignalGroup::kReplicas,
       // vLLM >= 0.7 name, then the older vllm:gpu_cache_usage_perc.
       "max by ({{by}}) (max_over_time(vllm:kv_cache_usage_perc{{selector}}[{{window}}])) or "
       "max by ({{by}}) (max_over_time(vllm:gpu_cache_usage_perc{{selector}}[{{window}}]))"},
      {Signal::kWaiting, "waiting", SignalGroup::kReplicas,
       "max by ({{by}}) (max_over_time(vllm:num_requests_waiting{{selector}}[{{window}}]))"},
      {Signal::kRunning, "running", SignalGroup::kReplicas, "max by ({{by}}) (vllm:num_requests_running{{selector}})"},
      // Only the pods whose newest sample is older than staleAfter: a fresh pod needs no series (the
      // grouper takes it as fresh, sampled at the evaluation time), so a healthy fleet sends none.
      {Signal::kSampleTime, "sampleTime", SignalGroup::kReplicas,
       "max by ({{by}}) (timestamp(vllm:num_requests_running{{selector}})) < (time() - {{staleAfter}})"},
      {Signal::kKvCapacity, "kvCapacity", SignalGroup::kReplicas,
       "max by ({{byPod}}, num_gpu_blocks, block_size) (vllm:cache_config_info{{nsSelector}})"},
      {Signal::kCompletions, "completions", SignalGroup::kLoad,
       per_deployment("rate(vllm:request_success_total{{selector}}[{{rateWindow}}])")},
      {Signal::kArrivals, "arrivals", SignalGroup::kLoad, ""},
      {Signal::kQueueGrowth, "queueGrowth", SignalGroup::kLoad,
       per_deployment("deriv(vllm:num_requests_waiting{{selector}}[{{rateWindow}}])")},
      {Signal::kPromptTokensSum, "promptTokensSum", SignalGroup::kLoad,
       per_deployment("rate(vllm:request_prompt_tokens_sum{{selector}}[{{rateWindow}}])")},
      {Signal::kPromptTokensCount, "promptTokensCount", SignalGroup::kLoad,
       per_deployment("rate(vllm:request_prompt_tokens_count{{selector}}[{{rateWindow}}])")},
      // The prompt-length histogram's buckets per Deployment (about 18 series each: vLLM's 1-2-5 bounds
      // and +Inf), for the spread of the prompt lengths.
      {Signal::kPromptTokensBucket, "promptTokensBucket", SignalGroup::kLoad,
       per_deployment("rate(vllm:request_prompt_tokens_bucket{{selector}}[{{rateWindow}}])", kBucketLabel)},
      {Signal::kGenerationTokensSum, "generationTokensSum", SignalGroup::kLoad,
       per_deployment("rate(vllm:request_generation_tokens_sum{{selector}}[{{rateWindow}}])")},
      {Signal::kGenerationTokensCount, "generationTokensCount", SignalGroup::kLoad,
       per_deployment("rate(vllm:request_generation_tokens_count{{selector}}[{{rateWindow}}])")},
      {Signal::kTtftSum, "ttftSum", SignalGroup::kLoad,
       per_deployment("rate(vllm:time_to_first_token_seconds_sum{{selector}}[{{rateWindow}}])")},
      {Signal::kTtftCount, "ttftCount", SignalGroup::kLoad,
       per_deployment("rate(vllm:time_to_first_token_seconds_count{{selector}}[{{rateWindow}}])")},
      {Signal::kItlSum, "itlSum", SignalGroup::kLoad,
       // vLLM V1 name, then the older vllm:time_per_output_token_seconds.
       per_deployment("rate(vllm:inter_token_latency_seconds_sum{{selector}}[{{rateWindow}}])") + " or " +
           per_deployment("rate(vllm:time_per_output_token_seconds_sum{{selector}}[{{rateWindow}}])")},
      {Signal::kItlCount, "itlCount", SignalGroup::kLoad,
       // vLLM V1 name, then the older vllm:time_per_output_token_seconds.
       per_deployment("rate(vllm:inter_token_latency_seconds_count{{selector}}[{{rateWindow}}])") + " or " +
           per_deployment("rate(vllm:time_per_output_token_seconds_count{{selector}}[{{rateWindow}}])")},
      // The completed requests' mean time per output token, the histogram's buckets per Deployment (vLLM V1:
      // 19 bounds from 10 ms to 80 s and +Inf), for the share of requests over an ITL SLO.
      {Signal::kRequestTpotBucket, "requestTpotBucket", SignalGroup::kLoad,
       per_deployment("rate(vllm:request_time_per_output_token_seconds_bucket{{selector}}[{{rateWindow}}])",
                      kBucketLabel)},
      {Signal::kRouterQueue, "routerQueue", SignalGroup::kLoad,
       // The llm-d inference gateway (EPP) flow-control queue, by the model the requests target.
       "sum by ({{byModel}}) (label_replace(inference_extension_flow_control_queue_size{{nsSelector}}, "
       "\"{{modelLabel}}\", \"$1\", \"target_model_name\", \"(.+)\"))"},
  }};
  return table;
}

const SignalInfo& info(Signal s) { return signal_table()[static_cast<std::size_t>(s)]; }

// The series the chart's recording rules record (charts/workload-variant-autoscaler/templates/
// prometheusrule.yaml): each is the default template with the default labels, no selector and 1m windows.
struct RecordedInfo {
  Signal signal;
  std::string_view metric;
};
constexpr std::array<RecordedInfo, 14> kRecorded = {{
    {Signal::kKvCacheUsage, "wva:vllm_kv_cache_usage:max1m"},
    {Signal::kWaiting, "wva:vllm_num_requests_waiting:max1m"},
    {Signal::kCompletions, "wva:vllm_request_success:rate1m"},
    {Signal::kQueueGrowth, "wva:vllm_num_requests_waiting:deriv1m"},
    {Signal::kPromptTokensSum, "wva:vllm_request_prompt_tokens_sum:rate1m"},
    {Signal::kPromptTokensCount, "wva:vllm_request_prompt_tokens_count:rate1m"},
    {Signal::kPromptTokensBucket, "wva:vllm_request_prompt_tokens_bucket:rate1m"},
    {Signal::kRequestTpotBucket, "wva:vllm_request_time_per_output_token_seconds_bucket:rate1m"},
    {Signal::kGenerationTokensSum, "wva:vllm_request_generation_tokens_sum:rate1m"},
    {Signal::kGenerationTokensCount, "wva:vllm_request_generation_tokens_count:rate1m"},
    {Signal::kTtftSum, "wva:vllm_time_to_first_token_seconds_sum:rate1m"},
    {Signal::kTtftCount, "wva:vllm_time_to_first_token_seconds_count:rate1m"},
    {Signal::kItlSum, "wva:vllm_inter_token_latency_seconds_sum:rate1m"},
    {Signal::kItlCount, "wva:vllm_inter_token_latency_seconds_count:rate1m"},
}};

}  // namespace

std::string_view recorded_metric(Signal s) {
  for (const auto& r : kRecorded)
    if (r.signal == s) return r.metric;
  return {};
}

std::string recorded_template(Signal s) {
  const std::string_view metric = recorded_metric(s);
  if (metric.empty()) return {};
  // The recorded series carry exactly the labels of the raw query's result; the aggregation keeps the
  // result's shape whatever else a ruler adds (e.g. Thanos ruler's external labels).
  if (signal_group(s) == SignalGroup::kReplicas) return "max by ({{by}}) (" + std::string(metric) + "{{selector}})";
  if (is_bucket_signal(s))  // one series per Deployment and bucket
    return "sum by ({{byDeployment}}, " + std::string(kBucketLabel) + ") (" + std::string(metric) + "{{selector}})";
  return "sum by ({{byDeployment}}) (" + std::string(metric) + "{{selector}})";
}

std::string recording_rule_expr(Signal s) {
  TemplateValues v = make_template_values(LabelNames{}, {}, {}, 0, "1m", "1m");
  v.selector.clear();
  v.ns_selector.clear();
  return render_template(default_template(s), v).value_or(std::string());
}

std::string recorded_probe_query(const std::string& ns_matcher) {
  return "count by (__name__) ({__name__=~\"wva:vllm_.+\"" + (ns_matcher.empty() ? "" : "," + ns_matcher) + "})";
}

std::string_view signal_name(Signal s) { return info(s).name; }
SignalGroup signal_group(Signal s) { return info(s).group; }
const std::string& default_template(Signal s) { return info(s).tmpl; }

std::optional<Signal> signal_from_name(std::string_view name) {
  // Called for every series of a batched response: the length and first letter rule out most names
  // before a comparison.
  if (name.empty()) return std::nullopt;
  for (const auto& i : signal_table())
    if (i.name.size() == name.size() && i.name[0] == name[0] && i.name == name) return i.signal;
  return std::nullopt;
}

std::vector<std::string> signal_names() {
  std::vector<std::string> out;
  for (const auto& i : signal_table()) out.emplace_back(i.name);
  return out;
}

std::string escape_regex(std::string_view value) {
  static constexpr std::string_view kMeta = "\\.+*?()|[]{}^$";
  std::string out;
  out.reserve(value.size() + 4);
  for (char c : value) {
    if (kMeta.find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string label_matcher(std::string_view label, const std::set<std::string>& values) {
  if (values.empty()) return {};
  std::string out(label);
  if (values.size() == 1) {
    out += "=\"" + escape_label_value(*values.begin()) + "\"";
    return out;
  }
  out += "=~\"";
  bool first = true;
  for (const auto& v : values) {
    if (!first) out.push_back('|');
    first = false;
    out += escape_label_value(escape_regex(v));
  }
  out.push_back('"');
  return out;
}

std::optional<std::string> render_template(std::string_view tmpl, const TemplateValues& values, std::string* unknown) {
  const std::array<const std::string*, kPlaceholders.size()> repl = {
      &values.selector,         &values.ns_selector, &values.by,          &values.by_pod,        &values.by_model,
      &values.model_label,      &values.window,      &values.rate_window, &values.by_deployment, &values.pod_label,
      &values.deployment_regex, &values.stale_after};
  std::string out;
  out.reserve(tmpl.size() + values.selector.size() * 2);
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const std::size_t open = tmpl.find("{{", i);
    if (open == std::string_view::npos) {
      out.append(tmpl.substr(i));
      break;
    }
    // A run of braces "{{{" is a literal '{' followed by a placeholder: the placeholder starts at the
    // last "{{" of the run.
    std::size_t start = open;
    while (start + 2 < tmpl.size() && tmpl[start + 2] == '{') ++start;
    out.append(tmpl.substr(i, start - i));
    bool matched = false;
    for (std::size_t k = 0; k < kPlaceholders.size(); ++k) {
      if (tmpl.substr(start, kPlaceholders[k].size()) == kPlaceholders[k]) {
        out += *repl[k];
        i = start + kPlaceholders[k].size();
        matched = true;
        break;
      }
    }
    if (!matched) {
      if (unknown) {
        const std::size_t close = tmpl.find("}}", start);
        *unknown = std::string(tmpl.substr(start, close == std::string_view::npos ? 12 : close + 2 - start));
      }
      return std::nullopt;
    }
  }
  return out;
}

TemplateValues make_template_values(const LabelNames& labels, const std::set<std::string>& namespaces,
                                    const std::set<std::string>& models, std::size_t model_matcher_limit,
                                    const std::string& window, const std::string& rate_window,
                                    std::chrono::milliseconds stale_after) {
  TemplateValues v;
  const long long ms = stale_after.count();
  v.stale_after = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);  // three digits
    while (frac.back() == '0') frac.pop_back();
    v.stale_after += "." + frac;
  }
  const std::string ns = label_matcher(labels.ns, namespaces);
  v.ns_matcher = ns;
  std::string sel = ns;
  if (!models.empty() && models.size() <= model_matcher_limit) {
    if (!sel.empty()) sel.push_back(',');
    sel += label_matcher(labels.model, models);
  }
  v.selector = "{" + sel + "}";
  v.ns_selector = "{" + ns + "}";
  v.by = labels.ns + ", " + labels.model + ", " + labels.pod;
  v.by_pod = labels.ns + ", " + labels.pod;
  v.by_model = labels.ns + ", " + labels.model;
  v.model_label = labels.model;
  v.by_deployment = labels.ns + ", " + labels.model + ", " + std::string(kDeploymentLabel);
  v.pod_label = labels.pod;
  v.deployment_regex = std::string(kDeploymentRegex);
  v.window = window;
  v.rate_window = rate_window;
  return v;
}

std::vector<PlannedQuery> plan_queries(const std::array<std::string, kSignalCount>& templates,
                                       const TemplateValues& values, bool batch) {
  std::vector<PlannedQuery> out;
  for (SignalGroup group : {SignalGroup::kReplicas, SignalGroup::kLoad}) {
    PlannedQuery batched;
    batched.group = group;
    for (std::size_t k = 0; k < kSignalCount; ++k) {
      const auto s = static_cast<Signal>(k);
      if (signal_group(s) != group || templates[k].empty()) continue;
      // Templates were validated at configure time; an unknown placeholder cannot remain here.
      std::string expr = render_template(templates[k], values).value_or(std::string());
      if (!batch) {
        out.push_back(PlannedQuery{std::move(expr), group, s});
        continue;
      }
      if (!batched.promql.empty()) batched.promql += " or ";
      batched.promql += "label_replace(" + expr + ", \"" + std::string(kSignalLabel) + "\", \"" +
                        std::string(signal_name(s)) + "\", \"\", \"\")";
    }
    if (batch && !batched.promql.empty()) out.push_back(std::move(batched));
  }
  return out;
}

}  // namespace wva::prometheus

namespace wva::prometheus {

std::string_view deployment_of_pod(std::string_view pod) {
  // The C++ reading of kDeploymentRegex, `(.+?)(?:(?:-H)?-[^-]+)?` anchored, H = 6-10 characters of the
  // pod-template-hash alphabet: the shortest capture for which the rest is "-H-F", "-F" or nothing.
  const std::size_t last = pod.rfind('-');
  if (last == std::string_view::npos || last == 0 || last + 1 == pod.size()) return pod;
  const std::size_t prev = pod.rfind('-', last - 1);
  if (prev != std::string_view::npos && prev > 0) {
    const std::string_view hash = pod.substr(prev + 1, last - prev - 1);
    if (hash.size() >= 6 && hash.size() <= 10 &&
        hash.find_first_not_of(kPodTemplateHashAlphabet) == std::string_view::npos)
      return pod.substr(0, prev);
  }
  return pod.substr(0, last);
}

}  // namespace wva::prometheus
