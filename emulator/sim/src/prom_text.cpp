#include "prom_text.h"

#include <cmath>
#include <string_view>

#include "wva/sdk/util/prom_writer.h"

namespace wva::emulator {

namespace {

std::string num(double v) { return sdk::prom::format_value(v); }

struct Writer {
  sdk::prom::Writer text;
  void header(const char* name, const char* type, const char* help) { text.header(name, type, help); }
  void sample(std::string_view name, const std::string& labels, double v) { text.sample(name, labels, v); }
  void histogram(const char* name, const std::string& labels, const Histogram& h) {
    std::uint64_t cum = 0;
    const auto& b = h.bounds();
    const auto& c = h.counts();
    const std::string bucket = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < b.size(); ++i) {
      cum += c[i];
      sample(bucket, labels + ",le=\"" + num(b[i]) + "\"", static_cast<double>(cum));
    }
    cum += c.back();
    sample(bucket, labels + ",le=\"+Inf\"", static_cast<double>(cum));
    sample(std::string(name) + "_sum", labels, h.sum());
    sample(std::string(name) + "_count", labels, static_cast<double>(h.count()));
  }
};

}  // namespace

std::string render_vllm_metrics(const World& world) {
  struct Live {
    const Pod* pod;
    std::string labels;
  };
  std::vector<Live> live;
  const auto& variants = world.config().variants;
  for (const auto& p : world.pods()) {
    if (p.state != PodState::kReady && p.state != PodState::kTerminating) continue;
    const auto& v = variants[p.variant];
    live.push_back({&p, "model_name=\"" + sdk::escape_label_value(v.model) + "\",namespace=\"" +
                            sdk::escape_label_value(v.ns) + "\",pod=\"" + sdk::escape_label_value(p.name) + "\""});
  }
  Writer w;
  w.header("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
  for (const auto& l : live) w.sample("vllm:num_requests_running", l.labels, l.pod->replica->running());
  w.header("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
  for (const auto& l : live) w.sample("vllm:num_requests_waiting", l.labels, l.pod->replica->waiting());
  w.header("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
  for (const auto& l : live) w.sample("vllm:kv_cache_usage_perc", l.labels, l.pod->replica->kv_usage());
  w.header("vllm:request_success_total", "counter", "Count of successfully processed requests.");
  for (const auto& l : live)
    w.sample("vllm:request_success_total", l.labels + ",finished_reason=\"length\"",
             static_cast<double>(l.pod->replica->counters().request_success));
  w.header("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
  for (const auto& l : live)
    w.sample("vllm:prompt_tokens_total", l.labels, static_cast<double>(l.pod->replica->counters().prompt_tokens));
  w.header("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.");
  for (const auto& l : live)
    w.sample("vllm:generation_tokens_total", l.labels,
             static_cast<double>(l.pod->replica->counters().generation_tokens));
  w.header("vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the engine.");
  for (const auto& l : live)
    w.sample("vllm:num_preemptions_total", l.labels, static_cast<double>(l.pod->replica->counters().preemptions));
  w.header("vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in terms of number of queried tokens.");
  for (const auto& l : live)
    w.sample("vllm:prefix_cache_queries_total", l.labels,
             static_cast<double>(l.pod->replica->counters().prefix_cache_queries));
  w.header("vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.");
  for (const auto& l : live)
    w.sample("vllm:prefix_cache_hits_total", l.labels,
             static_cast<double>(l.pod->replica->counters().prefix_cache_hits));
  w.header("vllm:time_to_first_token_seconds", "histogram", "Histogram of time to first token in seconds.");
  for (const auto& l : live) w.histogram("vllm:time_to_first_token_seconds", l.labels, l.pod->replica->counters().ttft);
  w.header("vllm:inter_token_latency_seconds", "histogram", "Histogram of inter-token latency in seconds.");
  for (const auto& l : live) w.histogram("vllm:inter_token_latency_seconds", l.labels, l.pod->replica->counters().itl);
  w.header("vllm:request_time_per_output_token_seconds", "histogram",
           "Histogram of time_per_output_token_seconds per request.");
  for (const auto& l : live)
    w.histogram("vllm:request_time_per_output_token_seconds", l.labels, l.pod->replica->counters().request_tpot);
  w.header("vllm:e2e_request_latency_seconds", "histogram", "Histogram of e2e request latency in seconds.");
  for (const auto& l : live) w.histogram("vllm:e2e_request_latency_seconds", l.labels, l.pod->replica->counters().e2e);
  w.header("vllm:request_prompt_tokens", "histogram", "Number of prefill tokens processed.");
  for (const auto& l : live)
    w.histogram("vllm:request_prompt_tokens", l.labels, l.pod->replica->counters().prompt_hist);
  w.header("vllm:request_generation_tokens", "histogram", "Number of generation tokens processed.");
  for (const auto& l : live)
    w.histogram("vllm:request_generation_tokens", l.labels, l.pod->replica->counters().generation_hist);
  w.header("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig.");
  for (const auto& l : live) {
    const auto& e = l.pod->replica->engine();
    const double blocks = std::floor(l.pod->replica->kv_pool_tokens() / e.block_size);
    w.sample("vllm:cache_config_info",
             "namespace=\"" + sdk::escape_label_value(variants[l.pod->variant].ns) + "\",pod=\"" +
                 sdk::escape_label_value(l.pod->name) + "\",block_size=\"" + std::to_string(e.block_size) +
                 "\",num_gpu_blocks=\"" + num(blocks) +
                 "\",gpu_memory_utilization=\"0.9\",cache_dtype=\"auto\",enable_prefix_caching=\"False\"",
             1);
  }
  return w.text.take();
}

}  // namespace wva::emulator
