// The sink's grouping kept between cycles (VaGrouping) gives every VA the update plan_updates gives, and
// the fingerprints of a VA's inputs decide same_status / same_status_but_reasons as comparing the planned
// updates does, over random batches drawn from small pools (so equal inputs are frequent).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "va_grouping.h"

namespace wva::plugins::status {
namespace {

using sdk::Condition;
using sdk::Decision;
using sdk::MetricsState;
using sdk::ModelView;
using sdk::PublishBatch;

struct RandomBatch {
  std::vector<ModelView> models;
  std::vector<Decision> decisions;
  std::vector<sdk::ResourceCondition> conditions;

  PublishBatch batch() const {
    PublishBatch b;
    b.pipeline = "p";
    b.models = models;
    b.decisions = decisions;
    b.conditions = conditions;
    return b;
  }
};

class Draw {
 public:
  explicit Draw(unsigned seed) : rng_(seed) {}
  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }
  std::string of(std::initializer_list<const char*> pool) {
    return *(pool.begin() + pick(static_cast<int>(pool.size())));
  }

  Condition condition() {
    return Condition{of({"OptimizationReady", "MetricsAvailable", "TargetResolved", "Custom", "not a type!"}),
                     of({"True", "False", "Unknown", "true", "maybe"}), of({"", "Found", "scale up: saturated"}),
                     of({"", "figures 1", "figures 2"})};
  }

  RandomBatch batch(bool sorted_models) {
    RandomBatch out;
    for (int i = 1 + pick(10); i > 0; --i) {
      ModelView m;
      m.key = sdk::ModelKey{"ns" + std::to_string(pick(2)), "model-" + std::to_string(pick(5))};
      m.va_name = pick(4) == 0 ? "" : "va" + std::to_string(pick(5));
      for (int v = pick(3); v > 0; --v) {
        sdk::Variant var;
        var.name = "d" + std::to_string(pick(4));
        var.va_name = pick(2) == 0 ? "" : "va" + std::to_string(pick(5));
        m.variants.push_back(var);
      }
      m.metrics.state = static_cast<MetricsState>(pick(4));
      m.metrics.message = of({"", "stale", "no series"});
      m.metrics.reason = of({"", "PrometheusError"});
      out.models.push_back(m);
    }
    if (sorted_models)
      std::stable_sort(out.models.begin(), out.models.end(),
                       [](const ModelView& a, const ModelView& b) { return a.key < b.key; });
    for (int k = pick(12); k > 0; --k) {
      Decision d;
      d.model = sdk::ModelKey{"ns" + std::to_string(pick(2)), "model-" + std::to_string(pick(6))};
      d.va_name = pick(8) == 0 ? "" : "va" + std::to_string(pick(5));
      d.variant = "d" + std::to_string(pick(4));
      d.accelerator = of({"", "H100"});
      d.current = pick(3);
      d.desired = pick(6) - 1;  // sometimes negative
      d.reason = of({"", "observations 10", "observations 11"});
      d.analyzer = of({"capacity", "saturation"});
      d.held = pick(4) == 0;
      for (int c = pick(3); c > 0; --c) d.conditions.push_back(condition());
      out.decisions.push_back(d);
    }
    for (int k = pick(3); k > 0; --k)
      out.conditions.push_back(
          sdk::ResourceCondition{"ns" + std::to_string(pick(2)), "va" + std::to_string(pick(5)), condition()});
    return out;
  }

 private:
  std::mt19937 rng_;
};

bool same_update_exactly(const VaUpdate& a, const VaUpdate& b) {
  auto same_decision = [](const Decision& x, const Decision& y) {
    return x.model == y.model && x.variant == y.variant && x.va_name == y.va_name && x.accelerator == y.accelerator &&
           x.current == y.current && x.desired == y.desired && x.reason == y.reason && x.analyzer == y.analyzer &&
           x.held == y.held && x.time == y.time;
  };
  auto same_condition = [](const Condition& x, const Condition& y) {
    return x.type == y.type && x.status == y.status && x.reason == y.reason && x.message == y.message;
  };
  return a.key == b.key && a.write_allocation == b.write_allocation && a.problems == b.problems &&
         std::equal(a.decisions.begin(), a.decisions.end(), b.decisions.begin(), b.decisions.end(), same_decision) &&
         std::equal(a.conditions.begin(), a.conditions.end(), b.conditions.begin(), b.conditions.end(), same_condition);
}

// The updates a grouping gives for a batch, ordered as plan_updates orders them.
std::vector<VaUpdate> grouped_updates(VaGrouping& grouping, const PublishBatch& b) {
  std::vector<VaUpdate> out;
  for (VaGrouping::Id id : grouping.group(b)) out.push_back(plan_update(grouping.key(id), grouping.inputs(id)));
  std::sort(out.begin(), out.end(), [](const VaUpdate& x, const VaUpdate& y) { return x.key < y.key; });
  return out;
}

TEST(VaGrouping, GivesTheUpdatesOfPlanUpdatesOverRandomBatchesAcrossCycles) {
  Draw draw(20261206);
  VaGrouping grouping;  // one for every cycle, as the sink keeps it: slots reused, some released
  int compared = 0;
  for (int cycle = 0; cycle < 400; ++cycle) {
    const RandomBatch rb = draw.batch(/*sorted_models=*/draw.pick(2) == 0);
    const PublishBatch b = rb.batch();
    const std::vector<VaUpdate> want = plan_updates(b);
    const std::vector<VaUpdate> got = grouped_updates(grouping, b);
    ASSERT_EQ(got.size(), want.size()) << "cycle " << cycle;
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_TRUE(same_update_exactly(got[i], want[i])) << "cycle " << cycle << " VA " << want[i].key.to_string();
      ++compared;
    }
    // Release what this batch did not name (as the sink forgets) and now and then something it did.
    for (VaGrouping::Id id = 0; id < grouping.id_limit(); ++id)
      if (grouping.live(id) && (!grouping.named_by_last_batch(id) || draw.pick(5) == 0)) grouping.release(id);
  }
  EXPECT_GT(compared, 1000);
}

TEST(VaGrouping, KeepsSlotsBetweenBatchesAndFindsThemByKey) {
  Draw draw(7);
  VaGrouping grouping;
  const RandomBatch rb = draw.batch(true);
  const PublishBatch b = rb.batch();
  const std::vector<VaGrouping::Id> first = grouping.group(b);
  const std::vector<VaGrouping::Id> again = grouping.group(b);
  EXPECT_EQ(first, again) << "the same VAs keep their ids";
  for (VaGrouping::Id id : again) {
    const VaGrouping::Id* found = grouping.find(grouping.key(id));
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, id);
  }
  if (!again.empty()) {
    const VaKey released = grouping.key(again.front());
    grouping.release(again.front());
    EXPECT_EQ(grouping.find(released), nullptr);
    EXPECT_FALSE(grouping.live(again.front()));
  }
}

struct Fingerprint {
  std::string but_reasons, reasons;
  std::uint64_t reasons_hash = 0;  // what the sink keeps of `reasons`
};

Fingerprint fingerprint_of(const VaInputs& inputs) {
  Fingerprint f;
  append_fingerprint(inputs, f.but_reasons, f.reasons);
  std::string ignored;
  ReasonsHash hash;
  append_fingerprint(inputs, ignored, hash);
  f.reasons_hash = hash.value();
  return f;
}

// A batch with one random field of one random item changed (or none).
RandomBatch mutated(RandomBatch b, Draw& draw) {
  const int what = draw.pick(12);
  if (!b.decisions.empty() && what < 8) {
    Decision& d = b.decisions[static_cast<std::size_t>(draw.pick(static_cast<int>(b.decisions.size())))];
    switch (what) {
      case 0: d.reason = draw.of({"", "observations 10", "observations 12"}); break;
      case 1: d.desired = draw.pick(6) - 1; break;
      case 2: d.held = !d.held; break;
      case 3: d.current = draw.pick(3); break;
      case 4: d.variant = "d" + std::to_string(draw.pick(4)); break;
      case 5:
      case 6:
        for (auto& c : d.conditions)
          if (draw.pick(2) == 0) c.message = draw.of({"", "figures 1", "figures 3"});
        break;
      default:
        if (!d.conditions.empty()) d.conditions.front() = draw.condition();
        break;
    }
  } else if (!b.models.empty() && what < 11) {
    ModelView& m = b.models[static_cast<std::size_t>(draw.pick(static_cast<int>(b.models.size())))];
    if (what == 8) m.metrics.state = static_cast<MetricsState>(draw.pick(4));
    else if (what == 9) m.metrics.message = draw.of({"", "stale", "other"});
    else if (!m.variants.empty()) m.variants.front().name = "d" + std::to_string(draw.pick(4));
  }
  return b;
}

// Equal fingerprints give the same status; equal but for the reasons part, the same status but reasons.
// Pairs of batches, the second the first with one random change: the VAs of both are compared.
TEST(Fingerprint, EqualPartsGiveEqualStatusesOnRandomPairs) {
  Draw draw(61207);
  int equal_whole = 0, equal_but_reasons = 0, different = 0;
  for (int round = 0; round < 3000; ++round) {
    const RandomBatch ra = draw.batch(true), rb = mutated(ra, draw);
    const PublishBatch a = ra.batch(), b = rb.batch();
    VaGrouping ga, gb;
    const auto named_a = ga.group(a);
    gb.group(b);
    for (VaGrouping::Id ia : named_a) {
      const VaGrouping::Id* ib = gb.find(ga.key(ia));
      if (!ib || !gb.named_by_last_batch(*ib)) continue;
      const Fingerprint fa = fingerprint_of(ga.inputs(ia)), fb = fingerprint_of(gb.inputs(*ib));
      const VaUpdate ua = plan_update(ga.key(ia), ga.inputs(ia)), ub = plan_update(gb.key(*ib), gb.inputs(*ib));
      if (fa.but_reasons != fb.but_reasons) {
        ++different;
        continue;
      }
      EXPECT_TRUE(same_status_but_reasons(ua, ub)) << "round " << round;
      EXPECT_EQ(fa.reasons == fb.reasons, fa.reasons_hash == fb.reasons_hash) << "round " << round;
      EXPECT_EQ(ua.problems, ub.problems) << "round " << round;
      if (fa.reasons == fb.reasons) {
        ++equal_whole;
        EXPECT_TRUE(same_status(ua, ub)) << "round " << round;
      } else {
        ++equal_but_reasons;
      }
    }
  }
  // Each case drawn often enough to mean something.
  EXPECT_GT(equal_whole, 50);
  EXPECT_GT(equal_but_reasons, 50);
  EXPECT_GT(different, 50);
}

// The fingerprint of one VA's inputs changes with every field plan_update reads.
TEST(Fingerprint, ChangesWithEveryFieldThatReachesTheStatus) {
  Decision d;
  d.model = sdk::ModelKey{"ns", "m"};
  d.va_name = "va";
  d.variant = "d1";
  d.accelerator = "H100";
  d.current = 1;
  d.desired = 2;
  d.reason = "r";
  d.analyzer = "capacity";
  d.conditions.push_back(Condition{"OptimizationReady", "True", "OptimizationSucceeded", "r"});
  ModelView m;
  m.key = d.model;
  m.va_name = "va";
  sdk::Variant v;
  v.name = "d1";
  v.va_name = "va";
  m.variants.push_back(v);
  auto fingerprint = [](const Decision& dd, const ModelView& mm) {
    VaInputs in;
    in.decisions.push_back(&dd);
    for (const auto& c : dd.conditions) in.conditions.push_back(&c);
    resolve_model(
        in, [&](const sdk::ModelKey& k) { return k == mm.key ? &mm : nullptr; }, &mm);
    return fingerprint_of(in);
  };
  const Fingerprint base = fingerprint(d, m);
  std::vector<std::pair<const char*, std::function<void(Decision&, ModelView&)>>> edits{
      {"accelerator", [](Decision& x, ModelView&) { x.accelerator = "A100"; }},
      {"current", [](Decision& x, ModelView&) { x.current = 3; }},
      {"desired", [](Decision& x, ModelView&) { x.desired = 4; }},
      {"analyzer", [](Decision& x, ModelView&) { x.analyzer = "saturation"; }},
      {"held", [](Decision& x, ModelView&) { x.held = true; }},
      {"variant", [](Decision& x, ModelView&) { x.variant = "d2"; }},
      {"condition status", [](Decision& x, ModelView&) { x.conditions[0].status = "False"; }},
      {"condition reason", [](Decision& x, ModelView&) { x.conditions[0].reason = "Other"; }},
      {"metrics state", [](Decision&, ModelView& y) { y.metrics.state = MetricsState::kStale; }},
      {"metrics message", [](Decision&, ModelView& y) { y.metrics.message = "some rejected"; }},
      {"variant name", [](Decision&, ModelView& y) { y.variants[0].name = "d9"; }},
  };
  for (const auto& [what, edit] : edits) {
    Decision dd = d;
    ModelView mm = m;
    edit(dd, mm);
    EXPECT_NE(fingerprint(dd, mm).but_reasons, base.but_reasons) << what;
  }
  // The reason text, and the True OptimizationReady's message that repeats it, are the reasons part.
  for (int which = 0; which < 2; ++which) {
    Decision dd = d;
    (which == 0 ? dd.reason : dd.conditions[0].message) = "observations 12";
    const Fingerprint f = fingerprint(dd, m);
    EXPECT_EQ(f.but_reasons, base.but_reasons) << which;
    EXPECT_NE(f.reasons, base.reasons) << which;
    EXPECT_NE(f.reasons_hash, base.reasons_hash) << which;
  }
  // A held decision's reason is in OptimizationReady's derived message: not a reason-only change.
  Decision held = d;
  held.held = true;
  held.conditions.clear();
  Decision held_other = held;
  held_other.reason = "other";
  EXPECT_NE(fingerprint(held, m).but_reasons, fingerprint(held_other, m).but_reasons);
}

// A DigestHasher's digests are equal exactly when the sequences of appends are (no collision among
// thousands of distinct sequences drawn from small pools, where the same bytes split differently into
// appends, and prefixes, are frequent), and do not depend on how a piece is stored.
TEST(DigestHasher, EqualExactlyForEqualSequencesOfAppends) {
  std::mt19937 rng(99);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::map<std::vector<std::string>, Digest128> seen;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::vector<std::string>> by_digest;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::string> pieces(static_cast<std::size_t>(pick(6)));
    for (auto& p : pieces) {
      const int n = pick(4) == 0 ? 8 + pick(20) : pick(9);  // short ones, and a few of more than one word
      for (int i = 0; i < n; ++i) p.push_back(static_cast<char>(pick(3) == 0 ? '\0' : 'a' + pick(2)));
    }
    DigestHasher hasher;
    for (const auto& p : pieces) {
      const std::string copy = p;  // another address, the same bytes
      hasher.append(copy.data(), copy.size());
    }
    const Digest128 d = hasher.digest();
    if (auto [it, fresh] = seen.try_emplace(pieces, d); !fresh) {
      EXPECT_EQ(it->second, d) << round;
      continue;
    }
    auto [it, fresh] = by_digest.try_emplace({d.a, d.b}, pieces);
    EXPECT_TRUE(fresh) << "two sequences with one digest at round " << round;
  }
  EXPECT_GT(seen.size(), 5000u);
  EXPECT_LT(seen.size(), 20000u) << "equal sequences were drawn too";
  // The whole text split differently is another sequence of appends.
  DigestHasher one, two;
  one.append("abcdefghij", 10);
  two.append("abcde", 5);
  two.append("fghij", 5);
  EXPECT_NE(one.digest(), two.digest());
  DigestHasher empty, nothing;
  empty.append("", 0);
  EXPECT_NE(empty.digest(), nothing.digest()) << "an empty append is an append";
}

// The digests the sink keeps say what the text and the comparisons they replace say: the fingerprint's
// text is equal exactly when its digest is, and status_digest's parts are same_status /
// same_status_but_reasons, over the random pairs of the fingerprint test.
TEST(Fingerprint, DigestsAgreeWithTheTextAndTheComparisonsOnRandomPairs) {
  Draw draw(61208);
  int same = 0, same_but_reasons = 0, different = 0;
  for (int round = 0; round < 3000; ++round) {
    const RandomBatch ra = draw.batch(true), rb = mutated(ra, draw);
    const PublishBatch a = ra.batch(), b = rb.batch();
    VaGrouping ga, gb;
    const auto named_a = ga.group(a);
    gb.group(b);
    for (VaGrouping::Id ia : named_a) {
      const VaGrouping::Id* ib = gb.find(ga.key(ia));
      if (!ib || !gb.named_by_last_batch(*ib)) continue;
      const Fingerprint fa = fingerprint_of(ga.inputs(ia)), fb = fingerprint_of(gb.inputs(*ib));
      auto digest = [](const VaInputs& in) {
        DigestHasher out;
        ReasonsHash reasons;
        append_fingerprint(in, out, reasons);
        return std::pair{out.digest(), reasons.value()};
      };
      const auto da = digest(ga.inputs(ia)), db = digest(gb.inputs(*ib));
      EXPECT_EQ(fa.but_reasons == fb.but_reasons, da.first == db.first) << "round " << round;
      EXPECT_EQ(fa.reasons_hash, da.second) << "round " << round;
      const VaUpdate ua = plan_update(ga.key(ia), ga.inputs(ia)), ub = plan_update(gb.key(*ib), gb.inputs(*ib));
      const StatusDigest sa = status_digest(ua), sb = status_digest(ub);
      EXPECT_EQ(same_status(ua, ub), sa == sb) << "round " << round;
      EXPECT_EQ(same_status_but_reasons(ua, ub), sa.but_reasons == sb.but_reasons) << "round " << round;
      if (same_status(ua, ub)) ++same;
      else if (same_status_but_reasons(ua, ub)) ++same_but_reasons;
      else ++different;
    }
  }
  EXPECT_GT(same, 50);
  EXPECT_GT(same_but_reasons, 50);
  EXPECT_GT(different, 50);
}

}  // namespace
}  // namespace wva::plugins::status
