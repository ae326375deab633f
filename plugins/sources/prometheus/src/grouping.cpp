#include "grouping.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>

namespace wva::prometheus {
namespace {

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

std::optional<double> bucket_bound(std::string_view le) {
  // Prometheus writes "+Inf" and Go's shortest float ("1000", "0.5", "1e+06"); Python clients "1000.0".
  if (!le.empty() && le.front() == '+') le.remove_prefix(1);
  if (le.empty()) return std::nullopt;
  double out = 0;
  auto [ptr, ec] = std::from_chars(le.data(), le.data() + le.size(), out);  // also "Inf"
  if (ec != std::errc() || ptr != le.data() + le.size() || std::isnan(out) || out == -HUGE_VAL) return std::nullopt;
  return out;
}

Grouper::Grouper(std::span<const sdk::ModelView> models, LabelNames labels, Millis stale_after)
    : labels_(std::move(labels)), stale_after_(stale_after) {
  reset(models);
}

namespace {

// The hash of an unlisted pod's (model, name) in the grouper's index of them.
std::uint64_t unlisted_key(std::uint32_t model, std::string_view pod) { return KeyHash(model).add(pod).done(); }

// Gives a vector's storage back (clear() keeps it).
template <class T>
void release(T& v) {
  T().swap(v);
}

}  // namespace

void Grouper::reset(std::span<const sdk::ModelView> models) {
  models_ = models;
  route_.update(models);
  if (next_model_generation_ != route_.generation() || next_model_.size() != models.size()) {
    next_model_.assign(models.size(), RouteIndex::kNone);
    next_model_generation_ = route_.generation();
  }
  lay_out_cycle();
  // One allocation of the size the largest query needed last cycle, not a doubling series.
  if (staged_.capacity() < staged_reserve_) staged_.reserve(staged_reserve_);
  staged_peak_ = 0;
  begin(std::nullopt);
}

void Grouper::lay_out_cycle() {
  // This cycle's storage, zeroed: nothing of an earlier cycle is read.
  state_.assign(models_.size(), ModelState{});
  pod_values_.assign(route_.pods(), PodValues{});
  variant_values_.assign(route_.variants(), DeploymentValues{});
  pod_load_.clear();
  bucket_pool_.clear();
  // A histogram's list heads are laid out at its first bucket: a fleet without it pays nothing.
  for (auto& head : bucket_head_) head.clear();
  bounds_.clear();
  unlisted_.clear();
  unlisted_names_.clear();
  unlisted_index_.reset(0);
  last_model_ = RouteIndex::kNone;
  capacity_.clear();
  capacity_names_.clear();
  cached_capacity_ = nullptr;
  eval_time_ = 0;
  stats_ = GroupStats{};
}

void Grouper::release_cycle() {
  staged_reserve_ = staged_peak_;
  release(state_);
  release(pod_values_);
  release(variant_values_);
  release(pod_load_);
  if (!bucket_pool_.empty()) bucket_reserve_ = bucket_pool_.size();  // a cycle that read a histogram
  release(bucket_pool_);
  for (auto& head : bucket_head_) release(head);
  release(bounds_);
  release(unlisted_);
  release(unlisted_names_);
  unlisted_index_ = FlatIndex();
  release(capacity_);
  release(capacity_names_);
  release(staged_);
  release(staged_unmapped_models_);
  cached_capacity_ = nullptr;
  slots_mark_ = capacity_mark_ = capacity_names_mark_ = bounds_mark_ = 0;
}

std::size_t Grouper::allocated_bytes() const {
  std::size_t bytes = route_.allocated_bytes() + next_model_.capacity() * sizeof(std::uint32_t);
  bytes += state_.capacity() * sizeof(ModelState);
  for (const ModelState& st : state_)
    bytes += st.invalid_examples.capacity() * sizeof(std::string) + st.unlisted.capacity() * sizeof(std::uint32_t);
  bytes += pod_values_.capacity() * sizeof(PodValues) + variant_values_.capacity() * sizeof(DeploymentValues);
  bytes += pod_load_.capacity() * sizeof(pod_load_[0]) + unlisted_.capacity() * sizeof(UnlistedPod);
  bytes += bucket_pool_.capacity() * sizeof(BucketEntry) + bounds_.capacity() * sizeof(double);
  for (const auto& head : bucket_head_) bytes += head.capacity() * sizeof(std::uint32_t);
  bytes += unlisted_names_.capacity() + unlisted_index_.allocated_bytes();
  bytes += capacity_.capacity() * sizeof(Capacity) + capacity_names_.capacity();
  bytes += staged_.capacity() * sizeof(Staged) + staged_unmapped_models_.capacity() * sizeof(std::uint32_t);
  return bytes;
}

Grouper::Routing Grouper::routing_labels(const SampleView& s) const {
  Routing r;
  for (const LabelView& l : s.labels) {
    // The first label of a name counts, as SampleView::label() finds it.
    if (!r.signal && equal_bytes(l.name, kSignalLabel)) r.signal = &l.value;
    if (!r.ns && equal_bytes(l.name, labels_.ns)) r.ns = &l.value;
    if (!r.model && equal_bytes(l.name, labels_.model)) r.model = &l.value;
    if (!r.pod && equal_bytes(l.name, labels_.pod)) r.pod = &l.value;
    if (!r.deployment && equal_bytes(l.name, kDeploymentLabel)) r.deployment = &l.value;
  }
  return r;
}

std::uint32_t Grouper::unlisted_slot(std::uint32_t model, std::string_view pod) {
  const std::uint64_t h = unlisted_key(model, pod);
  const std::uint32_t found = unlisted_index_.find(
      h, [&](std::uint32_t slot) { return pod_model(slot) == model && equal_bytes(pod_name(slot), pod); });
  if (found != FlatIndex::kNone) return found;
  const auto slot = static_cast<std::uint32_t>(slots());
  if (unlisted_names_.size() + pod.size() > UINT32_MAX) throw std::length_error("unlisted pod names too large");
  UnlistedPod u;
  u.model = model;
  u.variant = route_.variant_by_prefix(model, pod);  // the host did not list it: its name's prefix
  u.name_offset = static_cast<std::uint32_t>(unlisted_names_.size());
  u.name_size = static_cast<std::uint32_t>(pod.size());
  unlisted_names_ += pod;  // the parser's views die with the sample
  unlisted_.push_back(u);
  pod_values_.emplace_back();
  unlisted_index_.insert(h, slot);
  state_[model].unlisted.push_back(slot);
  return slot;
}

std::optional<std::string> Grouper::keep_value(Mask& present, Mask& seen, double& stored, Signal signal, double value) {
  const std::size_t k = idx(signal);
  seen |= bit(k);
  if (!std::isfinite(value)) {
    ++stats_.non_finite;
    return std::nullopt;
  }
  if (auto why = domain_violation(signal, value)) {
    ++stats_.invalid[k];
    return why;
  }
  if (!(present & bit(k))) {
    stored = value;
    present |= bit(k);
  } else if (signal_group(signal) == SignalGroup::kLoad) {
    stored += value;  // several series for one pod or Deployment (e.g. two scrape jobs): rates add up
  } else {
    stored = std::max(stored, value);  // saturation signals: the worst one, as max by would
  }
  return std::nullopt;
}

void Grouper::note_invalid(std::uint32_t model, Signal signal, double value, std::string_view kind,
                           std::string_view name, const std::string& why) {
  ModelState& st = state_[model];
  if (++st.invalid <= kInvalidExamples)
    st.invalid_examples.push_back(std::string(signal_name(signal)) + " " + number(value) + " on " + std::string(kind) +
                                  " " + std::string(name) + " (" + why + ")");
}

void Grouper::store(std::uint32_t slot, Signal signal, double value) {
  PodValues& p = pod_values_[slot];
  const std::size_t k = idx(signal);
  double* stored = nullptr;
  if (k < kPodSignals) {
    stored = &p.value[k];
  } else {
    if (p.load == kNoLoad) {
      p.load = static_cast<std::uint32_t>(pod_load_.size());
      pod_load_.emplace_back();
    }
    stored = &pod_load_[p.load][k];
  }
  // The pod's model and name are looked up only for a value outside its domain.
  if (auto why = keep_value(p.present, p.seen, *stored, signal, value))
    note_invalid(pod_model(slot), signal, value, "pod", pod_name(slot), *why);
}

void Grouper::store_variant(std::uint32_t global_variant, Signal signal, double value) {
  DeploymentValues& v = variant_values_[global_variant];
  if (auto why = keep_value(v.present, v.seen, v.value[idx(signal)], signal, value))
    note_invalid(route_.model_of_variant(global_variant), signal, value, "Deployment",
                 route_.variant_name(global_variant), *why);
}

void Grouper::store_model_level(std::uint32_t model, Signal signal, double value) {
  if (!std::isfinite(value)) {
    ++stats_.non_finite;
    return;
  }
  ModelState& st = state_[model];
  if (auto why = domain_violation(signal, value)) {
    ++stats_.invalid[idx(signal)];
    if (++st.invalid <= kInvalidExamples)
      st.invalid_examples.push_back(std::string(signal_name(signal)) + " " + number(value) + " (" + *why + ")");
    return;
  }
  st.router_queue = st.router_queue.value_or(0.0) + value;  // one series per router (gateway) replica
}

std::uint16_t Grouper::bound_index(const std::string_view* le) {
  const std::optional<double> bound = le ? bucket_bound(*le) : std::nullopt;
  if (!bound) return kBadBound;
  // A few distinct bounds (vLLM: 18) for the whole fleet: a scan, no hashing.
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (bounds_[i] == *bound) return static_cast<std::uint16_t>(i);
  if (bounds_.size() >= kMaxBucketBounds) return kTooManyBounds;
  bounds_.push_back(*bound);
  return static_cast<std::uint16_t>(bounds_.size() - 1);
}

void Grouper::add_bucket(std::size_t histogram, std::uint32_t global_variant, std::uint16_t bound, double count) {
  std::vector<std::uint32_t>& heads = bucket_head_[histogram];
  if (heads.empty()) {
    heads.assign(route_.variants(), kNoBucket);
    if (bucket_pool_.capacity() < bucket_reserve_) bucket_pool_.reserve(bucket_reserve_);
  }
  std::uint32_t& head = heads[global_variant];
  for (std::uint32_t b = head; b != kNoBucket; b = bucket_pool_[b].next) {
    if (bucket_pool_[b].bound == bound) {
      bucket_pool_[b].count += count;  // several series of one bucket (two scrape jobs, LWS groups): they add up
      return;
    }
  }
  if (bucket_pool_.size() >= kNoBucket) throw std::length_error("too many histogram buckets");
  bucket_pool_.push_back(BucketEntry{head, bound, count});
  head = static_cast<std::uint32_t>(bucket_pool_.size() - 1);
}

void Grouper::store_bucket(const Staged& st) {
  const auto signal = static_cast<Signal>(st.signal);
  std::uint32_t model = 0, global_variant = RouteIndex::kNone;
  std::string_view kind, name;
  if (st.target == Target::kPod) {
    pod_values_[st.index].seen |= bit(idx(signal));  // a series of this cycle reached the pod
    model = pod_model(st.index);
    kind = "pod";
    name = pod_name(st.index);
    if (const std::int32_t v = pod_variant(st.index); v >= 0)
      global_variant = route_.variant_base(model) + static_cast<std::uint32_t>(v);
  } else {
    global_variant = st.index;
    model = route_.model_of_variant(st.index);
    kind = "Deployment";
    name = route_.variant_name(st.index);
  }
  if (st.bound == kBadBound || st.bound == kTooManyBounds) {
    ++stats_.invalid[idx(signal)];
    note_invalid(model, signal, st.value, kind, name,
                 st.bound == kBadBound ? "no le label with a bucket bound"
                                       : "more than " + std::to_string(kMaxBucketBounds) + " distinct le bounds");
    return;
  }
  if (!std::isfinite(st.value)) {
    ++stats_.non_finite;
    return;
  }
  if (auto why = domain_violation(signal, st.value)) {
    ++stats_.invalid[idx(signal)];
    note_invalid(model, signal, st.value, kind, name, *why);
    return;
  }
  if (global_variant != RouteIndex::kNone) add_bucket(*bucket_signal_index(signal), global_variant, st.bound, st.value);
}

void Grouper::variant_buckets(std::size_t histogram, std::uint32_t global_variant,
                              std::vector<sdk::HistogramBucket>& out) const {
  out.clear();
  const std::vector<std::uint32_t>& heads = bucket_head_[histogram];
  if (heads.empty()) return;
  for (std::uint32_t b = heads[global_variant]; b != kNoBucket; b = bucket_pool_[b].next)
    out.push_back(sdk::HistogramBucket{bounds_[bucket_pool_[b].bound], bucket_pool_[b].count});
}

void Grouper::begin(std::optional<Signal> single) {
  single_ = single;
  staged_.clear();
  slots_mark_ = slots();
  bounds_mark_ = bounds_.size();
  capacity_mark_ = capacity_.size();
  capacity_names_mark_ = capacity_names_.size();
  staged_samples_ = staged_ignored_ = staged_unmapped_deployments_ = 0;
  staged_unmapped_models_.clear();
  staged_eval_time_ = eval_time_;
}

void Grouper::on_sample(const SampleView& s) {
  staged_eval_time_ = std::max(staged_eval_time_, s.timestamp);
  const Routing r = routing_labels(s);
  Signal signal;
  if (single_) {
    signal = *single_;
  } else {
    if (!r.signal) {
      ++staged_ignored_;
      return;
    }
    // Series of one signal come together: the last signal's name is compared first.
    if (!last_signal_ || !equal_bytes(*r.signal, signal_name(*last_signal_))) {
      auto sig = signal_from_name(*r.signal);
      if (!sig) {
        ++staged_ignored_;
        return;
      }
      last_signal_ = sig;
    }
    signal = *last_signal_;
  }
  if (signal == Signal::kKvCapacity) {
    // vllm:cache_config_info carries no model label: matched to the pods seen in finish().
    Capacity c;
    if (r.ns && r.pod) {
      if (capacity_names_.size() + r.ns->size() + r.pod->size() > UINT32_MAX)
        throw std::length_error("KV capacity series too large");
      c.has_labels = true;
      c.ns_offset = static_cast<std::uint32_t>(capacity_names_.size());
      c.ns_size = static_cast<std::uint32_t>(r.ns->size());
      capacity_names_ += *r.ns;
      c.pod_offset = static_cast<std::uint32_t>(capacity_names_.size());
      c.pod_size = static_cast<std::uint32_t>(r.pod->size());
      capacity_names_ += *r.pod;
      auto blocks = label_number(s, "num_gpu_blocks");
      auto block_size = label_number(s, "block_size");
      c.tokens = blocks && block_size ? *blocks * *block_size : s.value;
    }
    capacity_.push_back(c);
    return;
  }
  const bool model_level = signal == Signal::kRouterQueue;
  const bool has_pod = r.pod && !r.pod->empty();
  const std::string_view* deployment =
      !model_level && !has_pod && signal_group(signal) == SignalGroup::kLoad ? r.deployment : nullptr;
  if (!r.ns || !r.model || (!model_level && !has_pod && (!deployment || deployment->empty()))) {
    ++staged_ignored_;
    return;
  }
  // Series of one model come together, and models in the same order cycle after cycle: the last model,
  // then the one that followed it last time, are compared before a lookup.
  std::uint32_t mi = last_model_;
  if (mi == RouteIndex::kNone || !route_.is_model(mi, *r.ns, *r.model)) {
    const std::uint32_t after = mi == RouteIndex::kNone ? RouteIndex::kNone : next_model_[mi];
    if (after != RouteIndex::kNone && route_.is_model(after, *r.ns, *r.model)) {
      mi = after;
    } else {
      const std::uint32_t found = route_.find_model(*r.ns, *r.model);
      if (found == RouteIndex::kNone) {
        ++staged_ignored_;
        return;
      }
      if (mi != RouteIndex::kNone) next_model_[mi] = found;
      mi = found;
    }
    last_model_ = mi;
  }
  ++staged_samples_;
  const auto sig = static_cast<std::uint8_t>(signal);
  // A histogram bucket's bound, looked up only for those series (the only ones that carry `le`).
  const auto bound = [&] { return is_bucket_signal(signal) ? bound_index(s.label(kBucketLabel)) : std::uint16_t{0}; };
  if (model_level) {
    staged_.push_back(Staged{mi, sig, Target::kModel, 0, s.value});
  } else if (has_pod) {
    std::uint32_t slot = route_.find_pod(mi, *r.pod);
    if (slot == RouteIndex::kNone) slot = unlisted_slot(mi, *r.pod);
    staged_.push_back(Staged{slot, sig, Target::kPod, bound(), s.value});
  } else if (const std::uint32_t v = route_.find_deployment(mi, *deployment); v != RouteIndex::kNone) {
    staged_.push_back(Staged{v, sig, Target::kVariant, bound(), s.value});
  } else if (const std::int32_t vi = route_.variant_by_prefix(mi, *deployment); vi >= 0) {
    // e.g. pods of a LeaderWorkerSet group, name-<group>-<index>
    staged_.push_back(
        Staged{route_.variant_base(mi) + static_cast<std::uint32_t>(vi), sig, Target::kVariant, bound(), s.value});
  } else {
    ++staged_unmapped_deployments_;
    staged_unmapped_models_.push_back(mi);
  }
}

void Grouper::commit() {
  staged_peak_ = std::max(staged_peak_, staged_.size());
  for (const Staged& st : staged_) {
    const auto signal = static_cast<Signal>(st.signal);
    if (is_bucket_signal(signal) && st.target != Target::kModel) {
      store_bucket(st);
      continue;
    }
    switch (st.target) {
      case Target::kPod: store(st.index, signal, st.value); break;
      case Target::kVariant: store_variant(st.index, signal, st.value); break;
      case Target::kModel: store_model_level(st.index, signal, st.value); break;
    }
  }
  for (std::uint32_t mi : staged_unmapped_models_) ++state_[mi].unmapped_deployments;
  stats_.samples += staged_samples_;
  stats_.ignored += staged_ignored_;
  stats_.unmapped_deployments += staged_unmapped_deployments_;
  eval_time_ = staged_eval_time_;
  begin(single_);  // nothing left staged
}

void Grouper::forget_unlisted_from(std::size_t first) {
  // Each model's newest unlisted slots are at the end of its list.
  for (std::size_t slot = slots(); slot-- > first;)
    state_[pod_model(static_cast<std::uint32_t>(slot))].unlisted.pop_back();
  const std::size_t listed = route_.pods();
  unlisted_names_.resize(unlisted_[first - listed].name_offset);
  unlisted_.resize(first - listed);
  pod_values_.resize(first);
  unlisted_index_.reset(unlisted_.size());
  for (std::size_t slot = listed; slot < slots(); ++slot) {
    const auto s = static_cast<std::uint32_t>(slot);
    unlisted_index_.insert(unlisted_key(pod_model(s), pod_name(s)), s);
  }
}

void Grouper::rollback() {
  staged_peak_ = std::max(staged_peak_, staged_.size());
  // Pods first seen in this response are forgotten; listed pods got nothing of it (values are stored at
  // commit).
  if (slots() > slots_mark_) forget_unlisted_from(slots_mark_);
  bounds_.resize(bounds_mark_);  // bounds first seen in this response (buckets are stored at commit)
  capacity_.resize(capacity_mark_);
  capacity_names_.resize(capacity_names_mark_);
  begin(single_);
}

std::vector<CapacityCache::Read> Grouper::capacities() const {
  std::vector<CapacityCache::Read> out;
  out.reserve(capacity_.size());
  for (const Capacity& c : capacity_)
    if (c.has_labels)
      out.push_back(CapacityCache::Read{std::string_view(capacity_names_.data() + c.ns_offset, c.ns_size),
                                        std::string_view(capacity_names_.data() + c.pod_offset, c.pod_size), c.tokens});
  return out;
}

void Grouper::add_capacity(std::string_view ns, std::string_view pod, double tokens) {
  if (capacity_names_.size() + ns.size() + pod.size() > UINT32_MAX) throw std::length_error("KV capacities too large");
  Capacity c;
  c.has_labels = true;
  c.ns_offset = static_cast<std::uint32_t>(capacity_names_.size());
  c.ns_size = static_cast<std::uint32_t>(ns.size());
  capacity_names_ += ns;
  c.pod_offset = static_cast<std::uint32_t>(capacity_names_.size());
  c.pod_size = static_cast<std::uint32_t>(pod.size());
  capacity_names_ += pod;
  c.tokens = tokens;
  capacity_.push_back(c);
  capacity_mark_ = capacity_.size();  // not part of a query: a rollback keeps it
  capacity_names_mark_ = capacity_names_.size();
}

void Grouper::add(const QueryResponse& response, std::optional<Signal> single) {
  begin(single);
  std::vector<LabelView> labels;
  for (const Sample& s : response.samples) {
    labels.clear();
    for (const auto& [k, v] : s.labels) labels.push_back(LabelView{k, v});
    on_sample(SampleView{labels, s.value, s.timestamp});
  }
  commit();
}

void Grouper::match_capacity(std::string_view ns, std::string_view pod, double tokens, std::uint32_t& guess,
                             const std::unordered_multimap<std::string_view, std::uint32_t>& unlisted) {
  bool matched = false;
  route_.for_each_pod_in_namespace(
      ns, pod,
      [&](std::uint32_t slot) {
        guess = slot + 1;
        if (!replica(slot)) return;  // no series of this cycle
        store(slot, Signal::kKvCapacity, tokens);
        matched = true;
      },
      guess);
  if (!unlisted.empty()) {
    auto [lo, hi] = unlisted.equal_range(pod);
    for (auto it = lo; it != hi; ++it) {
      if (models_[pod_model(it->second)].key.ns != ns) continue;
      store(it->second, Signal::kKvCapacity, tokens);
      matched = true;
    }
  }
  if (!matched) ++stats_.ignored;
}

void Grouper::match_capacities() {
  // KV capacity comes from vllm:cache_config_info, which carries no model label: match it by
  // (namespace, pod) to every model pod seen.
  if (capacity_.empty() && (!cached_capacity_ || cached_capacity_->size() == 0)) return;
  std::unordered_multimap<std::string_view, std::uint32_t> unlisted;  // rare: pods the host did not list
  for (std::size_t slot = route_.pods(); slot < slots(); ++slot)
    unlisted.emplace(pod_name(static_cast<std::uint32_t>(slot)), static_cast<std::uint32_t>(slot));
  std::uint32_t guess = 0;  // the listed pod after the last one matched: capacities come in pod order
  // The cache's capacities stand for series read before this cycle's: they come first.
  if (cached_capacity_)
    cached_capacity_->for_each([&](std::string_view ns, std::string_view pod, double tokens) {
      match_capacity(ns, pod, tokens, guess, unlisted);
    });
  for (const Capacity& c : capacity_) {
    if (!c.has_labels) {
      ++stats_.ignored;
      continue;
    }
    match_capacity(std::string_view(capacity_names_.data() + c.ns_offset, c.ns_size),
                   std::string_view(capacity_names_.data() + c.pod_offset, c.pod_size), c.tokens, guess, unlisted);
  }
}

std::map<sdk::ModelKey, sdk::ModelMetrics> Grouper::finish(sdk::TimePoint collected_at) {
  if (state_.size() != models_.size()) {  // a second finish() without reset(): nothing was read since
    lay_out_cycle();
    begin(std::nullopt);
  }
  match_capacities();

  const double stale_s = static_cast<double>(stale_after_.count()) / 1000.0;
  const Mask replica_signals =
      bit(idx(Signal::kKvCacheUsage)) | bit(idx(Signal::kWaiting)) | bit(idx(Signal::kRunning));

  std::map<sdk::ModelKey, sdk::ModelMetrics> out;
  std::vector<std::uint32_t> order;
  std::vector<LoadSums> variant_load;
  constexpr std::size_t kPromptHistogram = *bucket_signal_index(Signal::kPromptTokensBucket);
  constexpr std::size_t kTpotHistogram = *bucket_signal_index(Signal::kRequestTpotBucket);
  // A variant's buckets and the model's sum: promptTokensBucket, requestTpotBucket.
  std::vector<sdk::HistogramBucket> buckets, model_buckets, tpot, model_tpot;
  for (std::uint32_t mi = 0; mi < models_.size(); ++mi) {
    const auto& model = models_[mi];
    const ModelState& state = state_[mi];
    // The model's replicas of this cycle, sorted by variant and name: its listed pods are in that order
    // already; pods it did not list are merged in.
    order.clear();
    for (std::uint32_t slot = route_.pod_begin(mi); slot < route_.pod_begin(mi + 1); ++slot)
      if (replica(slot)) order.push_back(slot);
    if (!state.unlisted.empty()) {
      order.insert(order.end(), state.unlisted.begin(), state.unlisted.end());
      std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        if (pod_variant(a) != pod_variant(b)) return pod_variant(a) < pod_variant(b);
        return pod_name(a) < pod_name(b);
      });
    }
    sdk::ModelMetrics mm;
    mm.collected_at = collected_at;

    variant_load.assign(model.variants.size(), LoadSums{});
    LoadSums model_load;
    std::vector<sdk::ReplicaMetrics> fresh, stale;
    fresh.reserve(order.size());  // one allocation of the right size per model, not a doubling series
    std::size_t unmapped = 0;
    double oldest_age = 0;
    for (std::uint32_t slot : order) {
      const PodValues& p = pod_values_[slot];
      const std::int32_t variant = pod_variant(slot);
      if (variant < 0) {
        ++unmapped;
        continue;
      }
      if (p.load != kNoLoad) {  // load series per pod (custom templates)
        variant_load[static_cast<std::size_t>(variant)].add(pod_load_[p.load], bits(p.present));
        model_load.add(pod_load_[p.load], bits(p.present));
      }

      const bool has_sample_time = p.present & bit(idx(Signal::kSampleTime));
      const double age = has_sample_time ? eval_time_ - p.value[idx(Signal::kSampleTime)] : 0.0;
      const bool is_stale = has_sample_time && age > stale_s;
      const bool has_values = (p.seen & replica_signals) != 0;
      if (!has_values && !is_stale) continue;  // only load series: not a replica sample

      sdk::ReplicaMetrics r;
      r.pod = std::string(pod_name(slot));
      r.variant = model.variants[static_cast<std::size_t>(variant)].name;
      auto opt = [&](Signal s) {
        return (p.present & bit(idx(s))) ? std::optional<double>(p.value[idx(s)]) : std::nullopt;
      };
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
      const DeploymentValues& v = variant_values_[route_.variant_base(mi) + vi];
      if (v.present == 0) continue;
      variant_load[vi].add(v.value, bits(v.present));
      model_load.add(v.value, bits(v.present));
    }

    // The spread of the prompt lengths: a lognormal of the variant's mean fitted to its buckets, and of the
    // model's mean to its variants' buckets summed. No buckets, no mean or no observation: absent.
    // The requests by time per output token: the variant's buckets as read, the model's its variants' summed;
    // both sorted by bound (+Inf last). No buckets: empty.
    model_buckets.clear();
    model_tpot.clear();
    std::size_t with_buckets = 0;
    // The mean and fit of the first variant with buckets (copies: two variants may share a name).
    std::optional<double> first_mean, first_cv;
    for (std::size_t vi = 0; vi < model.variants.size(); ++vi) {
      const std::uint32_t global_variant = route_.variant_base(mi) + static_cast<std::uint32_t>(vi);
      variant_buckets(kPromptHistogram, global_variant, buckets);
      variant_buckets(kTpotHistogram, global_variant, tpot);
      if (buckets.empty() && tpot.empty() && variant_load[vi].present.none()) continue;
      sdk::Load& load = mm.load_by_variant[model.variants[vi].name];
      load = variant_load[vi].to_load();
      if (!tpot.empty()) {
        std::sort(tpot.begin(), tpot.end(), [](const sdk::HistogramBucket& a, const sdk::HistogramBucket& b) {
          return a.upper_bound < b.upper_bound;
        });
        load.request_tpot_buckets = tpot;
        sdk::util::add_buckets(model_tpot, tpot);
      }
      if (buckets.empty()) continue;
      if (load.avg_input_tokens) load.prompt_tokens_cv = sdk::util::histogram_cv(buckets, *load.avg_input_tokens);
      sdk::util::add_buckets(model_buckets, buckets);
      if (++with_buckets == 1) first_mean = load.avg_input_tokens, first_cv = load.prompt_tokens_cv;
    }
    if (model_load.present.any()) mm.load = model_load.to_load();
    if (with_buckets > 0 && mm.load.avg_input_tokens) {
      // One variant of the model's mean: its fit is the model's (the same buckets, the same mean).
      mm.load.prompt_tokens_cv = with_buckets == 1 && first_mean == mm.load.avg_input_tokens
                                     ? first_cv
                                     : sdk::util::histogram_cv(model_buckets, *mm.load.avg_input_tokens);
    }
    if (!model_tpot.empty()) mm.load.request_tpot_buckets = model_tpot;
    mm.load.router_queue = state.router_queue;

    std::string invalid;
    if (state.invalid > 0) {
      invalid = std::to_string(state.invalid) + " invalid sample(s) ignored: ";
      for (std::size_t i = 0; i < state.invalid_examples.size(); ++i)
        invalid += (i ? ", " : "") + state.invalid_examples[i];
      if (state.invalid > state.invalid_examples.size()) invalid += ", ...";
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
    } else if (const std::size_t deployments = state.unmapped_deployments; deployments > 0) {
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
    out.emplace_hint(out.end(), model.key, std::move(mm));  // no search when the views come sorted by key
  }
  release_cycle();  // between cycles only the route index is kept
  return out;
}

}  // namespace wva::prometheus
