#include "reference_grouper.h"

#include "grouping.h"  // bucket_bound, kMaxBucketBounds
#include "wva/sdk/util/histogram.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace wva::prometheus::reference {
namespace {

constexpr char kSep = '\x1f';

std::size_t idx(Signal s) { return static_cast<std::size_t>(s); }

sdk::TimePoint to_time_point(double seconds) {
  return sdk::TimePoint(std::chrono::duration_cast<sdk::Clock_t::duration>(std::chrono::duration<double>(seconds)));
}

std::optional<double> label_number(const SampleView& s, std::string_view name) {
  const std::string_view* v = s.label(name);
  if (!v) return std::nullopt;
  double out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size() || !std::isfinite(out)) return std::nullopt;
  return out;
}

// Sums of one load signal over a set of pods; nullopt when no pod had the series.
struct LoadSums {
  std::array<double, kSignalCount> sum{};
  std::bitset<kSignalCount> present;

  void add(const std::array<double, kSignalCount>& v, const std::bitset<kSignalCount>& p) {
    for (std::size_t k = idx(Signal::kCompletions); k < kSignalCount; ++k) {
      if (!p[k]) continue;
      sum[k] += v[k];
      present.set(k);
    }
  }
  std::optional<double> get(Signal s) const {
    return present[idx(s)] ? std::optional<double>(sum[idx(s)]) : std::nullopt;
  }
  std::optional<double> ratio(Signal num, Signal den, double scale) const {
    auto n = get(num);
    auto d = get(den);
    if (!n || !d || *d <= 0) return std::nullopt;
    const double r = *n / *d * scale;
    return std::isfinite(r) ? std::optional<double>(r) : std::nullopt;
  }

  sdk::Load to_load() const {
    sdk::Load load;
    if (auto a = get(Signal::kArrivals)) {
      load.arrival_rate = std::max(0.0, *a);
    } else if (auto c = get(Signal::kCompletions)) {
      // Completions under-count arrivals under overload; the queue's growth is the difference.
      load.arrival_rate = std::max(0.0, *c + get(Signal::kQueueGrowth).value_or(0.0));
    }
    load.avg_input_tokens = ratio(Signal::kPromptTokensSum, Signal::kPromptTokensCount, 1.0);
    load.avg_output_tokens = ratio(Signal::kGenerationTokensSum, Signal::kGenerationTokensCount, 1.0);
    load.ttft_ms = ratio(Signal::kTtftSum, Signal::kTtftCount, 1000.0);
    load.itl_ms = ratio(Signal::kItlSum, Signal::kItlCount, 1000.0);
    // Served tokens/s (the completed requests' tokens), from the same queries: the capacity analyzer's
    // throughput observation.
    load.prompt_tokens_rate = get(Signal::kPromptTokensSum);
    load.generation_tokens_rate = get(Signal::kGenerationTokensSum);
    return load;
  }
};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

constexpr std::size_t kInvalidExamples = 3;  // named in a model's message; the rest are counted

std::string join_names(const std::vector<sdk::Variant>& variants) {
  std::string out;
  for (const auto& v : variants) out += (out.empty() ? "" : ", ") + v.name;
  return out.empty() ? "(none)" : out;
}

}  // namespace

std::optional<std::string> domain_violation(Signal signal, double value) {
  switch (signal) {
    case Signal::kKvCacheUsage:
      if (value < 0 || value > 1) return std::string("outside [0, 1]");
      return std::nullopt;
    case Signal::kWaiting:
    case Signal::kRunning:
    case Signal::kRouterQueue:
      if (value < 0) return std::string("negative");
      if (value > kMaxPlausibleCount) return "above " + number(kMaxPlausibleCount);
      return std::nullopt;
    case Signal::kSampleTime:
      if (value < 0) return std::string("negative");
      return std::nullopt;
    case Signal::kQueueGrowth:  // a derivative: negative while the queue drains
      if (std::abs(value) > kMaxPlausibleRate) return "magnitude above " + number(kMaxPlausibleRate);
      return std::nullopt;
    default:  // KV capacity (tokens) and load rates
      if (value < 0) return std::string("negative");
      if (value > kMaxPlausibleRate) return "above " + number(kMaxPlausibleRate);
      return std::nullopt;
  }
}

ReferenceGrouper::ReferenceGrouper(std::span<const sdk::ModelView> models, LabelNames labels, Millis stale_after)
    : models_(models), labels_(std::move(labels)), stale_after_(stale_after), state_(models.size()) {
  model_index_.reserve(models.size() * 2);
  variant_base_.reserve(models.size());
  std::uint32_t variants = 0;
  for (std::uint32_t i = 0; i < models.size(); ++i) {
    const auto& m = models[i];
    model_index_.emplace(m.key.ns + kSep + m.key.model_id, i);
    variant_base_.push_back(variants);
    variants += static_cast<std::uint32_t>(m.variants.size());
  }
  variants_.resize(variants);
  for (auto& histogram : buckets_) histogram.resize(variants);
}

std::int32_t ReferenceGrouper::variant_by_prefix(std::uint32_t model, std::string_view name) const {
  // Pods of Deployment d are named d-<hash>-<id> in a cluster and d-<n> in local mode: the longest
  // variant name that prefixes the name followed by '-' wins.
  const auto& variants = models_[model].variants;
  std::int32_t best = -1;
  std::size_t best_len = 0;
  for (std::size_t vi = 0; vi < variants.size(); ++vi) {
    const std::string& v = variants[vi].name;
    if (v.empty() || name.size() <= v.size() || name[v.size()] != '-') continue;
    if (name.compare(0, v.size(), v) != 0) continue;
    if (v.size() > best_len) {
      best_len = v.size();
      best = static_cast<std::int32_t>(vi);
    }
  }
  return best;
}

std::int32_t ReferenceGrouper::variant_of(std::uint32_t model, std::string_view pod, std::string_view* host_name) {
  *host_name = {};
  const auto& variants = models_[model].variants;
  // 1. The pod names the host gave (the cluster backend's view of each Deployment's pods).
  std::size_t known = 0;
  for (const auto& v : variants) known += v.pods.size();
  if (known > kLinearScan) {
    ModelState& st = state_[model];
    if (!st.variant_index_built) {
      st.variant_index_built = true;
      st.variant_of.reserve(known * 2);
      for (std::size_t vi = 0; vi < variants.size(); ++vi)
        for (const auto& p : variants[vi].pods) st.variant_of.emplace(p, static_cast<std::int32_t>(vi));
    }
    if (auto it = st.variant_of.find(pod); it != st.variant_of.end()) {
      *host_name = it->first;  // a view of the host's string
      return it->second;
    }
  } else {
    for (std::size_t vi = 0; vi < variants.size(); ++vi)
      for (const auto& p : variants[vi].pods)
        if (p == pod) {
          *host_name = p;
          return static_cast<std::int32_t>(vi);
        }
  }
  // 2. The name's prefix.
  return variant_by_prefix(model, pod);
}

std::int32_t ReferenceGrouper::variant_of_deployment(std::uint32_t model, std::string_view deployment) {
  const auto& variants = models_[model].variants;
  // 1. A variant is a Deployment: its name.
  for (std::size_t vi = 0; vi < variants.size(); ++vi)
    if (variants[vi].name == deployment) return static_cast<std::int32_t>(vi);
  // 2. The identity PromQL derived from the pods the host listed (pod names cut short by Kubernetes).
  ModelState& st = state_[model];
  if (!st.deployment_index_built) {
    st.deployment_index_built = true;
    for (std::size_t vi = 0; vi < variants.size(); ++vi)
      for (const auto& p : variants[vi].pods)
        st.deployment_of.emplace(deployment_of_pod(p), static_cast<std::int32_t>(vi));
  }
  if (auto it = st.deployment_of.find(deployment); it != st.deployment_of.end()) return it->second;
  // 3. The name's prefix (e.g. pods of a LeaderWorkerSet group, name-<group>-<index>).
  return variant_by_prefix(model, deployment);
}

std::uint32_t ReferenceGrouper::pod_slot(std::uint32_t model, std::string_view pod) {
  ModelState& st = state_[model];
  if (st.slots.size() <= kLinearScan) {
    for (std::uint32_t slot : st.slots)
      if (pods_[slot].name == pod) return slot;
  } else if (auto it = st.by_name.find(pod); it != st.by_name.end()) {
    return it->second;
  }
  const auto slot = static_cast<std::uint32_t>(pods_.size());
  Pod p;
  p.model = model;
  std::string_view host_name;
  p.variant = variant_of(model, pod, &host_name);
  if (!host_name.empty()) {
    p.name = host_name;
  } else {
    owned_names_.emplace_back(pod);  // the parser's views die with the sample
    p.name = owned_names_.back();
  }
  pods_.push_back(p);
  st.slots.push_back(slot);
  if (st.slots.size() == kLinearScan + 1) {
    st.by_name.reserve(kLinearScan * 4);
    for (std::uint32_t s : st.slots) st.by_name.emplace(pods_[s].name, s);
  } else if (st.slots.size() > kLinearScan + 1) {
    st.by_name.emplace(p.name, slot);
  }
  return slot;
}

void ReferenceGrouper::note_invalid(std::uint32_t model, Signal signal, double value, std::string_view kind,
                                    std::string_view name, const std::string& why) {
  ++stats_.invalid[idx(signal)];
  ModelState& st = state_[model];
  if (++st.invalid <= kInvalidExamples)
    st.invalid_examples.push_back(std::string(signal_name(signal)) + " " + number(value) + " on " + std::string(kind) +
                                  " " + std::string(name) + " (" + why + ")");
}

void ReferenceGrouper::store_bucket(const Staged& st) {
  // Checked like any load value, then added to the bucket of its Deployment (a pod's: its variant's).
  std::uint32_t model = 0;
  std::int32_t global_variant = -1;
  std::string_view kind, name;
  if (st.target == Target::kPod) {
    Pod& p = pods_[st.index];
    p.seen.set(idx(st.signal));
    model = p.model;
    kind = "pod";
    name = p.name;
    if (p.variant >= 0) global_variant = static_cast<std::int32_t>(variant_base_[model]) + p.variant;
  } else {
    model = static_cast<std::uint32_t>(std::upper_bound(variant_base_.begin(), variant_base_.end(), st.index) -
                                       variant_base_.begin() - 1);
    global_variant = static_cast<std::int32_t>(st.index);
    kind = "Deployment";
    name = models_[model].variants[st.index - variant_base_[model]].name;
  }
  if (!st.bad_bound.empty()) return note_invalid(model, st.signal, st.value, kind, name, st.bad_bound);
  if (!std::isfinite(st.value)) {
    ++stats_.non_finite;
    return;
  }
  if (auto why = reference::domain_violation(st.signal, st.value))
    return note_invalid(model, st.signal, st.value, kind, name, *why);
  if (global_variant < 0) return;
  auto& kept = buckets_[*bucket_signal_index(st.signal)][static_cast<std::size_t>(global_variant)];
  auto [it, inserted] = kept.try_emplace(st.bound, st.value);
  if (!inserted) it->second += st.value;
}

bool ReferenceGrouper::keep_value(Values& v, std::uint32_t model, Signal signal, double value, std::string_view kind,
                                  std::string_view name) {
  const std::size_t k = idx(signal);
  v.seen.set(k);
  if (!std::isfinite(value)) {
    ++stats_.non_finite;
    return false;
  }
  if (auto why = reference::domain_violation(signal, value)) {
    ++stats_.invalid[k];
    ModelState& st = state_[model];
    if (++st.invalid <= kInvalidExamples)
      st.invalid_examples.push_back(std::string(signal_name(signal)) + " " + number(value) + " on " +
                                    std::string(kind) + " " + std::string(name) + " (" + *why + ")");
    return false;
  }
  if (!v.present[k]) {
    v.value[k] = value;
    v.present.set(k);
  } else if (signal_group(signal) == SignalGroup::kLoad) {
    v.value[k] += value;  // several series for one pod or Deployment (e.g. two scrape jobs): rates add up
  } else {
    v.value[k] = std::max(v.value[k], value);  // saturation signals: the worst one, as max by would
  }
  return true;
}

void ReferenceGrouper::store(std::uint32_t slot, Signal signal, double value) {
  Pod& p = pods_[slot];
  keep_value(p, p.model, signal, value, "pod", p.name);
}

void ReferenceGrouper::store_variant(std::uint32_t global_variant, Signal signal, double value) {
  const auto model = static_cast<std::uint32_t>(
      std::upper_bound(variant_base_.begin(), variant_base_.end(), global_variant) - variant_base_.begin() - 1);
  const auto& variant = models_[model].variants[global_variant - variant_base_[model]];
  keep_value(variants_[global_variant], model, signal, value, "Deployment", variant.name);
}

void ReferenceGrouper::store_model_level(std::uint32_t model, Signal signal, double value) {
  if (!std::isfinite(value)) {
    ++stats_.non_finite;
    return;
  }
  ModelState& st = state_[model];
  if (auto why = reference::domain_violation(signal, value)) {
    ++stats_.invalid[idx(signal)];
    if (++st.invalid <= kInvalidExamples)
      st.invalid_examples.push_back(std::string(signal_name(signal)) + " " + number(value) + " (" + *why + ")");
    return;
  }
  st.router_queue = st.router_queue.value_or(0.0) + value;  // one series per router (gateway) replica
}

void ReferenceGrouper::begin(std::optional<Signal> single) {
  single_ = single;
  staged_.clear();
  pods_mark_ = pods_.size();
  bounds_mark_ = bounds_.size();
  capacity_mark_ = capacity_.size();
  capacity_names_mark_ = capacity_names_.size();
  staged_samples_ = staged_ignored_ = staged_unmapped_deployments_ = 0;
  staged_unmapped_models_.clear();
  staged_eval_time_ = eval_time_;
}

void ReferenceGrouper::on_sample(const SampleView& s) {
  staged_eval_time_ = std::max(staged_eval_time_, s.timestamp);
  Signal signal;
  if (single_) {
    signal = *single_;
  } else {
    const std::string_view* tag = s.label(kSignalLabel);
    auto sig = tag ? signal_from_name(*tag) : std::nullopt;
    if (!sig) {
      ++staged_ignored_;
      return;
    }
    signal = *sig;
  }
  if (signal == Signal::kKvCapacity) {
    // vllm:cache_config_info carries no model label: matched to the pods seen in finish().
    Capacity c;
    const std::string_view* ns = s.label(labels_.ns);
    const std::string_view* pod = s.label(labels_.pod);
    if (ns && pod) {
      c.has_labels = true;
      c.ns_offset = capacity_names_.size();
      c.ns_size = ns->size();
      capacity_names_ += *ns;
      c.pod_offset = capacity_names_.size();
      c.pod_size = pod->size();
      capacity_names_ += *pod;
      auto blocks = label_number(s, "num_gpu_blocks");
      auto block_size = label_number(s, "block_size");
      c.tokens = blocks && block_size ? *blocks * *block_size : s.value;
    }
    capacity_.push_back(c);
    return;
  }
  const std::string_view* ns = s.label(labels_.ns);
  const std::string_view* model = s.label(labels_.model);
  const std::string_view* pod = s.label(labels_.pod);
  const bool model_level = signal == Signal::kRouterQueue;
  const bool has_pod = pod && !pod->empty();
  const std::string_view* deployment =
      !model_level && !has_pod && signal_group(signal) == SignalGroup::kLoad ? s.label(kDeploymentLabel) : nullptr;
  if (!ns || !model || (!model_level && !has_pod && (!deployment || deployment->empty()))) {
    ++staged_ignored_;
    return;
  }
  key_.assign(*ns);
  key_ += kSep;
  key_ += *model;
  auto it = model_index_.find(key_);
  if (it == model_index_.end()) {
    ++staged_ignored_;
    return;
  }
  ++staged_samples_;
  const std::uint32_t mi = it->second;
  // A bucket series' bound: one of this cycle's distinct bounds, at most kMaxBucketBounds of them.
  const auto with_bound = [&](Staged st) {
    if (!is_bucket_signal(signal)) return st;
    const std::string_view* le = s.label(kBucketLabel);
    const std::optional<double> bound = le ? bucket_bound(*le) : std::nullopt;
    if (!bound) {
      st.bad_bound = "no le label with a bucket bound";
    } else if (std::find(bounds_.begin(), bounds_.end(), *bound) == bounds_.end() &&
               bounds_.size() >= kMaxBucketBounds) {
      st.bad_bound = "more than " + std::to_string(kMaxBucketBounds) + " distinct le bounds";
    } else {
      if (std::find(bounds_.begin(), bounds_.end(), *bound) == bounds_.end()) bounds_.push_back(*bound);
      st.bound = *bound;
    }
    return st;
  };
  if (model_level) {
    staged_.push_back(Staged{mi, signal, Target::kModel, s.value});
  } else if (has_pod) {
    staged_.push_back(with_bound(Staged{pod_slot(mi, *pod), signal, Target::kPod, s.value}));
  } else if (const std::int32_t vi = variant_of_deployment(mi, *deployment); vi >= 0) {
    staged_.push_back(
        with_bound(Staged{variant_base_[mi] + static_cast<std::uint32_t>(vi), signal, Target::kVariant, s.value}));
  } else {
    ++staged_unmapped_deployments_;
    staged_unmapped_models_.push_back(mi);
  }
}

void ReferenceGrouper::commit() {
  for (const Staged& st : staged_) {
    if (is_bucket_signal(st.signal) && st.target != Target::kModel) {
      store_bucket(st);
      continue;
    }
    switch (st.target) {
      case Target::kPod: store(st.index, st.signal, st.value); break;
      case Target::kVariant: store_variant(st.index, st.signal, st.value); break;
      case Target::kModel: store_model_level(st.index, st.signal, st.value); break;
    }
  }
  for (std::uint32_t mi : staged_unmapped_models_) ++state_[mi].unmapped_deployments;
  stats_.samples += staged_samples_;
  stats_.ignored += staged_ignored_;
  stats_.unmapped_deployments += staged_unmapped_deployments_;
  eval_time_ = staged_eval_time_;
  begin(single_);  // nothing left staged
}

void ReferenceGrouper::rollback() {
  // Pods first seen in this response are forgotten (each model's new slots are at the end of its list).
  for (std::size_t slot = pods_.size(); slot-- > pods_mark_;) {
    ModelState& st = state_[pods_[slot].model];
    st.by_name.erase(pods_[slot].name);
    st.slots.pop_back();
  }
  pods_.resize(pods_mark_);
  bounds_.resize(bounds_mark_);
  capacity_.resize(capacity_mark_);
  capacity_names_.resize(capacity_names_mark_);
  begin(single_);
}

std::vector<CapacityCache::Read> ReferenceGrouper::capacities() const {
  std::vector<CapacityCache::Read> out;
  out.reserve(capacity_.size());
  for (const Capacity& c : capacity_)
    if (c.has_labels)
      out.push_back(CapacityCache::Read{std::string_view(capacity_names_.data() + c.ns_offset, c.ns_size),
                                        std::string_view(capacity_names_.data() + c.pod_offset, c.pod_size), c.tokens});
  return out;
}

void ReferenceGrouper::add_capacity(std::string_view ns, std::string_view pod, double tokens) {
  Capacity c;
  c.has_labels = true;
  c.ns_offset = capacity_names_.size();
  c.ns_size = ns.size();
  capacity_names_ += ns;
  c.pod_offset = capacity_names_.size();
  c.pod_size = pod.size();
  capacity_names_ += pod;
  c.tokens = tokens;
  capacity_.push_back(c);
  capacity_mark_ = capacity_.size();  // not part of a query: a rollback keeps it
  capacity_names_mark_ = capacity_names_.size();
}

void ReferenceGrouper::add(const QueryResponse& response, std::optional<Signal> single) {
  begin(single);
  std::vector<LabelView> labels;
  for (const Sample& s : response.samples) {
    labels.clear();
    for (const auto& [k, v] : s.labels) labels.push_back(LabelView{k, v});
    on_sample(SampleView{labels, s.value, s.timestamp});
  }
  commit();
}

std::map<sdk::ModelKey, sdk::ModelMetrics> ReferenceGrouper::finish(sdk::TimePoint collected_at) {
  // KV capacity comes from vllm:cache_config_info, which carries no model label: match it by
  // (namespace, pod) to every model pod seen.
  if (!capacity_.empty()) {
    std::unordered_multimap<std::string_view, std::uint32_t> by_pod;
    by_pod.reserve(pods_.size() * 2);
    for (std::uint32_t i = 0; i < pods_.size(); ++i) by_pod.emplace(pods_[i].name, i);
    for (const Capacity& c : capacity_) {
      if (!c.has_labels) {
        ++stats_.ignored;
        continue;
      }
      const std::string_view ns(capacity_names_.data() + c.ns_offset, c.ns_size);
      const std::string_view pod(capacity_names_.data() + c.pod_offset, c.pod_size);
      bool matched = false;
      auto [lo, hi] = by_pod.equal_range(pod);
      for (auto it = lo; it != hi; ++it) {
        if (models_[pods_[it->second].model].key.ns != ns) continue;
        store(it->second, Signal::kKvCapacity, c.tokens);
        matched = true;
      }
      if (!matched) ++stats_.ignored;
    }
  }

  // Each model's pods, sorted by variant and name.

  const double stale_s = static_cast<double>(stale_after_.count()) / 1000.0;
  const std::bitset<kSignalCount> replica_signals =
      (1u << idx(Signal::kKvCacheUsage)) | (1u << idx(Signal::kWaiting)) | (1u << idx(Signal::kRunning));

  std::map<sdk::ModelKey, sdk::ModelMetrics> out;
  for (std::uint32_t mi = 0; mi < models_.size(); ++mi) {
    const auto& model = models_[mi];
    auto& slots = state_[mi].slots;
    std::sort(slots.begin(), slots.end(), [&](std::uint32_t a, std::uint32_t b) {
      if (pods_[a].variant != pods_[b].variant) return pods_[a].variant < pods_[b].variant;
      return pods_[a].name < pods_[b].name;
    });
    sdk::ModelMetrics mm;
    mm.collected_at = collected_at;

    std::vector<LoadSums> variant_load(model.variants.size());
    LoadSums model_load;
    std::vector<sdk::ReplicaMetrics> fresh, stale;
    fresh.reserve(slots.size());  // one allocation of the right size per model, not a doubling series
    std::size_t unmapped = 0;
    double oldest_age = 0;
    for (std::uint32_t slot : slots) {
      const Pod& p = pods_[slot];
      if (p.variant < 0) {
        ++unmapped;
        continue;
      }
      variant_load[static_cast<std::size_t>(p.variant)].add(p.value, p.present);
      model_load.add(p.value, p.present);

      const bool has_sample_time = p.present[idx(Signal::kSampleTime)];
      const double age = has_sample_time ? eval_time_ - p.value[idx(Signal::kSampleTime)] : 0.0;
      const bool is_stale = has_sample_time && age > stale_s;
      const bool has_values = (p.seen & replica_signals).any();
      if (!has_values && !is_stale) continue;  // only load series: not a replica sample

      sdk::ReplicaMetrics r;
      r.pod = std::string(p.name);
      r.variant = model.variants[static_cast<std::size_t>(p.variant)].name;
      auto opt = [&](Signal s) { return p.present[idx(s)] ? std::optional<double>(p.value[idx(s)]) : std::nullopt; };
      r.kv_cache_usage = opt(Signal::kKvCacheUsage);
      r.waiting = opt(Signal::kWaiting);
      r.running = opt(Signal::kRunning);
      r.kv_capacity_tokens = opt(Signal::kKvCapacity);
      r.sample_time = to_time_point(has_sample_time ? p.value[idx(Signal::kSampleTime)] : eval_time_);
      if (is_stale) {
        oldest_age = std::max(oldest_age, age);
        stale.push_back(std::move(r));
      } else {
        fresh.push_back(std::move(r));
      }
    }
    stats_.unmapped_pods += unmapped;
    // Load series PromQL already summed per Deployment.
    for (std::size_t vi = 0; vi < model.variants.size(); ++vi) {
      const Values& v = variants_[variant_base_[mi] + vi];
      variant_load[vi].add(v.value, v.present);
      model_load.add(v.value, v.present);
    }

    // The prompt-length spread: each variant's buckets with its mean, the model's summed with the model's.
    // The time per output token: each variant's buckets by bound, the model's summed.
    std::vector<sdk::util::HistogramBucket> model_buckets, model_tpot;
    for (std::size_t vi = 0; vi < model.variants.size(); ++vi) {
      const auto& kept = buckets_[*bucket_signal_index(Signal::kPromptTokensBucket)][variant_base_[mi] + vi];
      const auto& tpot = buckets_[*bucket_signal_index(Signal::kRequestTpotBucket)][variant_base_[mi] + vi];
      if (!variant_load[vi].present.any() && kept.empty() && tpot.empty()) continue;
      sdk::Load load = variant_load[vi].to_load();
      for (const auto& [bound, count] : tpot) load.request_tpot_buckets.push_back({bound, count});
      sdk::util::add_buckets(model_tpot, load.request_tpot_buckets);
      if (!kept.empty()) {
        std::vector<sdk::util::HistogramBucket> b;
        for (const auto& [bound, count] : kept) b.push_back({bound, count});
        if (load.avg_input_tokens) load.prompt_tokens_cv = sdk::util::histogram_cv(b, *load.avg_input_tokens);
        sdk::util::add_buckets(model_buckets, b);
      }
      mm.load_by_variant[model.variants[vi].name] = load;
    }
    if (model_load.present.any()) mm.load = model_load.to_load();
    if (!model_buckets.empty() && mm.load.avg_input_tokens)
      mm.load.prompt_tokens_cv = sdk::util::histogram_cv(model_buckets, *mm.load.avg_input_tokens);
    mm.load.request_tpot_buckets = model_tpot;
    mm.load.router_queue = state_[mi].router_queue;

    std::string invalid;
    if (const ModelState& st = state_[mi]; st.invalid > 0) {
      invalid = std::to_string(st.invalid) + " invalid sample(s) ignored: ";
      for (std::size_t i = 0; i < st.invalid_examples.size(); ++i) invalid += (i ? ", " : "") + st.invalid_examples[i];
      if (st.invalid > st.invalid_examples.size()) invalid += ", ...";
    }
    const auto has_saturation_value = [](const sdk::ReplicaMetrics& r) {
      return r.kv_cache_usage || r.waiting || r.running;
    };
    if (!fresh.empty() && !invalid.empty() && std::none_of(fresh.begin(), fresh.end(), has_saturation_value)) {
      // Every saturation value was out of its domain: no data, not zeros.
      mm.state = sdk::MetricsState::kNoData;
      mm.message =
          "Metrics for model " + model.key.model_id + " in namespace " + model.key.ns + " are invalid: " + invalid;
    } else if (!fresh.empty()) {
      mm.state = sdk::MetricsState::kOk;
      mm.message = invalid;  // empty when every sample was valid
      mm.replicas = std::move(fresh);
    } else if (!stale.empty()) {
      mm.state = sdk::MetricsState::kStale;
      mm.message = "Metrics for model " + model.key.model_id + " in namespace " + model.key.ns +
                   " are stale: " + std::to_string(stale.size()) + " pod(s), newest sample " +
                   std::to_string(static_cast<long long>(std::lround(oldest_age))) + "s old (staleAfter " +
                   std::to_string(stale_after_.count() / 1000) + "s)";
      mm.replicas = std::move(stale);
    } else if (unmapped > 0) {
      mm.state = sdk::MetricsState::kNoData;
      mm.message = std::string(kNoPodsFound) + " " + model.key.model_id + " in namespace " + model.key.ns + ": " +
                   std::to_string(unmapped) + " pod(s) report metrics but none belongs to its variants (" +
                   join_names(model.variants) + ")";
    } else if (const std::size_t deployments = state_[mi].unmapped_deployments; deployments > 0) {
      mm.state = sdk::MetricsState::kNoData;
      mm.message = std::string(kNoPodsFound) + " " + model.key.model_id + " in namespace " + model.key.ns + ": " +
                   std::to_string(deployments) +
                   " Deployment load series report metrics but none belongs to its variants (" +
                   join_names(model.variants) + ")";
    } else {
      mm.state = sdk::MetricsState::kNoData;
      mm.message = std::string(kNoPodsFound) + " " + model.key.model_id + " in namespace " + model.key.ns +
                   " (no vLLM series with " + labels_.model + "=\"" + model.key.model_id + "\")";
    }
    out.emplace(model.key, std::move(mm));
  }
  return out;
}

}  // namespace wva::prometheus::reference
