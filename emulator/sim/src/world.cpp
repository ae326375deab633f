#include "world.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace wva::emulator {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

// The bucket (index into bounds, or bounds' size: +Inf) of a Prometheus histogram an observation falls in.
template <std::size_t N>
std::size_t bucket_of(const double (&bounds)[N], double value) {
  return static_cast<std::size_t>(std::lower_bound(std::begin(bounds), std::end(bounds), value) - std::begin(bounds));
}

// Per-bucket counts between two cumulative snapshots as the histogram's _bucket series read over them:
// cumulative by upper bound (+Inf last), per second.
template <std::size_t N>
std::vector<std::pair<double, double>> bucket_rates(const double (&bounds)[N], const std::array<double, N + 1>& now,
                                                    const std::array<double, N + 1>& before, double dt) {
  std::vector<std::pair<double, double>> out;
  out.reserve(N + 1);
  double cumulative = 0;
  for (std::size_t i = 0; i <= N; ++i) {
    cumulative += (now[i] - before[i]) / dt;
    out.emplace_back(i < N ? bounds[i] : kInf, cumulative);
  }
  return out;
}
}  // namespace

const char* to_string(PodState s) {
  switch (s) {
    case PodState::kStarting: return "Starting";
    case PodState::kReady: return "Ready";
    case PodState::kTerminating: return "Terminating";
    case PodState::kGone: return "Gone";
  }
  return "?";
}

std::optional<double> percentile(std::vector<float> values, double p) {
  if (values.empty()) return std::nullopt;
  const double pos = std::clamp(p, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const auto k = static_cast<std::size_t>(std::floor(pos));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  double lo = values[k];
  if (k + 1 < values.size() && pos > static_cast<double>(k)) {
    const double hi = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(k) + 1, values.end());
    lo += (hi - lo) * (pos - static_cast<double>(k));
  }
  return lo;
}

World::World(WorldConfig config) : config_(std::move(config)) {
  const std::size_t nv = config_.variants.size();
  variant_model_.assign(nv, std::nullopt);
  spec_.assign(nv, 0);
  variant_flows_.assign(nv, FlowCounters{});
  replica_changes_.assign(nv, 0);
  max_pods_.assign(nv, 0);
  gpu_seconds_closed_.assign(nv, 0);
  hpa_metric_.assign(nv, std::nullopt);
  hpa_.resize(nv);

  auto model_index = [&](const std::string& ns, const std::string& model) {
    for (std::size_t i = 0; i < models_.size(); ++i)
      if (models_[i].ns == ns && models_[i].model == model) return i;
    models_.emplace_back();
    models_.back().ns = ns;
    models_.back().model = model;
    models_.back().totals.ns = ns;
    models_.back().totals.model = model;
    return models_.size() - 1;
  };
  for (std::size_t v = 0; v < nv; ++v) {
    const auto m = model_index(config_.variants[v].ns, config_.variants[v].model);
    variant_model_[v] = m;
    models_[m].variants.push_back(v);
    if (config_.hpa_enabled) hpa_[v] = std::make_unique<Hpa>(config_.variants[v].hpa);
  }
  for (const auto& w : config_.workloads) {
    const auto m = model_index(w.ns, w.model);
    if (w.slo_ttft_ms) models_[m].slo_ttft_ms = w.slo_ttft_ms;
    if (w.slo_itl_ms) models_[m].slo_itl_ms = w.slo_itl_ms;
    Stream s{m, w.make_stream ? w.make_stream() : nullptr, std::nullopt};
    if (s.stream) s.pending = s.stream->next();
    streams_.push_back(std::move(s));
  }
  // The fleet starts warm: the initial replicas are ready at time 0.
  for (std::size_t v = 0; v < nv; ++v) {
    spec_[v] = std::max(0, config_.variants[v].initial_replicas);
    for (int i = 0; i < spec_[v]; ++i) {
      create_pod(v);
      make_ready(pods_.size() - 1);
    }
  }
  take_sample();
  if (config_.hpa_enabled) push(config_.hpa_sync_period_s, kHpaTick, 0);
}

World::~World() = default;

void World::push(double t, Kind kind, std::uint32_t target, std::uint64_t tag) {
  events_.push(Event{t, seq_++, kind, target, tag});
}

double World::next_event_time() const {
  double t = events_.empty() ? kInf : events_.top().t;
  for (const auto& s : streams_)
    if (s.pending) t = std::min(t, s.pending->t);
  return t;
}

void World::advance_to(double t) {
  for (;;) {
    const double t_ev = events_.empty() ? kInf : events_.top().t;
    double t_arr = kInf;
    std::size_t which = 0;
    for (std::size_t i = 0; i < streams_.size(); ++i)
      if (streams_[i].pending && streams_[i].pending->t < t_arr) t_arr = streams_[i].pending->t, which = i;
    if (std::min(t_ev, t_arr) > t) break;
    if (t_arr < t_ev) {
      now_ = std::max(now_, t_arr);
      Arrival a = *streams_[which].pending;
      streams_[which].pending = streams_[which].stream->next();
      arrive(streams_[which].model, a, 0);
    } else {
      const Event e = events_.top();
      events_.pop();
      now_ = std::max(now_, e.t);
      handle(e);
    }
  }
  now_ = std::max(now_, t);
}

void World::handle(const Event& e) {
  switch (e.kind) {
    case kStepEnd: {
      Pod& pod = pods_[e.target];
      if (pod.state == PodState::kGone || !pod.replica->in_step() || pod.replica->step_end() != e.t) return;
      finished_buf_.clear();
      const PodCounters& c = pod.replica->counters();
      const auto prompt0 = c.prompt_tokens, gen0 = c.generation_tokens;
      pod.replica->finish_step(finished_buf_);
      FlowCounters& flow = variant_flows_[pod.variant];
      flow.prompt_tokens_computed += static_cast<double>(c.prompt_tokens - prompt0);
      flow.generation_tokens += static_cast<double>(c.generation_tokens - gen0);
      ++steps_;
      for (auto id : finished_buf_) complete(id);
      if (pod.state == PodState::kTerminating && !pod.replica->has_work()) gone(e.target);
      else start_step(e.target);
      return;
    }
    case kPodReady:
      if (pods_[e.target].state == PodState::kStarting) make_ready(e.target);
      return;
    case kPodDeadline: {
      Pod& pod = pods_[e.target];
      if (pod.state != PodState::kTerminating) return;
      std::vector<std::uint32_t> dropped;
      pod.replica->drop_all(dropped);
      for (auto id : dropped) fail(id, "dropped_on_termination");
      gone(e.target);
      return;
    }
    case kRouterTimeout: {
      ModelState& ms = models_[e.target];
      while (!ms.router_queue.empty() &&
             pool_[ms.router_queue.front()].arrival + config_.router.queue_timeout_s <= now_ + 1e-9) {
        const auto id = ms.router_queue.front();
        ms.router_queue.pop_front();
        fail(id, "router_timeout");
      }
      return;
    }
    case kHpaTick: hpa_tick(); return;
    case kSample: take_sample(); return;
    case kClientTtftTimeout:
    case kClientTimeout: {
      const Request& r = pool_[e.target];
      if (r.serial != e.tag || r.cancelled) return;  // finished (slot released or reused) or already leaving
      if (e.kind == kClientTtftTimeout && r.first_token >= 0) return;
      client_gives_up(e.target);
      return;
    }
  }
}

void World::arrive(std::size_t model, const Arrival& a, std::uint64_t external_id) {
  ModelState& ms = models_[model];
  const std::uint32_t id = pool_.acquire();
  Request& r = pool_[id];
  r.arrival = now_;
  r.prompt = std::max<std::int32_t>(a.prompt, 1);
  r.output = std::max<std::int32_t>(a.output, 1);
  r.blocks = a.blocks;
  r.source = static_cast<std::uint32_t>(model);
  r.serial = ++serial_;
  r.external_id = external_id;
  ++ms.totals.requests;
  ms.arrivals_total += 1;
  if (external_id) external_live_[external_id] = id;
  if (config_.client.ttft_timeout_s)
    push(now_ + *config_.client.ttft_timeout_s, kClientTtftTimeout, id, pool_[id].serial);
  if (config_.client.request_timeout_s)
    push(now_ + *config_.client.request_timeout_s, kClientTimeout, id, pool_[id].serial);
  if (route(model, id)) return;
  if (ms.router_queue.size() >= config_.router.max_queue) {
    fail(id, "router_queue_full");
    return;
  }
  pool_[id].queued = true;
  ms.queue_flow.arrivals += 1;
  ms.queue_flow.arrival_prompt_tokens += pool_[id].prompt;
  ms.queue_flow.arrival_output_tokens += pool_[id].output;
  ms.router_queue.push_back(id);
  push(now_ + config_.router.queue_timeout_s, kRouterTimeout, static_cast<std::uint32_t>(model));
}

bool World::route(std::size_t model, std::uint32_t request) {
  ModelState& ms = models_[model];
  if (ms.ready_pods.empty()) return false;
  const Request& r = pool_[request];
  const double need = static_cast<double>(r.prompt) + r.output;
  const std::size_t n = ms.ready_pods.size();
  std::optional<std::size_t> best;
  double best_score = kInf;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t pod = ms.ready_pods[(ms.rr + k) % n];
    const Replica& rep = *pods_[pod].replica;
    if (rep.kv_pool_tokens() < need) continue;  // longer than this pod's max model length
    if (config_.router.policy == RouterConfig::Policy::kRoundRobin) {
      best = pod;
      break;
    }
    // Prefix-aware: the prompt tokens a pod has cached are work it need not do, counted in the same unit
    // as its outstanding prefill (one step's token budget).
    double score = rep.outstanding();
    if (config_.router.policy == RouterConfig::Policy::kPrefixAware)
      score -= static_cast<double>(rep.cached_prefix_tokens(r)) / rep.engine().max_num_batched_tokens;
    if (score < best_score) best_score = score, best = pod;
  }
  ms.rr = (ms.rr + 1) % n;
  if (!best) {
    fail(request, "too_long");
    return true;
  }
  dispatch(*best, request);
  return true;
}

void World::dispatch(std::size_t pod, std::uint32_t request) {
  Request& r = pool_[request];
  r.pod = static_cast<std::int32_t>(pod);
  if (!r.queued) {
    FlowCounters& f = variant_flows_[pods_[pod].variant];
    f.arrivals += 1;
    f.arrival_prompt_tokens += r.prompt;
    f.arrival_output_tokens += r.output;
  }
  pods_[pod].replica->enqueue(request, now_);
  if (!pods_[pod].replica->in_step()) start_step(pod);
}

void World::start_step(std::size_t pod) {
  Replica& rep = *pods_[pod].replica;
  const auto end = rep.start_step(now_);
  cancelled_buf_.clear();
  rep.take_cancelled(cancelled_buf_);
  for (auto id : cancelled_buf_) fail(id, "client_timeout");
  if (end) push(*end, kStepEnd, static_cast<std::uint32_t>(pod));
}

void World::client_gives_up(std::uint32_t request) {
  Request& r = pool_[request];
  if (r.pod < 0) {  // still at the router
    ModelState& ms = models_[r.source];
    ms.router_queue.erase(std::remove(ms.router_queue.begin(), ms.router_queue.end(), request), ms.router_queue.end());
    fail(request, "client_timeout");
    return;
  }
  const auto pod = static_cast<std::size_t>(r.pod);
  r.cancelled = true;
  pods_[pod].replica->note_cancelled();
  if (!pods_[pod].replica->in_step()) start_step(pod);
}

void World::complete(std::uint32_t request) {
  const Request& r = pool_[request];
  ModelState& ms = models_[r.source];
  const std::size_t v = pods_[static_cast<std::size_t>(r.pod)].variant;
  const double ttft_ms = (r.first_token - r.arrival) * 1000.0;
  const double e2e_ms = (r.finished - r.arrival) * 1000.0;
  std::optional<double> itl_ms;
  if (r.generated > 1) itl_ms = (r.finished - r.first_token) * 1000.0 / (r.generated - 1);
  FlowCounters& f = variant_flows_[v];
  f.completed += 1;
  f.completed_prompt_tokens += r.prompt;
  f.completed_prompt_buckets[bucket_of(kTokenBuckets, static_cast<double>(r.prompt))] += 1;
  f.completed_output_tokens += r.generated;
  f.ttft_ms_sum += ttft_ms;
  if (itl_ms) {
    f.itl_ms_sum += *itl_ms, f.itl_count += 1;
    f.completed_tpot_buckets[bucket_of(kItlBuckets, *itl_ms / 1000.0)] += 1;
  }
  ++ms.totals.completed;
  ms.completions_total += 1;
  ms.ttft_ms.push_back(static_cast<float>(ttft_ms));
  ms.e2e_ms.push_back(static_cast<float>(e2e_ms));
  ms.window_ttft_ms.push_back(static_cast<float>(ttft_ms));
  if (itl_ms) {
    ms.itl_ms.push_back(static_cast<float>(*itl_ms));
    ms.window_itl_ms.push_back(static_cast<float>(*itl_ms));
  }
  const bool ttft_ok = !ms.slo_ttft_ms || ttft_ms <= *ms.slo_ttft_ms;
  const bool itl_ok = !ms.slo_itl_ms || !itl_ms || *itl_ms <= *ms.slo_itl_ms;
  if (ttft_ok && itl_ok) ++ms.slo_met;
  if (!ttft_ok) ++ms.totals.ttft_misses;
  if (!itl_ok) ++ms.totals.itl_misses;
  if (r.external_id) {
    ExternalStatus st;
    st.done = true;
    st.generated = r.generated;
    st.prompt = r.prompt;
    st.arrival = r.arrival;
    st.first_token = r.first_token;
    st.finished = r.finished;
    external_done_[r.external_id] = st;
    external_live_.erase(r.external_id);
  }
  pool_[request].serial = 0;  // pending client timeouts of this slot are void
  pool_.release(request);
}

void World::fail(std::uint32_t request, const char* reason) {
  const Request& r = pool_[request];
  ModelState& ms = models_[r.source];
  ++ms.totals.failed;
  ++ms.totals.failures[reason];
  if (r.pod >= 0) variant_flows_[pods_[static_cast<std::size_t>(r.pod)].variant].failed += 1;
  else ms.queue_flow.failed += 1;
  if (r.external_id) {
    ExternalStatus st;
    st.done = true;
    st.failed = true;
    st.failure = reason;
    st.generated = r.generated;
    st.prompt = r.prompt;
    st.arrival = r.arrival;
    st.first_token = r.first_token;
    external_done_[r.external_id] = st;
    external_live_.erase(r.external_id);
  }
  pool_[request].serial = 0;
  pool_.release(request);
}

void World::create_pod(std::size_t variant) {
  const VariantSpec& spec = config_.variants[variant];
  std::set<std::string> used;
  for (const auto& p : pods_)
    if (p.variant == variant && p.state != PodState::kGone) used.insert(p.name);
  std::string name;
  for (int i = 0;; ++i) {
    name = spec.name + "-" + std::to_string(i);
    if (!used.count(name)) break;
  }
  Pod pod;
  pod.name = std::move(name);
  pod.variant = variant;
  pod.state = PodState::kStarting;
  pod.created = now_;
  pod.replica = std::make_unique<Replica>(spec.engine, pool_);
  pods_.push_back(std::move(pod));
  const std::size_t index = pods_.size() - 1;
  int alive = 0;
  for (const auto& p : pods_)
    if (p.variant == variant && p.state != PodState::kGone) ++alive;
  max_pods_[variant] = std::max(max_pods_[variant], alive);
  if (spec.startup_s > 0) push(now_ + spec.startup_s, kPodReady, static_cast<std::uint32_t>(index));
  else make_ready(index);
}

void World::make_ready(std::size_t pod) {
  Pod& p = pods_[pod];
  if (p.state != PodState::kStarting) return;
  p.state = PodState::kReady;
  p.ready_at = now_;
  const auto m = variant_model_[p.variant];
  if (!m) return;
  ModelState& ms = models_[*m];
  ms.ready_pods.push_back(pod);
  while (!ms.router_queue.empty() && !ms.ready_pods.empty()) {
    const auto id = ms.router_queue.front();
    ms.router_queue.pop_front();
    route(*m, id);
  }
}

void World::terminate(std::size_t pod) {
  Pod& p = pods_[pod];
  if (p.state == PodState::kStarting) {
    gone(pod);
    return;
  }
  if (p.state != PodState::kReady) return;
  if (const auto m = variant_model_[p.variant]) {
    auto& ready = models_[*m].ready_pods;
    ready.erase(std::remove(ready.begin(), ready.end(), pod), ready.end());
    if (!ready.empty()) models_[*m].rr %= ready.size();
  }
  p.state = PodState::kTerminating;
  if (p.replica->has_work())
    push(now_ + config_.variants[p.variant].grace_s, kPodDeadline, static_cast<std::uint32_t>(pod));
  else gone(pod);
}

void World::gone(std::size_t pod) {
  Pod& p = pods_[pod];
  if (p.state == PodState::kGone) return;
  if (p.state == PodState::kReady) {
    if (const auto m = variant_model_[p.variant]) {
      auto& ready = models_[*m].ready_pods;
      ready.erase(std::remove(ready.begin(), ready.end(), pod), ready.end());
    }
  }
  p.state = PodState::kGone;
  p.gone_at = now_;
  gpu_seconds_closed_[p.variant] += (now_ - p.created) * config_.variants[p.variant].gpus_per_replica;
}

void World::reconcile(std::size_t variant) {
  std::vector<std::size_t> starting, ready;
  for (std::size_t i = 0; i < pods_.size(); ++i) {
    if (pods_[i].variant != variant) continue;
    if (pods_[i].state == PodState::kStarting) starting.push_back(i);
    if (pods_[i].state == PodState::kReady) ready.push_back(i);
  }
  int alive = static_cast<int>(starting.size() + ready.size());
  const int want = spec_[variant];
  while (alive < want) {
    create_pod(variant);
    ++alive;
  }
  // Scale down like a ReplicaSet: not-ready pods first, then the newest ready ones.
  while (alive > want && !starting.empty()) {
    terminate(starting.back());
    starting.pop_back();
    --alive;
  }
  while (alive > want && !ready.empty()) {
    terminate(ready.back());
    ready.pop_back();
    --alive;
  }
}

void World::set_replicas(std::size_t variant, int replicas) {
  replicas = std::max(0, replicas);
  if (replicas == spec_[variant]) return;
  ++replica_changes_[variant];
  spec_[variant] = replicas;
  reconcile(variant);
}

void World::set_hpa_metric(std::size_t variant, std::optional<double> desired) { hpa_metric_[variant] = desired; }

void World::hpa_tick() {
  for (std::size_t v = 0; v < hpa_.size(); ++v) {
    if (!hpa_[v] || !hpa_metric_[v]) continue;
    const int n = hpa_[v]->sync(now_, spec_[v], *hpa_metric_[v]);
    if (n != spec_[v]) {
      set_replicas(v, n);
      if (on_hpa_scale) on_hpa_scale(v, n);
    }
  }
  push(now_ + config_.hpa_sync_period_s, kHpaTick, 0);
}

void World::take_sample() {
  Sample s;
  s.t = now_;
  const double dt = samples_.empty() ? 0 : now_ - samples_.back().t;
  s.models.resize(models_.size());
  for (std::size_t m = 0; m < models_.size(); ++m) {
    ModelState& ms = models_[m];
    ModelSample& out = s.models[m];
    if (dt > 0) {
      out.arrival_rate = (ms.arrivals_total - ms.arrivals_at_sample) / dt;
      out.completion_rate = (ms.completions_total - ms.completions_at_sample) / dt;
    }
    ms.arrivals_at_sample = ms.arrivals_total;
    ms.completions_at_sample = ms.completions_total;
    out.router_queue = static_cast<int>(ms.router_queue.size());
    double kv_sum = 0, kv_max = 0;
    int kv_n = 0;
    for (const auto& p : pods_) {
      if (p.state != PodState::kReady && p.state != PodState::kTerminating) continue;
      if (variant_model_[p.variant] != m) continue;
      out.waiting += p.replica->waiting();
      out.running += p.replica->running();
      if (p.state == PodState::kReady) {
        kv_sum += p.replica->kv_usage();
        kv_max = std::max(kv_max, p.replica->kv_usage());
        ++kv_n;
      }
    }
    if (kv_n > 0) out.kv_usage_mean = kv_sum / kv_n, out.kv_usage_max = kv_max;
    out.ttft_p99_ms = percentile(ms.window_ttft_ms, 0.99);
    out.itl_p99_ms = percentile(ms.window_itl_ms, 0.99);
    ms.window_ttft_ms.clear();
    ms.window_itl_ms.clear();
    ms.totals.peak_waiting = std::max(ms.totals.peak_waiting, out.router_queue + out.waiting);
  }
  s.variants.resize(config_.variants.size());
  for (const auto& p : pods_) {
    if (p.state == PodState::kGone) continue;
    VariantSample& vs = s.variants[p.variant];
    ++vs.pods;
    if (p.state == PodState::kReady) ++vs.ready;
  }
  for (std::size_t v = 0; v < s.variants.size(); ++v) {
    s.variants[v].spec_replicas = spec_[v];
    const auto& spec = config_.variants[v];
    s.variants[v].cost_rate_per_hour = s.variants[v].pods * spec.gpus_per_replica * spec.cost_per_gpu_hour.value_or(0);
  }
  s.variant_flows = variant_flows_;
  s.queue_flows.reserve(models_.size());
  for (const auto& ms : models_) s.queue_flows.push_back(ms.queue_flow);
  samples_.push_back(std::move(s));
  push(now_ + config_.sample_period_s, kSample, 0);
}

std::optional<std::size_t> World::find_variant(const std::string& ns, const std::string& name) const {
  for (std::size_t v = 0; v < config_.variants.size(); ++v)
    if (config_.variants[v].name == name && (ns.empty() || config_.variants[v].ns == ns)) return v;
  return std::nullopt;
}

int World::router_queue(std::size_t model) const { return static_cast<int>(models_[model].router_queue.size()); }

std::vector<std::pair<std::string, std::string>> World::models() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : models_) out.emplace_back(m.ns, m.model);
  return out;
}

World::Load World::variant_load(std::size_t v, double window_s) const {
  Load out;
  const auto m = variant_model_[v];
  if (!m || samples_.empty()) return out;
  // The latest sample at or before now - window (the first sample when the world is younger).
  const double from = now_ - window_s;
  auto it = std::upper_bound(samples_.begin(), samples_.end(), from, [](double t, const Sample& s) { return t < s.t; });
  const Sample& base = it == samples_.begin() ? samples_.front() : *std::prev(it);
  const double dt = now_ - base.t;
  if (dt <= 0) return out;
  const FlowCounters& cur = variant_flows_[v];
  const FlowCounters& old = base.variant_flows[v];
  const FlowCounters& qcur = models_[*m].queue_flow;
  const FlowCounters& qold = base.queue_flows[*m];
  double total_spec = 0;
  for (auto vv : models_[*m].variants) total_spec += spec_[vv];
  const double share = total_spec > 0 ? spec_[v] / total_spec : 1.0 / static_cast<double>(models_[*m].variants.size());
  const double arrivals = (cur.arrivals - old.arrivals) + share * (qcur.arrivals - qold.arrivals);
  out.arrival_rate = arrivals / dt;
  out.prompt_tokens_rate = (cur.prompt_tokens_computed - old.prompt_tokens_computed) / dt;
  out.generation_tokens_rate = (cur.generation_tokens - old.generation_tokens) / dt;
  const double done = cur.completed - old.completed;
  if (done > 0) {
    out.avg_input_tokens = (cur.completed_prompt_tokens - old.completed_prompt_tokens) / done;
    out.prompt_buckets = bucket_rates(kTokenBuckets, cur.completed_prompt_buckets, old.completed_prompt_buckets, dt);
    out.avg_output_tokens = (cur.completed_output_tokens - old.completed_output_tokens) / done;
    out.ttft_ms = (cur.ttft_ms_sum - old.ttft_ms_sum) / done;
    const double itl_n = cur.itl_count - old.itl_count;
    if (itl_n > 0) {
      out.itl_ms = (cur.itl_ms_sum - old.itl_ms_sum) / itl_n;
      out.tpot_buckets = bucket_rates(kItlBuckets, cur.completed_tpot_buckets, old.completed_tpot_buckets, dt);
    }
  } else if (arrivals > 0) {
    const double in = (cur.arrival_prompt_tokens - old.arrival_prompt_tokens) +
                      share * (qcur.arrival_prompt_tokens - qold.arrival_prompt_tokens);
    const double outt = (cur.arrival_output_tokens - old.arrival_output_tokens) +
                        share * (qcur.arrival_output_tokens - qold.arrival_output_tokens);
    out.avg_input_tokens = in / arrivals;
    out.avg_output_tokens = outt / arrivals;
  }
  return out;
}

std::optional<std::uint64_t> World::submit(const std::string& ns, const std::string& model, std::int32_t prompt,
                                           std::int32_t output) {
  for (std::size_t m = 0; m < models_.size(); ++m) {
    if (models_[m].model != model || (!ns.empty() && models_[m].ns != ns)) continue;
    const std::uint64_t id = next_external_++;
    arrive(m, Arrival{now_, prompt, output, {}}, id);
    return id;
  }
  return std::nullopt;
}

std::optional<ExternalStatus> World::external_status(std::uint64_t id) const {
  if (auto it = external_done_.find(id); it != external_done_.end()) return it->second;
  if (auto it = external_live_.find(id); it != external_live_.end()) {
    const Request& r = pool_[it->second];
    ExternalStatus st;
    st.generated = r.generated;
    st.prompt = r.prompt;
    st.arrival = r.arrival;
    st.first_token = r.first_token;
    return st;
  }
  return std::nullopt;
}

void World::forget_external(std::uint64_t id) { external_done_.erase(id); }

double World::mean_e2e_s(std::size_t model) const {
  const auto& v = models_[model].e2e_ms;
  if (v.empty()) return 0;
  double sum = 0;
  for (float x : v) sum += x;
  return sum / static_cast<double>(v.size()) / 1000.0;
}

Summary World::summary() const {
  Summary s;
  s.duration_s = now_;
  for (const auto& ms : models_) {
    ModelSummary out = ms.totals;
    out.unfinished = out.requests - out.completed - out.failed;
    if ((ms.slo_ttft_ms || ms.slo_itl_ms) && out.requests > 0)
      out.slo_attainment = static_cast<double>(ms.slo_met) / static_cast<double>(out.requests);
    out.ttft_p50_ms = percentile(ms.ttft_ms, 0.5);
    out.ttft_p99_ms = percentile(ms.ttft_ms, 0.99);
    out.itl_p50_ms = percentile(ms.itl_ms, 0.5);
    out.itl_p99_ms = percentile(ms.itl_ms, 0.99);
    out.e2e_p50_ms = percentile(ms.e2e_ms, 0.5);
    out.e2e_p99_ms = percentile(ms.e2e_ms, 0.99);
    for (const auto& p : pods_)
      if (variant_model_[p.variant] && &models_[*variant_model_[p.variant]] == &ms) {
        const PodCounters& c = p.replica->counters();
        out.preemptions += c.preemptions;
        out.prefix_cache_queries += c.prefix_cache_queries;
        out.prefix_cache_hits += c.prefix_cache_hits;
      }
    s.models.push_back(std::move(out));
  }
  for (std::size_t v = 0; v < config_.variants.size(); ++v) {
    const auto& spec = config_.variants[v];
    VariantSummary vs;
    vs.ns = spec.ns;
    vs.name = spec.name;
    vs.model = spec.model;
    vs.accelerator = spec.engine.profile.accelerator;
    double gpu_s = gpu_seconds_closed_[v];
    for (const auto& p : pods_)
      if (p.variant == v && p.state != PodState::kGone) gpu_s += (now_ - p.created) * spec.gpus_per_replica;
    vs.gpu_hours = gpu_s / 3600.0;
    if (spec.cost_per_gpu_hour) vs.cost = vs.gpu_hours * *spec.cost_per_gpu_hour;
    vs.replica_changes = replica_changes_[v];
    vs.max_pods = max_pods_[v];
    vs.final_replicas = spec_[v];
    s.variants.push_back(std::move(vs));
  }
  return s;
}

}  // namespace wva::emulator
