// DecisionMemory looks variants up by (namespace, model ID, variant) in place; it answers as the map of
// joined key strings it replaced, over random sequences of decisions and lookups.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "host/cycle.h"

namespace wva::framework {
namespace {

TEST(DecisionMemory, AnswersAsAMapOfJoinedKeysOnRandomSequences) {
  std::mt19937 rng(20261206);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (int round = 0; round < 20; ++round) {
    DecisionMemory memory;
    std::map<std::string, DecisionMemory::Remembered> reference;  // "ns/model#variant", as before
    int hits = 0;
    std::vector<std::pair<DecisionMemory::Entry, std::string>> kept;  // entries found, read again later
    for (int step = 0; step < 2000; ++step) {
      // Short and long names (beyond the small-string buffer), shared prefixes.
      const sdk::ModelKey model{"ns-" + std::to_string(pick(3)),
                                (pick(2) ? "org/a-long-model-name-" : "m") + std::to_string(pick(4))};
      const std::string variant = "v" + std::to_string(pick(3)) + (pick(2) ? "-with-a-long-suffix" : "");
      const std::string key = model.ns + "/" + model.model_id + "#" + variant;
      if (pick(2) == 0) {
        sdk::Decision d;
        d.model = model;
        d.variant = variant;
        d.desired = pick(10);
        d.analyzer = pick(2) ? "capacity" : "a-long-analyzer-instance-name";
        memory.remember(d);
        reference[key] = DecisionMemory::Remembered{d.desired, d.analyzer};
        continue;
      }
      const auto got = memory.last(model, variant);
      const auto desired = memory.last_desired(model, variant);
      const DecisionMemory::Entry entry = memory.entry(model, variant);
      const auto want = reference.find(key);
      ASSERT_EQ(got.has_value(), want != reference.end()) << key;
      ASSERT_EQ(desired.has_value(), want != reference.end()) << key;
      ASSERT_EQ(entry != nullptr, want != reference.end()) << key;
      if (!got) continue;
      ++hits;
      EXPECT_EQ(got->desired, want->second.desired) << key;
      EXPECT_EQ(*desired, want->second.desired) << key;
      EXPECT_EQ(got->analyzer, want->second.analyzer) << key;
      kept.emplace_back(entry, key);
    }
    EXPECT_GT(hits, 500);
    // Entries kept across later decisions read what the memory holds now.
    memory.read_entries([&] {
      for (const auto& [entry, key] : kept) {
        EXPECT_EQ(entry->desired, reference.at(key).desired) << key;
        EXPECT_EQ(entry->analyzer, reference.at(key).analyzer) << key;
      }
    });
  }
}

TEST(DecisionMemory, PartsOfTheKeyDoNotRunTogether) {
  DecisionMemory memory;
  sdk::Decision d;
  d.model = sdk::ModelKey{"ns", "a"};
  d.variant = "bc";
  d.desired = 3;
  memory.remember(d);
  EXPECT_FALSE(memory.last(sdk::ModelKey{"ns", "ab"}, "c").has_value());
  EXPECT_FALSE(memory.last(sdk::ModelKey{"n", "sa"}, "bc").has_value());
  ASSERT_TRUE(memory.last_desired(sdk::ModelKey{"ns", "a"}, "bc").has_value());
  EXPECT_EQ(*memory.last_desired(sdk::ModelKey{"ns", "a"}, "bc"), 3);
}

}  // namespace
}  // namespace wva::framework
