// DecisionMemory looks variants up by (namespace, model ID, variant) in place; it answers as the map of
// joined key strings and as the node-based map it replaced (tests/host/reference_decision_memory.h), over
// random sequences of decisions and lookups.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "host/cycle.h"
#include "reference_decision_memory.h"

namespace wva::framework {
namespace {

TEST(DecisionMemory, AnswersAsAMapOfJoinedKeysOnRandomSequences) {
  std::mt19937 rng(20261206);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (int round = 0; round < 20; ++round) {
    DecisionMemory memory;
    std::map<std::string, reference::DecisionMemory::Remembered> reference;  // "ns/model#variant", as before
    reference::DecisionMemory node_based;                                    // the node-based map it replaced
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
        node_based.remember(d);
        reference[key] = reference::DecisionMemory::Remembered{d.desired, d.analyzer};
        ASSERT_EQ(memory.size(), node_based.size());
        continue;
      }
      const auto got = memory.last(model, variant);
      const auto desired = memory.last_desired(model, variant);
      const DecisionMemory::Entry entry = memory.entry(model, variant);
      const auto want = reference.find(key);
      ASSERT_EQ(got.has_value(), want != reference.end()) << key;
      ASSERT_EQ(desired.has_value(), want != reference.end()) << key;
      ASSERT_EQ(entry != nullptr, want != reference.end()) << key;
      const auto node_based_got = node_based.last(model, variant);
      ASSERT_EQ(node_based_got.has_value(), got.has_value()) << key;
      if (!got) continue;
      EXPECT_EQ(got->desired, node_based_got->desired) << key;
      EXPECT_EQ(got->analyzer, node_based_got->analyzer) << key;
      ++hits;
      EXPECT_EQ(got->desired, want->second.desired) << key;
      EXPECT_EQ(*desired, want->second.desired) << key;
      EXPECT_EQ(got->analyzer, want->second.analyzer) << key;
      kept.emplace_back(entry, key);
    }
    EXPECT_GT(hits, 500);
    EXPECT_EQ(memory.size(), reference.size());
    // Entries kept across later decisions read what the memory holds now.
    memory.read_entries([&] {
      for (const auto& [entry, key] : kept) {
        EXPECT_EQ(entry->desired, reference.at(key).desired) << key;
        EXPECT_EQ(entry->analyzer, reference.at(key).analyzer) << key;
      }
    });
  }
}

TEST(DecisionMemory, EntriesStayPutWhileTheIndexGrows) {
  // Far more variants than the first index holds: it is rebuilt many times, and every entry found
  // earlier still reads what the memory (and the node-based memory) holds.
  std::mt19937 rng(7);
  DecisionMemory memory;
  reference::DecisionMemory node_based;
  std::vector<std::pair<sdk::Decision, DecisionMemory::Entry>> kept;
  for (int m = 0; m < 7000; ++m) {
    for (int v = 0; v < 3; ++v) {
      sdk::Decision d;
      d.model = sdk::ModelKey{"ns-" + std::to_string(m % 13), "org/model-" + std::to_string(m)};
      d.variant = "model-" + std::to_string(m) + "-v" + std::to_string(v);
      d.desired = static_cast<int>(rng() % 50);
      d.analyzer = v == 0 ? "capacity" : "scale-to-zero";
      memory.remember(d);
      node_based.remember(d);
      const DecisionMemory::Entry entry = memory.entry(d.model, d.variant);
      ASSERT_NE(entry, nullptr);
      kept.emplace_back(std::move(d), entry);
    }
  }
  // A second pass changes some; the entries are the same objects.
  for (std::size_t k = 0; k < kept.size(); k += 5) {
    kept[k].first.desired += 1;
    kept[k].first.analyzer = "a-long-analyzer-instance-name";
    memory.remember(kept[k].first);
    node_based.remember(kept[k].first);
  }
  ASSERT_EQ(memory.size(), kept.size());
  ASSERT_EQ(node_based.size(), kept.size());
  for (const auto& [d, entry] : kept) ASSERT_EQ(memory.entry(d.model, d.variant), entry) << d.variant;
  memory.read_entries([&] {
    for (const auto& [d, entry] : kept) {
      const auto* want = node_based.entry(d.model, d.variant);
      ASSERT_NE(want, nullptr);
      EXPECT_EQ(entry->desired, want->desired) << d.variant;
      EXPECT_EQ(entry->analyzer, want->analyzer) << d.variant;
      EXPECT_EQ(entry->desired, d.desired) << d.variant;
    }
  });
  EXPECT_FALSE(memory.last(sdk::ModelKey{"ns-0", "org/model-0"}, "model-0-v3").has_value());
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
