// The grouper with its route index against the grouper before it (reference_grouper.cpp) on random
// cycles: random views (pods listed twice, pod names shared between models, duplicate model keys, variant
// names that prefix each other), random label layouts and extra labels in any order, series in arbitrary
// order, unknown models and pods, pods the host did not list, duplicate series, invalid and non-finite
// values, KV capacities from a query or the cache, and responses rolled back. Every model's metrics (all
// fields, doubles bit for bit) and every count must be the same; the current grouper is reused across
// cycles while the views stay, change in place or are replaced.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "capacity_cache.h"
#include "grouping.h"
#include "reference_grouper.h"

namespace wva::prometheus {
namespace {

constexpr double kNow = 1795808585.0;

std::string describe_value(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", *v);
  return buf;
}

std::string describe(const sdk::Load& l) {
  std::string out = describe_value(l.arrival_rate) + "," + describe_value(l.avg_input_tokens) + "," +
                    describe_value(l.avg_output_tokens) + "," + describe_value(l.ttft_ms) + "," +
                    describe_value(l.itl_ms) + "," + describe_value(l.prompt_tokens_rate) + "," +
                    describe_value(l.generation_tokens_rate) + "," + describe_value(l.router_queue) + "," +
                    describe_value(l.prompt_tokens_cv) + ", tpot";
  for (const auto& b : l.request_tpot_buckets)
    out += " " + describe_value(b.upper_bound) + ":" + describe_value(b.count);
  return out;
}

std::string describe(const sdk::ModelMetrics& m) {
  std::string out = std::string(sdk::to_string(m.state)) + "|" + m.message + "|" + m.reason + "|" +
                    std::to_string(m.collected_at.time_since_epoch().count()) + "\n";
  for (const auto& r : m.replicas)
    out += "  " + r.pod + " " + r.variant + " " + describe_value(r.kv_cache_usage) + " " + describe_value(r.waiting) +
           " " + describe_value(r.running) + " " + describe_value(r.kv_capacity_tokens) + " " +
           std::to_string(r.sample_time.time_since_epoch().count()) + "\n";
  for (const auto& [variant, load] : m.load_by_variant) out += "  load " + variant + " " + describe(load) + "\n";
  out += "  model load " + describe(m.load) + "\n";
  return out;
}

template <class Stats>
std::string describe_stats(const Stats& s) {
  std::string out = std::to_string(s.samples) + " " + std::to_string(s.ignored) + " " + std::to_string(s.non_finite) +
                    " " + std::to_string(s.unmapped_pods) + " " + std::to_string(s.unmapped_deployments) + " [";
  for (std::size_t k : s.invalid) out += std::to_string(k) + " ";
  return out + "]";
}

// One series with owned labels, handed to both groupers as the parser would.
struct Series {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  double timestamp = kNow;
};

void feed(SampleHandler& h, const Series& s) {
  std::vector<LabelView> views;
  for (const auto& [k, v] : s.labels) views.push_back(LabelView{k, v});
  h.on_sample(SampleView{views, s.value, s.timestamp});
}

class RandomCycles {
 public:
  explicit RandomCycles(unsigned seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  std::string hash_like() {
    static const std::string kAlphabet = std::string(kPodTemplateHashAlphabet);
    std::string out;
    const int n = 6 + pick(5);
    for (int i = 0; i < n; ++i) out += kAlphabet[static_cast<std::size_t>(pick(static_cast<int>(kAlphabet.size())))];
    return out;
  }

  std::string pod_name(const std::string& deployment) {
    switch (pick(4)) {
      case 0: return deployment + "-" + std::to_string(pick(6));
      case 1: return deployment + "-" + hash_like() + "-" + "x" + std::to_string(pick(100));
      case 2: return deployment + "-lws-" + std::to_string(pick(3)) + "-" + std::to_string(pick(3));
      default: return deployment + "-" + std::to_string(pick(3)) + "-" + hash_like();
    }
  }

  std::vector<sdk::ModelView> views() {
    std::vector<sdk::ModelView> models;
    const int count = pick(9);
    for (int i = 0; i < count; ++i) {
      sdk::ModelView m;
      m.key = {namespaces_[static_cast<std::size_t>(pick(3))], "org/m" + std::to_string(pick(6))};
      const int variants = pick(4);
      for (int v = 0; v < variants; ++v) {
        sdk::Variant var;
        const std::string base = "m" + std::to_string(i) + "-" + accelerators_[static_cast<std::size_t>(pick(3))];
        // Names that prefix each other ("d" and "d-x"), an empty one now and then.
        var.name = chance(0.05) ? "" : (chance(0.3) && !m.variants.empty() ? m.variants.back().name + "-x" : base);
        const int pods = chance(0.2) ? 6 + pick(10) : pick(6);  // past 16 per model: the pod index
        for (int p = 0; p < pods; ++p) var.pods.push_back(pod_name(var.name));
        if (chance(0.15) && !m.variants.empty() && !m.variants.front().pods.empty())
          var.pods.push_back(m.variants.front().pods.front());  // listed twice
        if (chance(0.1) && !models.empty() && !models.back().variants.empty() &&
            !models.back().variants.front().pods.empty())
          var.pods.push_back(models.back().variants.front().pods.front());  // another model's pod name
        m.variants.push_back(std::move(var));
      }
      models.push_back(std::move(m));
    }
    if (chance(0.7))
      std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return models;
  }

  // Changes one routing name of the views in place (the same vector, the same storage).
  void change_in_place(std::vector<sdk::ModelView>& models) {
    for (auto& m : models)
      for (auto& v : m.variants)
        if (!v.pods.empty() && chance(0.5)) {
          v.pods[static_cast<std::size_t>(pick(static_cast<int>(v.pods.size())))] += "z";
          return;
        }
    if (!models.empty()) models.front().key.model_id += "z";
  }

  LabelNames label_names() {
    return chance(0.7) ? LabelNames{} : LabelNames{"kubernetes_namespace", "model", "pod_name"};
  }

  double value(Signal signal) {
    switch (pick(12)) {
      case 0: return std::numeric_limits<double>::quiet_NaN();
      case 1: return pick(2) ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
      case 2: return -1.5;
      case 3: return 2e12;
      case 4: return 0;
      default:
        if (signal == Signal::kSampleTime) return kNow - pick(400);
        if (signal == Signal::kKvCacheUsage) return pick(120) / 100.0;
        return pick(1000) / 7.0;
    }
  }

  // The series of one response: every kind the source's queries return and more.
  std::vector<Series> response(const std::vector<sdk::ModelView>& models, const LabelNames& names,
                               std::optional<Signal> single) {
    std::vector<Series> out;
    const int count = pick(60);
    for (int i = 0; i < count; ++i) {
      Series s;
      const Signal signal = single ? *single : static_cast<Signal>(pick(static_cast<int>(kSignalCount)));
      if (!single)
        s.labels.emplace_back(std::string(kSignalLabel), chance(0.03) ? "bogus" : std::string(signal_name(signal)));
      const sdk::ModelView* m = models.empty() || chance(0.1)
                                    ? nullptr
                                    : &models[static_cast<std::size_t>(pick(static_cast<int>(models.size())))];
      const std::string ns = m ? m->key.ns : namespaces_[static_cast<std::size_t>(pick(3))];
      std::string model = m ? m->key.model_id : "org/unknown";
      if (m && chance(0.1) && !models.empty())
        model = models[static_cast<std::size_t>(pick(static_cast<int>(models.size())))].key.model_id;
      std::string pod, deployment;
      const sdk::Variant* v = m && !m->variants.empty()
                                  ? &m->variants[static_cast<std::size_t>(pick(static_cast<int>(m->variants.size())))]
                                  : nullptr;
      if (v && !v->pods.empty() && chance(0.75))
        pod = v->pods[static_cast<std::size_t>(pick(static_cast<int>(v->pods.size())))];
      else if (v) pod = pod_name(v->name);            // a pod the host did not list
      else pod = "stray-" + std::to_string(pick(4));  // matches no variant
      const bool load = signal_group(signal) == SignalGroup::kLoad && signal != Signal::kRouterQueue;
      const bool per_deployment = load && chance(0.6);
      if (per_deployment) {
        if (v && chance(0.5)) deployment = v->name;
        else if (v && !v->pods.empty() && chance(0.5)) deployment = deployment_of_pod(v->pods.front());
        else if (v) deployment = v->name + "-lws-" + std::to_string(pick(2));
        else deployment = "unknown-dep";
        if (chance(0.03)) deployment.clear();
      }
      if (!chance(0.03)) s.labels.emplace_back(names.ns, ns);
      if (signal == Signal::kKvCapacity) {
        if (!chance(0.05)) s.labels.emplace_back(names.pod, pod);
        if (chance(0.7)) {
          s.labels.emplace_back("num_gpu_blocks", std::to_string(pick(4000)));
          s.labels.emplace_back("block_size", chance(0.05) ? "x" : "16");
        }
      } else {
        if (!chance(0.03)) s.labels.emplace_back(names.model, model);
        if (per_deployment) {
          s.labels.emplace_back(std::string(kDeploymentLabel), deployment);
          if (chance(0.05)) s.labels.emplace_back(names.pod, "");
        } else if (signal != Signal::kRouterQueue || chance(0.3)) {
          s.labels.emplace_back(names.pod, chance(0.02) ? "" : pod);
        }
      }
      if (is_bucket_signal(signal) && !chance(0.05)) {
        // vLLM's bounds as Prometheus writes them, the same bound written otherwise, and no bounds at all.
        static const std::vector<std::string> kLe = {"+Inf", "1000.0", "1000",  "5000.0", "1e+06", "2.5",
                                                     "+Inf", "Inf",    "abc",   "",       "NaN",   "-Inf",
                                                     "+20",  "0.05",   "0.050", "5e-2",   "0.1"};
        s.labels.emplace_back(std::string(kBucketLabel),
                              kLe[static_cast<std::size_t>(pick(static_cast<int>(kLe.size())))]);
      }
      if (chance(0.3)) s.labels.emplace_back("job", "vllm");
      if (chance(0.2)) s.labels.emplace_back("instance", "10.0.0." + std::to_string(pick(9)) + ":8000");
      if (chance(0.03) && !s.labels.empty()) s.labels.push_back(s.labels.back());  // a label named twice
      std::shuffle(s.labels.begin(), s.labels.end(), rng_);
      s.value = value(signal);
      s.timestamp = kNow + pick(3);
      out.push_back(s);
      if (chance(0.05)) out.push_back(s);  // a duplicate series
    }
    // Now and then a Deployment's (or a pod's) whole prompt-length histogram with its sum and count, so that
    // spreads are fitted, not only refused; and its whole TPOT histogram, now and then on bounds the
    // prompt-length one has too.
    if (!single && !models.empty() && chance(0.5)) {
      const auto& m = models[static_cast<std::size_t>(pick(static_cast<int>(models.size())))];
      if (!m.variants.empty()) {
        const auto& v = m.variants[static_cast<std::size_t>(pick(static_cast<int>(m.variants.size())))];
        const bool by_pod = chance(0.3) && !v.pods.empty();
        const std::pair<std::string, std::string> where =
            by_pod ? std::pair{names.pod, v.pods[static_cast<std::size_t>(pick(static_cast<int>(v.pods.size())))]}
                   : std::pair{std::string(kDeploymentLabel), v.name};
        const auto series = [&](const char* signal, double value) {
          Series s;
          s.labels = {{std::string(kSignalLabel), signal}, {names.ns, m.key.ns}, {names.model, m.key.model_id}, where};
          s.value = value;
          return s;
        };
        double cumulative = 0;
        for (const char* le : {"100.0", "200.0", "500.0", "1000.0", "2000.0", "5000.0", "+Inf"}) {
          if (chance(0.1)) continue;  // a bucket missing (+Inf too, now and then)
          cumulative += pick(5);
          out.push_back(series("promptTokensBucket", cumulative));
          out.back().labels.emplace_back(std::string(kBucketLabel), le);
        }
        out.push_back(series("promptTokensSum", 100 + pick(1000) * cumulative));
        out.push_back(series("promptTokensCount", cumulative));
        if (chance(0.7)) {
          cumulative = 0;
          for (const char* le : {"0.025", "0.05", "0.1", "1000.0", "+Inf"}) {
            if (chance(0.1)) continue;
            cumulative += pick(7) / 4.0;
            out.push_back(series("requestTpotBucket", cumulative));
            out.back().labels.emplace_back(std::string(kBucketLabel), le);
          }
        }
      }
    }
    std::shuffle(out.begin(), out.end(), rng_);
    return out;
  }

  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
  const std::vector<std::string> namespaces_ = {"a", "b", "ns-1"};
  const std::vector<std::string> accelerators_ = {"h100", "a100", "l40s"};
};

// Runs one cycle through the current grouper (reused) and a fresh reference grouper; compares them.
void run_cycle(RandomCycles& rnd, Grouper& current, std::span<const sdk::ModelView> models, const LabelNames& names,
               Millis stale_after, const std::string& context) {
  reference::ReferenceGrouper ref(models, names, stale_after);
  // KV capacities kept from an earlier cycle: copied in one by one, or read in place from the cache.
  CapacityCache cache;
  std::size_t cached = 0;
  if (rnd.chance(0.3)) {
    const int n = rnd.pick(8);
    const bool from_cache = rnd.chance(0.5);
    std::vector<std::pair<std::string, std::string>> names_kept;
    std::vector<double> tokens_kept;
    for (int i = 0; i < n; ++i) {
      const sdk::ModelView* m =
          models.empty() ? nullptr : &models[static_cast<std::size_t>(rnd.pick(static_cast<int>(models.size())))];
      std::string ns = m ? m->key.ns : "a", pod = "stray-1";
      if (m && !m->variants.empty() && !m->variants.front().pods.empty()) pod = m->variants.front().pods.front();
      const double tokens = rnd.chance(0.1) ? -3.0 : rnd.pick(50000);
      if (!from_cache) current.add_capacity(ns, pod, tokens);
      ref.add_capacity(ns, pod, tokens);
      names_kept.emplace_back(ns, pod);
      tokens_kept.push_back(tokens);
    }
    if (from_cache) {
      std::vector<CapacityCache::Read> reads;
      for (std::size_t i = 0; i < names_kept.size(); ++i)
        reads.push_back(CapacityCache::Read{names_kept[i].first, names_kept[i].second, tokens_kept[i]});
      cache.replace(reads, sdk::TimePoint{});
      cache.feed(current);
      cached = reads.size();
    }
  }
  const int queries = 1 + rnd.pick(3);
  for (int q = 0; q < queries; ++q) {
    const std::optional<Signal> single =
        rnd.chance(0.2) ? std::optional<Signal>(static_cast<Signal>(rnd.pick(static_cast<int>(kSignalCount))))
                        : std::nullopt;
    const auto series = rnd.response({models.begin(), models.end()}, names, single);
    current.begin(single);
    ref.begin(single);
    // A transfer retried part way: what it handed over is forgotten.
    if (rnd.chance(0.15)) {
      for (std::size_t i = 0; i < series.size() / 2; ++i) {
        feed(current, series[i]);
        feed(ref, series[i]);
      }
      current.restart();
      ref.restart();
    }
    for (const auto& s : series) {
      feed(current, s);
      feed(ref, s);
    }
    if (rnd.chance(0.2)) {
      current.rollback();
      ref.rollback();
    } else {
      current.commit();
      ref.commit();
    }
  }
  std::vector<std::string> cur_caps, ref_caps;
  for (const auto& c : current.capacities())
    cur_caps.push_back(std::string(c.ns) + "/" + std::string(c.pod) + "=" + describe_value(c.tokens));
  // The cache's capacities are not the grouper's reads: the reference's copies of them come first.
  const auto ref_read = ref.capacities();
  for (const auto& c : std::span(ref_read).subspan(cached))
    ref_caps.push_back(std::string(c.ns) + "/" + std::string(c.pod) + "=" + describe_value(c.tokens));
  ASSERT_EQ(cur_caps, ref_caps) << context;

  const sdk::TimePoint at{std::chrono::seconds(1000 + rnd.pick(1000))};
  const auto got = current.finish(at);
  const auto want = ref.finish(at);
  ASSERT_EQ(got.size(), want.size()) << context;
  for (auto g = got.begin(), w = want.begin(); g != got.end(); ++g, ++w) {
    ASSERT_EQ(g->first, w->first) << context;
    ASSERT_EQ(describe(g->second), describe(w->second))
        << context << " model " << g->first.ns << "/" << g->first.model_id;
  }
  ASSERT_EQ(describe_stats(current.stats()), describe_stats(ref.stats())) << context;
}

TEST(GroupingEquivalence, RouteIndexGrouperMatchesTheReferenceOnRandomCycles) {
  for (unsigned seed = 1; seed <= 400; ++seed) {
    RandomCycles rnd(seed);
    const LabelNames names = rnd.label_names();
    const Millis stale_after(rnd.chance(0.5) ? 120000 : 60000);
    auto views = rnd.views();
    Grouper current(views, names, stale_after);
    for (int cycle = 0; cycle < 6; ++cycle) {
      const std::string context = "seed " + std::to_string(seed) + " cycle " + std::to_string(cycle);
      if (cycle > 0) {
        switch (rnd.pick(4)) {
          case 0: rnd.change_in_place(views); break;  // same vector, same storage, other names
          case 1: views = rnd.views(); break;         // other views
          default: break;                             // unchanged: the index is reused
        }
        current.reset(views);
      }
      run_cycle(rnd, current, views, names, stale_after, context);
      if (HasFatalFailure()) return;
    }
  }
}

// At a realistic size (many pods per model: the reference switches from scans to hash maps past 32) and
// every series of the per-pod and load groups, in arbitrary order.
TEST(GroupingEquivalence, LargeModelsInArbitraryOrder) {
  RandomCycles rnd(7);
  std::vector<sdk::ModelView> views;
  for (int m = 0; m < 40; ++m) {
    sdk::ModelView v;
    v.key = {"ns-" + std::to_string(m % 3), "org/model-" + std::to_string(m)};
    for (const char* acc : {"a100", "h100", "l40s"}) {
      sdk::Variant var;
      var.name = "model-" + std::to_string(m) + "-" + acc;
      const int pods = m % 5 == 0 ? 40 : 4;
      for (int r = 0; r < pods; ++r) var.pods.push_back(var.name + "-" + rnd.hash_like() + "-p" + std::to_string(r));
      v.variants.push_back(std::move(var));
    }
    views.push_back(std::move(v));
  }
  std::sort(views.begin(), views.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  Grouper current(views, LabelNames{}, Millis(120000));
  for (int cycle = 0; cycle < 3; ++cycle) {
    if (cycle > 0) current.reset(views);
    reference::ReferenceGrouper ref(views, LabelNames{}, Millis(120000));
    std::vector<Series> pods, load;
    for (const auto& m : views)
      for (const auto& v : m.variants) {
        for (const auto& p : v.pods)
          for (const char* sig : {"kvCacheUsage", "waiting", "running"})
            pods.push_back(
                Series{{{"wva_signal", sig}, {"namespace", m.key.ns}, {"model_name", m.key.model_id}, {"pod", p}},
                       rnd.pick(100) / 100.0});
        const std::string deployment = cycle == 1 ? std::string(deployment_of_pod(v.pods.front())) : v.name;
        for (const char* sig : {"completions", "promptTokensSum", "promptTokensCount", "ttftSum", "ttftCount"})
          load.push_back(Series{{{"wva_signal", sig},
                                 {"namespace", m.key.ns},
                                 {"model_name", m.key.model_id},
                                 {"wva_deployment", deployment}},
                                rnd.pick(1000) / 10.0});
        // vLLM's prompt-length buckets, cumulative.
        double cumulative = 0;
        for (const char* le : {"1.0", "2.0", "5.0", "10.0", "20.0", "50.0", "100.0", "200.0", "500.0", "1000.0",
                               "2000.0", "5000.0", "10000.0", "20000.0", "50000.0", "100000.0", "200000.0", "+Inf"}) {
          cumulative += rnd.pick(4) / 4.0;
          load.push_back(Series{{{"wva_signal", "promptTokensBucket"},
                                 {"namespace", m.key.ns},
                                 {"model_name", m.key.model_id},
                                 {"wva_deployment", deployment},
                                 {"le", le}},
                                cumulative});
        }
        // vLLM's TPOT buckets, cumulative.
        cumulative = 0;
        for (const char* le : {"0.01", "0.025", "0.05", "0.075", "0.1", "0.15", "0.2",  "0.3",  "0.4",  "0.5",
                               "0.75", "1.0",   "2.5",  "5.0",   "7.5", "10.0", "20.0", "40.0", "80.0", "+Inf"}) {
          cumulative += rnd.pick(4) / 8.0;
          load.push_back(Series{{{"wva_signal", "requestTpotBucket"},
                                 {"namespace", m.key.ns},
                                 {"model_name", m.key.model_id},
                                 {"wva_deployment", deployment},
                                 {"le", le}},
                                cumulative});
        }
      }
    std::shuffle(pods.begin(), pods.end(), rnd.rng());
    std::shuffle(load.begin(), load.end(), rnd.rng());
    for (auto* body : {&pods, &load}) {
      current.begin();
      ref.begin();
      for (const auto& s : *body) {
        feed(current, s);
        feed(ref, s);
      }
      current.commit();
      ref.commit();
    }
    const auto got = current.finish(sdk::TimePoint{});
    const auto want = ref.finish(sdk::TimePoint{});
    ASSERT_EQ(got.size(), views.size());
    ASSERT_EQ(got.size(), want.size());
    for (auto g = got.begin(), w = want.begin(); g != got.end(); ++g, ++w) {
      ASSERT_EQ(g->first, w->first);
      ASSERT_EQ(describe(g->second), describe(w->second));
      ASSERT_EQ(g->second.state, sdk::MetricsState::kOk);
      ASSERT_TRUE(g->second.load.prompt_tokens_cv.has_value()) << describe(g->second);
      ASSERT_EQ(g->second.load.request_tpot_buckets.size(), 20u) << describe(g->second);
      for (const auto& [variant, load] : g->second.load_by_variant)
        ASSERT_EQ(load.request_tpot_buckets.size(), 20u) << variant;
    }
    EXPECT_EQ(describe_stats(current.stats()), describe_stats(ref.stats()));
    EXPECT_EQ(current.stats().samples, pods.size() + load.size());
  }
}

// Between cycles the grouper holds its route index only: what a cycle read (pod and Deployment values,
// staged samples, capacity series, unlisted pods) is given back by finish(), cycle after cycle.
TEST(GroupingEquivalence, CycleStorageIsGivenBackByFinish) {
  std::vector<sdk::ModelView> views;
  for (int m = 0; m < 200; ++m) {
    sdk::ModelView v;
    v.key = {"ns", "org/model-" + std::to_string(m)};
    for (const char* acc : {"a100", "h100", "l40s"}) {
      sdk::Variant var;
      var.name = "model-" + std::to_string(m) + "-" + acc;
      for (int r = 0; r < 4; ++r) var.pods.push_back(var.name + "-7d9f8c6b5-p" + std::to_string(r));
      v.variants.push_back(std::move(var));
    }
    views.push_back(std::move(v));
  }
  Grouper g(views, LabelNames{}, Millis(120000));
  std::size_t between_cycles = 0;
  for (int cycle = 0; cycle < 3; ++cycle) {
    if (cycle > 0) g.reset(views);
    std::vector<Series> series;
    for (const auto& m : views)
      for (const auto& v : m.variants) {
        for (const auto& p : v.pods) {
          series.push_back(Series{
              {{"wva_signal", "kvCacheUsage"}, {"namespace", "ns"}, {"model_name", m.key.model_id}, {"pod", p}}, 0.5});
          series.push_back(Series{{{"wva_signal", "kvCapacity"}, {"namespace", "ns"}, {"pod", p}}, 4096});
          // A pod the host did not list.
          if (p.back() == '0')
            series.push_back(Series{
                {{"wva_signal", "waiting"}, {"namespace", "ns"}, {"model_name", m.key.model_id}, {"pod", p + "-new"}},
                1});
        }
        series.push_back(Series{{{"wva_signal", "completions"},
                                 {"namespace", "ns"},
                                 {"model_name", m.key.model_id},
                                 {"wva_deployment", v.name}},
                                2});
        for (const char* signal : {"promptTokensBucket", "requestTpotBucket"})
          for (const char* le : {"1000.0", "2000.0", "+Inf"})
            series.push_back(Series{{{"wva_signal", signal},
                                     {"namespace", "ns"},
                                     {"model_name", m.key.model_id},
                                     {"wva_deployment", v.name},
                                     {"le", le}},
                                    le[0] == '+' ? 3.0 : 1.0});
      }
    g.begin();
    for (const auto& s : series) feed(g, s);
    g.commit();
    const std::size_t during = g.allocated_bytes();
    const auto out = g.finish(sdk::TimePoint{});
    ASSERT_EQ(out.size(), views.size());
    EXPECT_EQ(out.begin()->second.replicas.size(), 15u);  // 12 listed, 3 not
    EXPECT_TRUE(g.capacities().empty());
    EXPECT_EQ(out.begin()->second.load.request_tpot_buckets.size(), 3u);
    // A cycle holds at least its staged samples and the values of every pod and Deployment.
    EXPECT_GE(during, g.allocated_bytes() + series.size() * 16 + 2400 * 48 + 600 * 100 + 3600 * 16)
        << "cycle " << cycle;
    if (cycle == 0) between_cycles = g.allocated_bytes();
    EXPECT_EQ(g.allocated_bytes(), between_cycles) << "cycle " << cycle;
  }
  // finish() again without reset(): nothing was read since, every model has no data.
  const auto again = g.finish(sdk::TimePoint{});
  ASSERT_EQ(again.size(), views.size());
  for (const auto& [key, m] : again) EXPECT_EQ(m.state, sdk::MetricsState::kNoData) << key.model_id;
  EXPECT_EQ(g.allocated_bytes(), between_cycles);
}

// The route index is rebuilt exactly when a routing name changes, also when the views change in place.
TEST(GroupingEquivalence, RouteIndexRebuildsOnlyWhenRoutingNamesChange) {
  std::vector<sdk::ModelView> views(2);
  views[0].key = {"a", "m0"};
  views[1].key = {"a", "m1"};
  views[0].variants.resize(1);
  views[0].variants[0].name = "d0";
  views[0].variants[0].pods = {"d0-1", "d0-2"};
  RouteIndex index;
  EXPECT_TRUE(index.update(views));
  const auto generation = index.generation();
  EXPECT_FALSE(index.update(views));
  views[1].metrics.message = "not a routing name";
  views[0].variants[0].current_replicas = 7;
  EXPECT_FALSE(index.update(views));
  EXPECT_EQ(index.generation(), generation);
  views[0].variants[0].pods[1] = "d0-3";  // in place: the same vector and strings
  EXPECT_TRUE(index.update(views));
  EXPECT_NE(index.generation(), generation);
  EXPECT_NE(index.find_pod(0, "d0-3"), RouteIndex::kNone);
  EXPECT_EQ(index.find_pod(0, "d0-2"), RouteIndex::kNone);
  views[0].variants[0].pods.push_back("d0-4");
  EXPECT_TRUE(index.update(views));
  views.pop_back();
  EXPECT_TRUE(index.update(views));
  EXPECT_EQ(index.find_model("a", "m1"), RouteIndex::kNone);
  EXPECT_EQ(index.find_model("a", "m0"), 0u);
  // A key split differently ("a" + "m0" against "am" + "0") is another key.
  EXPECT_EQ(index.find_model("am", "0"), RouteIndex::kNone);
}

}  // namespace
}  // namespace wva::prometheus
