// The simulated world: fleets of vLLM replicas per variant (Deployment), a router per model, request
// streams, an optional HPA per variant, and the statistics a report needs. Event-driven: time jumps from
// event to event (an engine step, an arrival, a pod becoming ready, ...), so a simulated hour costs
// seconds. Time is in seconds since the world started.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "histogram.h"
#include "hpa.h"
#include "profile.h"
#include "replica.h"
#include "workload.h"

namespace wva::emulator {

struct VariantSpec {
  std::string name;  // Deployment
  std::string ns = "default";
  std::string model;  // model id it serves
  EngineConfig engine;
  int gpus_per_replica = 1;
  std::optional<double> cost_per_gpu_hour;
  double startup_s = 90;  // model load before the pod is ready
  double grace_s = 30;    // terminationGracePeriodSeconds: drain, then drop what is left
  int initial_replicas = 1;
  HpaConfig hpa;
};

struct WorkloadSpec {
  std::string model;
  std::string ns = "default";
  std::function<std::unique_ptr<ArrivalStream>()> make_stream;  // called once per world
  std::string description;                                      // for reports
  std::optional<double> slo_ttft_ms;
  std::optional<double> slo_itl_ms;
};

struct RouterConfig {
  // kPrefixAware: least outstanding work, less the prompt tokens a pod has cached (as llm-d's
  // inference scheduler weighs prefix-cache affinity against load).
  enum class Policy { kLeastOutstanding, kRoundRobin, kPrefixAware };
  Policy policy = Policy::kLeastOutstanding;
  std::size_t max_queue = 10000;  // requests waiting at the router for a ready pod
  double queue_timeout_s = 60;    // then they fail
};

// Clients that give up, as real ones do: a request with no first token after `ttft_timeout_s`, or not
// finished after `request_timeout_s`, is cancelled wherever it is (router queue, pod queue, running; its
// KV is freed at the pod's next step boundary) and counted as failed ("client_timeout"). An overloaded
// fleet sheds load this way and recovers, instead of serving requests whose clients left long ago.
struct ClientConfig {
  std::optional<double> ttft_timeout_s;
  std::optional<double> request_timeout_s;
};

struct WorldConfig {
  std::vector<VariantSpec> variants;
  std::vector<WorkloadSpec> workloads;
  RouterConfig router;
  ClientConfig client;
  double sample_period_s = 5;  // time-series resolution (and the load window's granularity)
  double hpa_sync_period_s = 15;
  bool hpa_enabled = true;
};

enum class PodState { kStarting, kReady, kTerminating, kGone };
const char* to_string(PodState s);

struct Pod {
  std::string name;
  std::size_t variant = 0;
  PodState state = PodState::kStarting;
  double created = 0;
  double ready_at = -1;
  double gone_at = -1;
  std::unique_ptr<Replica> replica;
};

// Cumulative counters of one variant (or of the router's queue for one model).
struct FlowCounters {
  double arrivals = 0;
  double arrival_prompt_tokens = 0;
  double arrival_output_tokens = 0;
  double completed = 0;
  double completed_prompt_tokens = 0;
  double completed_output_tokens = 0;
  double ttft_ms_sum = 0;
  double itl_ms_sum = 0;  // sum over completed requests of their mean ITL
  double itl_count = 0;   // completed requests with >= 2 output tokens
  double failed = 0;
  double prompt_tokens_computed = 0;  // the pods' vllm:prompt_tokens_total
  double generation_tokens = 0;       // the pods' vllm:generation_tokens_total
  // Completed requests by prompt length in vLLM's request_prompt_tokens buckets (per bucket, not
  // cumulative; the last is +Inf): what a source reads the prompts' spread from.
  std::array<double, std::size(kTokenBuckets) + 1> completed_prompt_buckets{};
  // Completed requests (>= 2 output tokens) by their mean time per output token in vLLM's
  // request_time_per_output_token_seconds buckets (per bucket; the last is +Inf): what an ITL SLO is
  // judged on.
  std::array<double, std::size(kItlBuckets) + 1> completed_tpot_buckets{};
};

struct ModelSample {
  double arrival_rate = 0;  // req/s over the sample period
  double completion_rate = 0;
  int router_queue = 0;
  int waiting = 0;  // in pods
  int running = 0;
  std::optional<double> kv_usage_mean;  // over ready pods
  std::optional<double> kv_usage_max;
  std::optional<double> ttft_p99_ms;  // of completions in the sample period
  std::optional<double> itl_p99_ms;
};

struct VariantSample {
  int spec_replicas = 0;
  int pods = 0;  // starting + ready (+ terminating, which still hold a GPU)
  int ready = 0;
  double cost_rate_per_hour = 0;
};

struct Sample {
  double t = 0;
  std::vector<ModelSample> models;
  std::vector<VariantSample> variants;
  std::vector<FlowCounters> variant_flows;  // cumulative, for load windows
  std::vector<FlowCounters> queue_flows;    // per model: arrivals that waited at the router
};

struct ModelSummary {
  std::string ns, model;
  std::uint64_t requests = 0, completed = 0, failed = 0, unfinished = 0;
  std::map<std::string, std::uint64_t> failures;  // reason -> count
  std::optional<double> slo_attainment;           // fraction; unfinished and failed count as misses
  // Completed requests over the TTFT SLO, and over the ITL SLO (their mean time per output token): why
  // the completed ones missed (one can miss both). Counted only for an SLO the model has.
  std::uint64_t ttft_misses = 0, itl_misses = 0;
  std::optional<double> ttft_p50_ms, ttft_p99_ms, itl_p50_ms, itl_p99_ms, e2e_p50_ms, e2e_p99_ms;
  int peak_waiting = 0;  // router queue + pods' waiting, max over samples
  std::uint64_t preemptions = 0;
  // Prompt tokens looked up in the pods' prefix caches and found there (hits need block hashes).
  std::uint64_t prefix_cache_queries = 0, prefix_cache_hits = 0;
};

struct VariantSummary {
  std::string ns, name, model, accelerator;
  double gpu_hours = 0;
  std::optional<double> cost;
  int replica_changes = 0;  // changes of the Deployment's replicas
  int max_pods = 0;
  int final_replicas = 0;
};

struct Summary {
  double duration_s = 0;
  std::vector<ModelSummary> models;
  std::vector<VariantSummary> variants;
};

// Status of a request submitted with submit().
struct ExternalStatus {
  bool done = false;
  bool failed = false;
  std::string failure;
  std::int32_t generated = 0;
  std::int32_t prompt = 0;
  double arrival = 0, first_token = -1, finished = -1;
};

class World {
 public:
  explicit World(WorldConfig config);
  ~World();

  // Runs every event with time <= t, then sets now() = t.
  void advance_to(double t);
  double now() const { return now_; }
  // Time of the next event (arrival, step end, ...), +inf when none.
  double next_event_time() const;

  const WorldConfig& config() const { return config_; }
  std::optional<std::size_t> find_variant(const std::string& ns, const std::string& name) const;

  // The Deployment's replicas (spec). The fleet follows: new pods start, extra ones terminate.
  void set_replicas(std::size_t variant, int replicas);
  int spec_replicas(std::size_t variant) const { return spec_[variant]; }
  // WVA's desired replicas for a variant: the HPA model's metric. nullopt stops the HPA for it.
  void set_hpa_metric(std::size_t variant, std::optional<double> desired);
  // Called when the HPA model changes a Deployment's replicas (the plugin calls cluster().scale()).
  std::function<void(std::size_t variant, int replicas)> on_hpa_scale;

  // A request arriving now (HTTP). Returns its id, or nullopt when the model is unknown.
  std::optional<std::uint64_t> submit(const std::string& ns, const std::string& model, std::int32_t prompt,
                                      std::int32_t output);
  std::optional<ExternalStatus> external_status(std::uint64_t id) const;
  void forget_external(std::uint64_t id);
  // Names of models served (ns, model id).
  std::vector<std::pair<std::string, std::string>> models() const;

  const std::vector<Pod>& pods() const { return pods_; }
  const FlowCounters& variant_flow(std::size_t v) const { return variant_flows_[v]; }
  // Load of a variant over the last `window_s` seconds: arrivals routed to it plus its share of the
  // arrivals waiting at the router (by spec replicas). Token means and latencies from completions in the
  // window (token means from arrivals when nothing completed).
  struct Load {
    std::optional<double> arrival_rate, avg_input_tokens, avg_output_tokens, ttft_ms, itl_ms;
    std::optional<double> prompt_tokens_rate, generation_tokens_rate;
    // The window's completions in vLLM's request_prompt_tokens buckets, cumulative by upper bound (+Inf
    // last), as a rate of the histogram's _bucket series reads; empty when nothing completed.
    std::vector<std::pair<double, double>> prompt_buckets;
    // The same for request_time_per_output_token_seconds (seconds); empty when no request of two or more
    // output tokens completed.
    std::vector<std::pair<double, double>> tpot_buckets;
  };
  Load variant_load(std::size_t variant, double window_s) const;
  int router_queue(std::size_t model) const;
  std::optional<std::size_t> model_of_variant(std::size_t variant) const { return variant_model_[variant]; }

  const std::vector<Sample>& samples() const { return samples_; }
  Summary summary() const;
  std::uint64_t steps() const { return steps_; }
  // Mean end-to-end latency (s) of the completed requests of a model.
  double mean_e2e_s(std::size_t model) const;

 private:
  struct Event {
    double t;
    std::uint64_t seq;
    std::uint8_t kind;
    std::uint32_t target;
    std::uint64_t tag;
    bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  enum Kind : std::uint8_t {
    kStepEnd,
    kPodReady,
    kPodDeadline,
    kRouterTimeout,
    kHpaTick,
    kSample,
    kClientTtftTimeout,
    kClientTimeout
  };

  struct ModelState {
    std::string ns, model;
    std::vector<std::size_t> variants;
    std::vector<std::size_t> ready_pods;  // indexes into pods_
    std::deque<std::uint32_t> router_queue;
    std::size_t rr = 0;
    std::optional<double> slo_ttft_ms, slo_itl_ms;
    ModelSummary totals;
    std::vector<float> ttft_ms, itl_ms, e2e_ms;  // completed requests
    std::vector<float> window_ttft_ms, window_itl_ms;
    std::uint64_t slo_met = 0;
    FlowCounters queue_flow;  // arrivals that waited at the router
    double arrivals_total = 0, completions_total = 0;
    double arrivals_at_sample = 0, completions_at_sample = 0;
  };

  void push(double t, Kind kind, std::uint32_t target, std::uint64_t tag = 0);
  void handle(const Event& e);
  void arrive(std::size_t model, const Arrival& a, std::uint64_t external_id);
  bool route(std::size_t model, std::uint32_t request);
  void dispatch(std::size_t pod, std::uint32_t request);
  void start_step(std::size_t pod);
  void complete(std::uint32_t request);
  void fail(std::uint32_t request, const char* reason);
  void client_gives_up(std::uint32_t request);
  void reconcile(std::size_t variant);
  void create_pod(std::size_t variant);
  void make_ready(std::size_t pod);
  void terminate(std::size_t pod);
  void gone(std::size_t pod);
  void take_sample();
  void hpa_tick();

  WorldConfig config_;
  double now_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t serial_ = 0;
  std::uint64_t steps_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  RequestPool pool_;
  std::vector<Pod> pods_;
  std::vector<ModelState> models_;
  std::vector<std::optional<std::size_t>> variant_model_;
  std::vector<int> spec_;
  std::vector<FlowCounters> variant_flows_;
  std::vector<int> replica_changes_;
  std::vector<int> max_pods_;
  std::vector<double> gpu_seconds_closed_;  // of pods already gone
  std::vector<std::unique_ptr<Hpa>> hpa_;
  std::vector<std::optional<double>> hpa_metric_;
  struct Stream {
    std::size_t model;
    std::unique_ptr<ArrivalStream> stream;
    std::optional<Arrival> pending;
  };
  std::vector<Stream> streams_;
  std::vector<Sample> samples_;
  std::vector<std::uint32_t> finished_buf_;
  std::vector<std::uint32_t> cancelled_buf_;
  std::map<std::uint64_t, std::uint32_t> external_live_;
  std::map<std::uint64_t, ExternalStatus> external_done_;
  std::uint64_t next_external_ = 1;
};

// p in [0,1] of `values` (copied); nullopt when empty.
std::optional<double> percentile(std::vector<float> values, double p);

}  // namespace wva::emulator
