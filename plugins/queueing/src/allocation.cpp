#include "allocation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

namespace wva::queueing {

namespace {

constexpr double kCeilSlack = 1e-9;              // ceil(5 / 0.8333333) must be 6, not 7
constexpr long long kMaxCombinations = 200'000;  // enumeration budget per set of variants in use
constexpr int kMaxOptionalForAllSubsets = 8;     // beyond this, only sets of up to 2 optional variants

int ceil_div(double need, double rate) {
  if (need <= 0) return 0;
  const double r = std::ceil(need / rate - kCeilSlack);
  return r > 1e9 ? 1'000'000'000 : static_cast<int>(std::max(0.0, r));
}

std::set<std::string> types_in_use(const AllocationProblem& p, const std::vector<int>& replicas) {
  std::set<std::string> out;
  for (size_t i = 0; i < p.variants.size(); ++i)
    if (replicas[i] > 0) out.insert(p.variants[i].type());
  return out;
}

void finish(const AllocationProblem& p, Allocation& a) {
  a.cost = 0;
  a.capacity = 0;
  a.gpus.clear();
  for (size_t i = 0; i < p.variants.size(); ++i) {
    const auto& v = p.variants[i];
    a.cost += a.replicas[i] * v.cost_per_replica;
    a.capacity += a.replicas[i] * v.rate_per_replica;
    if (a.replicas[i] > 0) a.gpus[v.type()] += a.replicas[i] * v.gpus_per_replica;
  }
  a.penalty = transition_penalty(p, a.replicas, a.cost);
  a.value = a.cost + a.penalty;
}

// Cheapest replicas for one set of variants in use. `in_use[i]`: variant i gets at least one replica
// (and at least its floor); the others get exactly their floor.
std::optional<Allocation> best_for_set(const AllocationProblem& p, const std::vector<bool>& in_use) {
  const size_t n = p.variants.size();
  std::vector<int> lb(n), ub(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& v = p.variants[i];
    lb[i] = in_use[i] ? std::max(1, v.floor) : v.floor;
    const int cap = v.max ? *v.max : std::numeric_limits<int>::max();
    if (lb[i] > cap) return std::nullopt;  // the set asks for more than the max allows
    ub[i] = in_use[i] ? cap : lb[i];
  }
  // Load carriers of the set, cheapest per request first; the first one absorbs the remainder.
  std::vector<size_t> carriers;
  for (size_t i = 0; i < n; ++i)
    if (in_use[i] && p.variants[i].rate_per_replica > 0) carriers.push_back(i);
  Allocation best;
  best.replicas = lb;
  double base_capacity = 0;
  for (size_t i = 0; i < n; ++i) base_capacity += lb[i] * p.variants[i].rate_per_replica;
  if (carriers.empty()) {
    if (base_capacity + kCeilSlack < p.load) return std::nullopt;
    finish(p, best);
    return best;
  }
  std::sort(carriers.begin(), carriers.end(), [&](size_t a, size_t b) {
    const auto& va = p.variants[a];
    const auto& vb = p.variants[b];
    const double ka = va.cost_per_replica / va.rate_per_replica, kb = vb.cost_per_replica / vb.rate_per_replica;
    return ka != kb ? ka < kb : va.name < vb.name;
  });
  const size_t a = carriers[0];
  const auto& va = p.variants[a];
  // Ranges of the other carriers: never more than the whole load needs, and (exchange argument) never so
  // many that swapping them for replicas of the cheapest-per-request variant would be cheaper.
  std::vector<std::pair<size_t, int>> ranges;  // (variant, extra replicas above lb allowed)
  for (size_t k = 1; k < carriers.size(); ++k) {
    const size_t i = carriers[k];
    const auto& v = p.variants[i];
    long long extra = ceil_div(p.load, v.rate_per_replica);
    if (!va.max) {
      const double gap = v.cost_per_replica - v.rate_per_replica * va.cost_per_replica / va.rate_per_replica;
      if (gap > 0) extra = std::min<long long>(extra, static_cast<long long>(std::ceil(va.cost_per_replica / gap)));
    }
    extra = std::min<long long>(extra, static_cast<long long>(ub[i]) - lb[i]);
    ranges.emplace_back(i, static_cast<int>(std::max(0LL, extra)));
  }
  // Keep the enumeration bounded.
  long long combos = 1;
  for (auto& [i, extra] : ranges) {
    const long long room = std::max(1LL, kMaxCombinations / combos);
    extra = static_cast<int>(std::min<long long>(extra, room - 1));
    combos *= extra + 1;
  }
  bool found = false;
  std::vector<int> r = lb;
  std::vector<int> counter(ranges.size(), 0);
  for (long long step = 0; step < combos; ++step) {
    double carried = 0;
    for (size_t i = 0; i < n; ++i)
      if (i != a) carried += r[i] * p.variants[i].rate_per_replica;
    const int need_a = std::max(lb[a], ceil_div(p.load - carried, va.rate_per_replica));
    if (need_a <= ub[a]) {
      std::vector<int> cand = r;
      cand[a] = need_a;
      double cost = 0;
      for (size_t i = 0; i < n; ++i) cost += cand[i] * p.variants[i].cost_per_replica;
      const double value = cost + transition_penalty(p, cand, cost);
      if (!found || value < best.value - 1e-12) {
        found = true;
        best.replicas = cand;
        best.value = value;
      }
    }
    // Odometer over the other carriers' extra replicas.
    for (size_t k = 0; k < ranges.size(); ++k) {
      const size_t i = ranges[k].first;
      if (counter[k] < ranges[k].second) {
        ++counter[k];
        ++r[i];
        break;
      }
      r[i] -= counter[k];
      counter[k] = 0;
    }
  }
  if (!found) return std::nullopt;
  finish(p, best);
  return best;
}

}  // namespace

int Allocation::total() const { return std::accumulate(replicas.begin(), replicas.end(), 0); }

double transition_penalty(const AllocationProblem& p, const std::vector<int>& replicas, double new_cost) {
  double old_cost = 0;
  bool any_now = false;
  for (size_t i = 0; i < p.variants.size(); ++i) {
    old_cost += p.variants[i].current * p.variants[i].cost_per_replica;
    any_now = any_now || p.variants[i].current > 0;
  }
  if (!any_now) return 0.0;
  std::vector<int> current;
  for (const auto& v : p.variants) current.push_back(v.current);
  if (types_in_use(p, current) == types_in_use(p, replicas)) return 0.0;
  return p.penalty_factor * (old_cost + new_cost);
}

std::vector<Allocation> candidate_allocations(const AllocationProblem& p) {
  const size_t n = p.variants.size();
  std::vector<Allocation> out;
  if (n == 0) return out;
  // Variants with a floor >= 1 are always in use; the others may or may not be.
  std::vector<size_t> optional;
  for (size_t i = 0; i < n; ++i)
    if (p.variants[i].floor < 1 && p.variants[i].rate_per_replica > 0) optional.push_back(i);
  const bool all_subsets = optional.size() <= kMaxOptionalForAllSubsets;
  const unsigned long long subsets = all_subsets ? (1ULL << optional.size()) : 0;
  auto consider = [&](const std::vector<bool>& in_use) {
    std::vector<bool> use = in_use;
    for (size_t i = 0; i < n; ++i) use[i] = use[i] || p.variants[i].floor >= 1;
    auto a = best_for_set(p, use);
    if (!a) return;
    if (p.keep_one && a->total() == 0) return;
    for (const auto& existing : out)
      if (existing.replicas == a->replicas) return;
    out.push_back(std::move(*a));
  };
  if (all_subsets) {
    for (unsigned long long mask = 0; mask < subsets; ++mask) {
      std::vector<bool> in_use(n, false);
      for (size_t k = 0; k < optional.size(); ++k) in_use[optional[k]] = (mask >> k) & 1ULL;
      consider(in_use);
    }
  } else {
    consider(std::vector<bool>(n, false));
    for (size_t x = 0; x < optional.size(); ++x)
      for (size_t y = x; y < optional.size(); ++y) {
        std::vector<bool> in_use(n, false);
        in_use[optional[x]] = in_use[optional[y]] = true;
        consider(in_use);
      }
  }
  if (out.empty()) {
    // Nothing carries the load within the max replicas: every carrier at its max (or what the whole
    // load would need), the rest at their floor; flagged so the caller says so.
    Allocation a;
    for (const auto& v : p.variants) {
      int r = v.floor;
      if (v.rate_per_replica > 0) {
        r = std::max(v.floor, std::max(1, ceil_div(p.load, v.rate_per_replica)));
        if (v.max) r = std::min(r, *v.max);
      }
      a.replicas.push_back(std::max(r, 0));
    }
    if (p.keep_one && a.total() == 0) a.replicas[0] = 1;
    finish(p, a);
    a.carries_load = a.capacity + kCeilSlack >= p.load;
    out.push_back(std::move(a));
    return out;
  }
  std::stable_sort(out.begin(), out.end(), [](const Allocation& x, const Allocation& y) {
    if (x.value != y.value) return x.value < y.value;
    return x.total() < y.total();
  });
  return out;
}

// ---- limited mode ---------------------------------------------------------------------------------

const char* to_string(BestEffort policy) {
  switch (policy) {
    case BestEffort::kNone: return "None";
    case BestEffort::kPriorityExhaustive: return "PriorityExhaustive";
    case BestEffort::kPriorityRoundRobin: return "PriorityRoundRobin";
    case BestEffort::kRoundRobin: return "RoundRobin";
  }
  return "None";
}

std::optional<BestEffort> parse_best_effort(const std::string& name) {
  for (auto p :
       {BestEffort::kNone, BestEffort::kPriorityExhaustive, BestEffort::kPriorityRoundRobin, BestEffort::kRoundRobin})
    if (name == to_string(p)) return p;
  return std::nullopt;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool fits(const std::map<std::string, int>& gpus, const std::map<std::string, long long>& avail) {
  for (const auto& [type, need] : gpus) {
    auto it = avail.find(type);
    if (it != avail.end() && it->second < need) return false;
  }
  return true;
}

void take(const std::map<std::string, int>& gpus, std::map<std::string, long long>& avail) {
  for (const auto& [type, need] : gpus)
    if (auto it = avail.find(type); it != avail.end()) it->second -= need;
}

// One more replica of variant v of model m fits?
bool take_one(const ModelCandidates& m, size_t v, std::map<std::string, long long>& avail) {
  auto it = avail.find(m.types[v]);
  if (it == avail.end()) return true;  // unlimited type
  if (it->second < m.gpus_per_replica[v]) return false;
  it->second -= m.gpus_per_replica[v];
  return true;
}

}  // namespace

std::vector<LimitedResult> allocate_limited(const std::vector<ModelCandidates>& models,
                                            const std::map<std::string, int>& capacity, BestEffort policy) {
  std::map<std::string, long long> avail;
  for (const auto& [type, count] : capacity) avail[type] = std::max(0, count);
  std::vector<LimitedResult> results(models.size());
  for (size_t i = 0; i < models.size(); ++i) results[i].id = models[i].id;

  // Greedy queue entries: (model index, candidate index).
  struct Entry {
    size_t model;
    size_t cand;
  };
  auto delta = [&](const Entry& e) {
    const auto& c = models[e.model].candidates;
    return e.cand + 1 < c.size() ? c[e.cand + 1].value - c[e.cand].value : kInf;
  };
  // Upstream order: priority (1 first), then the gap to the next candidate (larger first: the model that
  // loses most by moving on goes first), then current value (larger first); id for determinism.
  auto before = [&](const Entry& x, const Entry& y) {
    const auto& mx = models[x.model];
    const auto& my = models[y.model];
    if (mx.priority != my.priority) return mx.priority < my.priority;
    const double dx = delta(x), dy = delta(y);
    if (dx != dy) return dx > dy;
    if (mx.current_value != my.current_value) return mx.current_value > my.current_value;
    return mx.id < my.id;
  };
  std::vector<Entry> queue;
  for (size_t i = 0; i < models.size(); ++i)
    if (!models[i].candidates.empty()) queue.push_back({i, 0});
  std::sort(queue.begin(), queue.end(), before);
  std::vector<size_t> unallocated;
  // Each pop either allocates a model or advances one of its candidates: bounded by sum of candidates.
  while (!queue.empty()) {
    Entry top = queue.front();
    queue.erase(queue.begin());
    const auto& m = models[top.model];
    const auto& cand = m.candidates[top.cand];
    if (fits(cand.gpus, avail)) {
      take(cand.gpus, avail);
      auto& r = results[top.model];
      r.allocated = true;
      r.candidate = static_cast<int>(top.cand);
      r.replicas = cand.replicas;
      r.reason = top.cand == 0
                     ? "fits the GPU capacity"
                     : "candidate " + std::to_string(top.cand + 1) + " of " + std::to_string(m.candidates.size()) +
                           " (cheaper ones did not fit the GPU capacity left)";
      continue;
    }
    if (top.cand + 1 < m.candidates.size()) {
      ++top.cand;
      queue.insert(std::upper_bound(queue.begin(), queue.end(), top, before), top);
    } else {
      unallocated.push_back(top.model);
    }
  }
  for (size_t i = 0; i < models.size(); ++i)
    if (models[i].candidates.empty()) results[i].reason = "no candidate allocation";

  auto capacity_note = [](const ModelCandidates& m, const std::vector<int>& got) {
    const auto& want = m.candidates.front().replicas;
    int g = 0, w = 0;
    for (size_t v = 0; v < want.size(); ++v) {
      g += got[v];
      w += want[v];
    }
    return std::to_string(g) + " of the " + std::to_string(w) + " replicas it needs";
  };
  if (policy == BestEffort::kNone || unallocated.empty()) {
    for (size_t i : unallocated)
      results[i].reason = "no candidate fits the GPU capacity left (best-effort policy None)";
    return results;
  }
  // Best effort: the replicas of each model's cheapest candidate, as far as the capacity left allows.
  std::stable_sort(unallocated.begin(), unallocated.end(), [&](size_t x, size_t y) {
    if (models[x].priority != models[y].priority) return models[x].priority < models[y].priority;
    return models[x].id < models[y].id;
  });
  std::vector<std::vector<int>> got(models.size());
  for (size_t i : unallocated) got[i].assign(models[i].candidates.front().replicas.size(), 0);
  auto wants_more = [&](size_t i, size_t v) { return got[i][v] < models[i].candidates.front().replicas[v]; };

  if (policy == BestEffort::kPriorityExhaustive) {
    for (size_t i : unallocated)
      for (size_t v = 0; v < got[i].size(); ++v)
        while (wants_more(i, v) && take_one(models[i], v, avail)) ++got[i][v];
  } else {
    // Round robin one replica at a time, within priority groups or across all models.
    size_t start = 0;
    while (start < unallocated.size()) {
      size_t end = start;
      if (policy == BestEffort::kRoundRobin) end = unallocated.size();
      else
        while (end < unallocated.size() && models[unallocated[end]].priority == models[unallocated[start]].priority)
          ++end;
      bool progress = true;
      while (progress) {  // each round adds >= 1 replica, and wants are finite: bounded
        progress = false;
        for (size_t k = start; k < end; ++k) {
          const size_t i = unallocated[k];
          for (size_t v = 0; v < got[i].size(); ++v)
            if (wants_more(i, v) && take_one(models[i], v, avail)) {
              ++got[i][v];
              progress = true;
              break;
            }
        }
      }
      start = end;
    }
  }
  for (size_t i : unallocated) {
    auto& r = results[i];
    int total = std::accumulate(got[i].begin(), got[i].end(), 0);
    r.best_effort = true;
    r.allocated = total > 0;
    r.replicas = got[i];
    r.reason = std::string("no candidate fits the GPU capacity left; best effort (") + to_string(policy) + ") gave " +
               capacity_note(models[i], got[i]);
  }
  return results;
}

}  // namespace wva::queueing
