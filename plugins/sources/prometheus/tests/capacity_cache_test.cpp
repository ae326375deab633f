// KV capacities handed over from the cache (CapacityCache, read in an earlier cycle) against the same
// capacities arriving as vllm:cache_config_info series, over random fleets and series: the same metrics,
// messages and counts. And the pieces the cache and the reader use: FlatIndex against
// std::unordered_multimap, the plain-decimal parse against std::from_chars.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <unordered_map>

#include "capacity_cache.h"
#include "flat_index.h"
#include "grouping.h"

namespace wva::prometheus {
namespace {

constexpr double kNow = 1795808585.0;

struct RandomFleet {
  std::vector<sdk::ModelView> models;
  std::vector<std::string> pods_seen;  // every pod name a series may carry, host-listed or not
};

std::string pick(std::mt19937& rng, const std::vector<std::string>& from) {
  return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
}

RandomFleet make_fleet(std::mt19937& rng) {
  RandomFleet f;
  const std::vector<std::string> namespaces = {"a", "b", "team-x"};
  const int model_count = std::uniform_int_distribution<int>(1, 12)(rng);
  for (int m = 0; m < model_count; ++m) {
    sdk::ModelView mv;
    mv.key = {pick(rng, namespaces), "org/m" + std::to_string(rng() % 6)};  // repeated keys now and then
    const int variants = std::uniform_int_distribution<int>(0, 4)(rng);
    for (int v = 0; v < variants; ++v) {
      sdk::Variant var;
      // Names that prefix each other ("m1", "m1-fast") exercise the longest-prefix rule.
      var.name = "m" + std::to_string(m) + (v % 2 ? "-fast" : "") + (v >= 2 ? "-x" + std::to_string(v) : "");
      const int pods = rng() % 5 == 0 ? std::uniform_int_distribution<int>(30, 45)(rng)
                                      : std::uniform_int_distribution<int>(0, 6)(rng);
      for (int p = 0; p < pods; ++p) {
        std::string pod = rng() % 2 ? var.name + "-7d9f8c6b5-" + std::to_string(p) : var.name + "-" + std::to_string(p);
        if (rng() % 40 == 0 && !var.pods.empty()) pod = var.pods.front();  // listed twice
        var.pods.push_back(pod);
        f.pods_seen.push_back(pod);
      }
      mv.variants.push_back(std::move(var));
    }
    // Pods the host does not list: a variant's prefix, or nothing.
    for (int extra = 0; extra < 3; ++extra) {
      f.pods_seen.push_back(mv.variants.empty()
                                ? "lone-" + std::to_string(extra)
                                : mv.variants[rng() % mv.variants.size()].name + "-new-" + std::to_string(extra));
      f.pods_seen.push_back("other-" + std::to_string(m) + "-" + std::to_string(extra));
    }
    f.models.push_back(std::move(mv));
  }
  return f;
}

double random_value(std::mt19937& rng, Signal s) {
  switch (rng() % 12) {
    case 0: return std::numeric_limits<double>::quiet_NaN();
    case 1: return std::numeric_limits<double>::infinity();
    case 2: return -1;    // outside most domains
    case 3: return 2e12;  // above the plausible rates
    case 4: return 0;
    default: break;
  }
  if (s == Signal::kKvCacheUsage) return std::uniform_real_distribution<double>(0, 1.2)(rng);
  if (s == Signal::kSampleTime) return kNow - std::uniform_real_distribution<double>(0, 400)(rng);
  return std::uniform_real_distribution<double>(0, 50)(rng);
}

// One random series: labels as the batched queries carry them (and broken ones), in a random order.
struct SeriesText {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0, timestamp = kNow;
};

SeriesText random_series(std::mt19937& rng, const RandomFleet& f, bool tagged, Signal single) {
  SeriesText s;
  const auto signal = tagged ? static_cast<Signal>(rng() % kSignalCount) : single;
  if (tagged) {
    if (rng() % 30 == 0) s.labels.emplace_back("wva_signal", "unknownSignal");
    else if (rng() % 50 != 0) s.labels.emplace_back("wva_signal", std::string(signal_name(signal)));
  }
  const sdk::ModelView& m = f.models[rng() % f.models.size()];
  const std::string ns = rng() % 25 == 0 ? "elsewhere" : m.key.ns;
  const std::string model = rng() % 25 == 0 ? "org/unknown" : m.key.model_id;
  const std::string pod = pick(rng, f.pods_seen);
  if (signal == Signal::kKvCapacity) {
    if (rng() % 20 != 0) s.labels.emplace_back("namespace", ns);
    if (rng() % 20 != 0) s.labels.emplace_back("pod", pod);
    if (rng() % 3 != 0) {
      s.labels.emplace_back("num_gpu_blocks", rng() % 10 == 0 ? "x" : std::to_string(1000 + rng() % 3000));
      s.labels.emplace_back("block_size", "16");
    }
  } else {
    if (rng() % 30 != 0) s.labels.emplace_back("namespace", ns);
    if (rng() % 30 != 0) s.labels.emplace_back("model_name", model);
    const bool per_deployment = signal_group(signal) == SignalGroup::kLoad && rng() % 2 == 0;
    if (per_deployment) {
      std::string deployment = m.variants.empty() ? "nothing" : m.variants[rng() % m.variants.size()].name;
      if (rng() % 4 == 0) deployment = std::string(deployment_of_pod(pod));
      if (rng() % 10 == 0) deployment = deployment + "-0";  // a LeaderWorkerSet group
      s.labels.emplace_back("wva_deployment", deployment);
    } else if (signal != Signal::kRouterQueue && rng() % 40 != 0) {
      s.labels.emplace_back("pod", rng() % 40 == 0 ? "" : pod);
    }
  }
  s.labels.emplace_back("container", "vllm");
  std::shuffle(s.labels.begin(), s.labels.end(), rng);
  s.value = random_value(rng, signal);
  s.timestamp = kNow + static_cast<double>(rng() % 3);
  return s;
}

void expect_same_load(const sdk::Load& a, const sdk::Load& b, const std::string& where) {
  EXPECT_EQ(a.arrival_rate, b.arrival_rate) << where;
  EXPECT_EQ(a.avg_input_tokens, b.avg_input_tokens) << where;
  EXPECT_EQ(a.avg_output_tokens, b.avg_output_tokens) << where;
  EXPECT_EQ(a.ttft_ms, b.ttft_ms) << where;
  EXPECT_EQ(a.itl_ms, b.itl_ms) << where;
  EXPECT_EQ(a.prompt_tokens_rate, b.prompt_tokens_rate) << where;
  EXPECT_EQ(a.generation_tokens_rate, b.generation_tokens_rate) << where;
  EXPECT_EQ(a.router_queue, b.router_queue) << where;
}

void expect_same(const std::map<sdk::ModelKey, sdk::ModelMetrics>& got,
                 const std::map<sdk::ModelKey, sdk::ModelMetrics>& want, int round) {
  ASSERT_EQ(got.size(), want.size()) << "round " << round;
  for (auto g = got.begin(), w = want.begin(); g != got.end(); ++g, ++w) {
    const std::string where = "round " + std::to_string(round) + " model " + g->first.ns + "/" + g->first.model_id;
    ASSERT_EQ(g->first, w->first) << where;
    EXPECT_EQ(g->second.state, w->second.state) << where;
    EXPECT_EQ(g->second.message, w->second.message) << where;
    EXPECT_EQ(g->second.collected_at, w->second.collected_at) << where;
    ASSERT_EQ(g->second.replicas.size(), w->second.replicas.size()) << where;
    for (std::size_t i = 0; i < g->second.replicas.size(); ++i) {
      const auto& a = g->second.replicas[i];
      const auto& b = w->second.replicas[i];
      EXPECT_EQ(a.pod, b.pod) << where;
      EXPECT_EQ(a.variant, b.variant) << where;
      EXPECT_EQ(a.kv_cache_usage, b.kv_cache_usage) << where << " " << a.pod;
      EXPECT_EQ(a.waiting, b.waiting) << where << " " << a.pod;
      EXPECT_EQ(a.running, b.running) << where << " " << a.pod;
      EXPECT_EQ(a.kv_capacity_tokens, b.kv_capacity_tokens) << where << " " << a.pod;
      EXPECT_EQ(a.sample_time, b.sample_time) << where << " " << a.pod;
    }
    ASSERT_EQ(g->second.load_by_variant.size(), w->second.load_by_variant.size()) << where;
    for (auto gl = g->second.load_by_variant.begin(), wl = w->second.load_by_variant.begin();
         gl != g->second.load_by_variant.end(); ++gl, ++wl) {
      EXPECT_EQ(gl->first, wl->first) << where;
      expect_same_load(gl->second, wl->second, where + " variant " + gl->first);
    }
    expect_same_load(g->second.load, w->second.load, where);
  }
}

TEST(CapacityCache, CachedCapacitiesGiveTheSameMetricsAsTheSeries) {
  std::mt19937 rng(20261206);
  std::size_t capacities_compared = 0, rollbacks = 0;
  for (int round = 0; round < 300; ++round) {
    const RandomFleet fleet = make_fleet(rng);
    // One cycle reads everything; an earlier cycle read only the capacity series (into the cache), and
    // this cycle's grouper gets the other series plus the cached capacities.
    Grouper with_series(fleet.models, LabelNames{}, Millis(120000));
    Grouper capacity_read(fleet.models, LabelNames{}, Millis(120000));
    Grouper with_cache(fleet.models, LabelNames{}, Millis(120000));
    std::size_t capacity_series_ignored = 0;
    struct Query {
      std::optional<Signal> untagged;
      std::vector<SeriesText> series;
      bool rollback = false;
    };
    std::vector<Query> queries(std::uniform_int_distribution<std::size_t>(1, 4)(rng));
    for (Query& q : queries) {
      const bool tagged = rng() % 4 != 0;
      const auto single = static_cast<Signal>(rng() % kSignalCount);
      q.untagged = tagged ? std::nullopt : std::optional<Signal>(single);
      const int series = std::uniform_int_distribution<int>(0, 150)(rng);
      for (int i = 0; i < series; ++i) q.series.push_back(random_series(rng, fleet, tagged, single));
      q.rollback = rng() % 6 == 0;
      rollbacks += q.rollback;
    }
    const auto is_capacity = [](const Query& q, const SeriesText& s) {
      if (q.untagged) return *q.untagged == Signal::kKvCapacity;
      for (const auto& [k, v] : s.labels)
        if (k == "wva_signal") return v == "kvCapacity";
      return false;
    };
    const auto feed = [](Grouper& g, const Query& q, const std::vector<const SeriesText*>& series) {
      g.begin(q.untagged);
      for (const SeriesText* text : series) {
        std::vector<LabelView> labels;
        for (const auto& [k, v] : text->labels) labels.push_back(LabelView{k, v});
        g.on_sample(SampleView{labels, text->value, text->timestamp});
      }
      if (q.rollback) g.rollback();
      else g.commit();
    };
    for (const Query& q : queries) {
      std::vector<const SeriesText*> all, capacity, rest;
      for (const SeriesText& s : q.series) {
        all.push_back(&s);
        (is_capacity(q, s) ? capacity : rest).push_back(&s);
      }
      feed(capacity_read, q, capacity);
      feed(with_series, q, all);
    }
    CapacityCache cache;
    const sdk::TimePoint at{std::chrono::seconds(1795808590)};
    cache.replace(capacity_read.capacities(), at);
    cache.feed(with_cache);
    for (const Query& q : queries) {
      std::vector<const SeriesText*> rest;
      for (const SeriesText& s : q.series)
        if (!is_capacity(q, s)) rest.push_back(&s);
      feed(with_cache, q, rest);
    }
    capacities_compared += capacity_read.capacities().size();
    (void)capacity_read.finish(at);  // no pod seen: every capacity series it read counts as ignored
    capacity_series_ignored = capacity_read.stats().ignored;

    const auto got = with_cache.finish(at);
    const auto want = with_series.finish(at);
    expect_same(got, want, round);
    const GroupStats& a = with_cache.stats();
    const GroupStats& b = with_series.stats();
    EXPECT_EQ(a.samples, b.samples) << "round " << round;
    // The cached cycle reads no capacity series: the ignored ones among them are not counted again.
    EXPECT_LE(a.ignored, b.ignored) << "round " << round;
    EXPECT_GE(a.ignored + capacity_series_ignored, b.ignored) << "round " << round;
    EXPECT_EQ(a.non_finite, b.non_finite) << "round " << round;
    EXPECT_EQ(a.invalid, b.invalid) << "round " << round;
    EXPECT_EQ(a.unmapped_pods, b.unmapped_pods) << "round " << round;
    EXPECT_EQ(a.unmapped_deployments, b.unmapped_deployments) << "round " << round;
    if (HasFailure()) break;
  }
  // The inputs reached the cases they are for.
  EXPECT_GT(capacities_compared, 500u);
  EXPECT_GT(rollbacks, 20u);
}

// The index keeps 32 bits of each hash: keys whose hashes collide whole (a few buckets), or only in the
// kept high half, are told apart by the caller's comparison all the same.
std::uint64_t test_hash(int round, const std::string& key) {
  const std::uint64_t h = hash_bytes(key);
  if (round % 5 == 0) return h % 7;
  if (round % 5 == 1) return ((h % 5) << 32) | (h & 0xFFFFFFFFULL);
  return h;
}

TEST(CapacityCache, FlatIndexFindsWhatAMultimapFinds) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    FlatIndex index;
    std::unordered_multimap<std::string, std::uint32_t> want;
    std::vector<std::string> keys;
    index.reset(rng() % 3 == 0 ? 0 : rng() % 500);
    const int n = std::uniform_int_distribution<int>(0, 3000)(rng);
    for (int i = 0; i < n; ++i) {
      std::string key = "k" + std::to_string(rng() % 2000) + std::string(rng() % 20, 'x');
      const auto value = static_cast<std::uint32_t>(keys.size());
      keys.push_back(key);
      const std::uint64_t h = test_hash(round, key);
      index.insert(h, value);
      want.emplace(key, value);
    }
    EXPECT_EQ(index.size(), want.size());
    EXPECT_LE(index.size() * 2, index.capacity());
    for (int probe = 0; probe < 2000; ++probe) {
      const std::string key = "k" + std::to_string(rng() % 2500) + std::string(rng() % 20, 'x');
      const std::uint64_t h = test_hash(round, key);
      const std::uint32_t got = index.find(h, [&](std::uint32_t v) { return keys[v] == key; });
      const auto [lo, hi] = want.equal_range(key);
      if (lo == hi) {
        EXPECT_EQ(got, FlatIndex::kNone) << key;
      } else {
        ASSERT_NE(got, FlatIndex::kNone) << key;
        EXPECT_EQ(keys[got], key);
      }
      // for_each reaches every value of the key (and others the caller tells apart).
      std::vector<std::uint32_t> all, wanted;
      index.for_each(h, [&](std::uint32_t v) {
        if (keys[v] == key) all.push_back(v);
      });
      for (auto it = lo; it != hi; ++it) wanted.push_back(it->second);
      std::sort(all.begin(), all.end());
      std::sort(wanted.begin(), wanted.end());
      EXPECT_EQ(all, wanted) << key;
    }
  }
  // A reset far below the capacity gives the memory back.
  FlatIndex big;
  big.reset(100000);
  const std::size_t large = big.capacity();
  big.reset(10);
  EXPECT_LT(big.capacity(), large / 100);
}

// The cache holds a pod's name once and its namespace once per namespace: at 10,000 pods in a few
// namespaces it stays near the names' bytes plus 20 bytes a pod and its index (8 bytes a slot, at most
// half full), far below the 80-odd bytes a pod of one entry with offsets, sizes and a 64-bit hash.
TEST(CapacityCache, KeepsNamesOnceAndCompactEntries) {
  std::vector<std::string> names;
  std::size_t name_bytes = 0;
  for (int i = 0; i < 10000; ++i) {
    names.push_back("model-" + std::to_string(i / 12) + "-h100-7d9f8c6b5-" + std::to_string(i % 12));
    name_bytes += names.back().size();
  }
  std::vector<CapacityCache::Read> reads;
  for (int i = 0; i < 10000; ++i)
    reads.push_back(CapacityCache::Read{i % 3 == 0 ? "team-a" : (i % 3 == 1 ? "team-b" : "team-c"),
                                        names[static_cast<std::size_t>(i)], 1000.0 + i});
  CapacityCache cache;
  cache.replace(reads, sdk::TimePoint{});
  ASSERT_EQ(cache.size(), 10000u);
  for (int i = 0; i < 10000; i += 97)
    EXPECT_TRUE(cache.has(reads[static_cast<std::size_t>(i)].ns, reads[static_cast<std::size_t>(i)].pod));
  EXPECT_FALSE(cache.has("team-a", names[1]));  // pod 1 is in team-b
  std::size_t seen = 0;
  cache.for_each([&](std::string_view ns, std::string_view pod, double tokens) {
    EXPECT_EQ(ns, reads[seen].ns);
    EXPECT_EQ(pod, reads[seen].pod);
    EXPECT_EQ(tokens, reads[seen].tokens);
    ++seen;
  });
  EXPECT_EQ(seen, 10000u);
  EXPECT_LE(cache.allocated_bytes(), name_bytes + 512 + 10000 * 20 + 32768 * 8);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_LE(cache.allocated_bytes(), 16u * 8);
}

TEST(ParserFastPaths, PlainDecimalsParseAsFromChars) {
  // parse_sample_value's fast path for plain decimals against std::from_chars on random and edge inputs.
  std::mt19937_64 rng(11);
  std::vector<std::string> inputs = {"0",
                                     "-0",
                                     "1.",
                                     ".5",
                                     "-.5",
                                     "0.1",
                                     "0.3",
                                     "123456789012345",
                                     "9007199254740993",
                                     "9007199254740992",
                                     "1796518549.283",
                                     "0.0000000000000001",
                                     "1234567890123456",
                                     "00001.5000"};
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    if (rng() % 2) s.push_back('-');
    const int int_digits = static_cast<int>(rng() % 12);
    for (int d = 0; d < int_digits; ++d) s.push_back(static_cast<char>('0' + rng() % 10));
    if (rng() % 3 != 0) {
      s.push_back('.');
      const int frac_digits = static_cast<int>(rng() % 14);
      for (int d = 0; d < frac_digits; ++d) s.push_back(static_cast<char>('0' + rng() % 10));
    }
    inputs.push_back(s);
  }
  std::size_t parsed = 0;
  for (const std::string& s : inputs) {
    double want = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), want);
    const bool valid = ec == std::errc() && ptr == s.data() + s.size() && !s.empty() &&
                       (std::isdigit(static_cast<unsigned char>(s.back())) || s.back() == '.') &&
                       s.find_first_of("0123456789") != std::string::npos;
    const auto got = parse_sample_value(s);
    if (!valid) continue;
    ++parsed;
    ASSERT_TRUE(got.has_value()) << s;
    EXPECT_EQ(std::signbit(*got), std::signbit(want)) << s;
    EXPECT_EQ(*got, want) << s;
  }
  EXPECT_GT(parsed, 150000u);
}

}  // namespace
}  // namespace wva::prometheus
