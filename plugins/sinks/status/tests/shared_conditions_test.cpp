// Decisions whose model's conditions are shared (sdk::Decision::shared_conditions, SDK ABI 5.0) plan the
// same status updates, and group into the same inputs, as the same decisions with every condition their
// own (how the host built them before): over random batches.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "status_builder.h"
#include "va_grouping.h"

namespace wva::plugins::status {
namespace {

using sdk::Condition;
using sdk::Decision;

bool same(const Condition& a, const Condition& b) {
  return a.type == b.type && a.status == b.status && a.reason == b.reason && a.message == b.message;
}

struct Batches {
  std::vector<Decision> shared, flat;
  std::vector<sdk::ModelView> models;
};

Batches draw(std::mt19937& rng) {
  static const char* const kTypes[] = {"MetricsAvailable", "OptimizationReady", "TargetResolved", "bad type!"};
  static const char* const kStatuses[] = {"True", "False", "Unknown"};
  auto condition = [&] {
    return Condition{kTypes[rng() % 4], kStatuses[rng() % 3], rng() % 4 ? "Why" : "",
                     "message " + std::to_string(rng() % 5)};
  };
  Batches b;
  const int models = 1 + static_cast<int>(rng() % 8);
  for (int m = 0; m < models; ++m) {
    sdk::ModelView view;
    view.key = {"ns-" + std::to_string(m % 2), "model-" + std::to_string(m)};
    view.va_name = "va-" + std::to_string(m % 5);  // some VAs name several models
    auto common = std::make_shared<std::vector<Condition>>();
    for (int c = static_cast<int>(rng() % 4); c > 0; --c) common->push_back(condition());
    const int variants = static_cast<int>(rng() % 4);
    for (int v = 0; v < variants; ++v) {
      const std::string name = view.key.model_id + "-v" + std::to_string(v);
      view.variants.push_back(sdk::Variant{.name = name, .va_name = view.va_name});
      Decision d;
      d.model = view.key;
      d.variant = name;
      d.va_name = view.va_name;
      d.current = static_cast<int>(rng() % 4);
      d.desired = static_cast<int>(rng() % 5) - (rng() % 10 == 0 ? 3 : 0);
      d.held = rng() % 2 == 0;
      d.reason = d.held ? "keeping current replicas (x)" : "kv cache high";
      if (rng() % 4) d.shared_conditions = common;
      for (int c = static_cast<int>(rng() % 2); c > 0; --c) d.conditions.push_back(condition());
      Decision flat = d;
      flat.conditions = d.all_conditions();
      flat.shared_conditions = nullptr;
      b.shared.push_back(std::move(d));
      b.flat.push_back(std::move(flat));
    }
    b.models.push_back(std::move(view));
  }
  return b;
}

TEST(SharedConditions, PlanAndGroupingAreTheSameAsWithEveryConditionOwn) {
  std::mt19937 rng(50);
  VaGrouping shared_grouping, flat_grouping;
  for (int round = 0; round < 300; ++round) {
    const Batches b = draw(rng);
    const sdk::PublishBatch shared{"p", {}, b.shared, b.models, {}, false};
    const sdk::PublishBatch flat{"p", {}, b.flat, b.models, {}, false};
    const auto x = plan_updates(shared);
    const auto y = plan_updates(flat);
    ASSERT_EQ(x.size(), y.size()) << round;
    for (std::size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].key.ns, y[i].key.ns);
      EXPECT_EQ(x[i].key.name, y[i].key.name);
      EXPECT_EQ(x[i].write_allocation, y[i].write_allocation);
      EXPECT_EQ(x[i].problems, y[i].problems);
      ASSERT_EQ(x[i].decisions.size(), y[i].decisions.size());
      for (std::size_t k = 0; k < x[i].decisions.size(); ++k) {
        EXPECT_EQ(x[i].decisions[k].variant, y[i].decisions[k].variant);
        EXPECT_EQ(x[i].decisions[k].desired, y[i].decisions[k].desired);
      }
      EXPECT_TRUE(std::equal(x[i].conditions.begin(), x[i].conditions.end(), y[i].conditions.begin(),
                             y[i].conditions.end(), same))
          << round << " " << x[i].key.name;
    }
    const auto& xs = shared_grouping.group(shared);
    const auto& ys = flat_grouping.group(flat);
    ASSERT_EQ(xs.size(), ys.size());
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const VaInputs& a = shared_grouping.inputs(xs[i]);
      const VaInputs& c = flat_grouping.inputs(ys[i]);
      EXPECT_EQ(shared_grouping.key(xs[i]).name, flat_grouping.key(ys[i]).name);
      ASSERT_EQ(a.conditions.size(), c.conditions.size());
      for (std::size_t k = 0; k < a.conditions.size(); ++k) EXPECT_TRUE(same(*a.conditions[k], *c.conditions[k]));
    }
  }
}

}  // namespace
}  // namespace wva::plugins::status
