#include <gtest/gtest.h>

#include "settings.h"
#include "wva/sdk/util/service_classes.h"

namespace wva::queueing {
namespace {

TEST(Settings, DefaultsAndAValidConfig) {
  auto d = parse_settings(nlohmann::json::object(), "analyzers.queueing");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->limited);
  EXPECT_EQ(d->best_effort, BestEffort::kNone);
  auto s = parse_settings(nlohmann::json::parse(R"({"mode": "limited", "bestEffort": "PriorityRoundRobin",
      "capacitySource": "nodes", "capacityConfigMap": "gpus", "maxQueueToBatchRatio": 5,
      "transitionPenaltyFactor": 0.2})"),
                          "analyzers.queueing");
  ASSERT_TRUE(s.ok()) << s.errors.front().to_string();
  EXPECT_TRUE(s->limited);
  EXPECT_EQ(s->best_effort, BestEffort::kPriorityRoundRobin);
  EXPECT_EQ(s->capacity_source, CapacitySource::kNodes);
  EXPECT_EQ(s->capacity_config_map, "gpus");
  EXPECT_EQ(s->queue_to_batch_ratio, 5);
  EXPECT_DOUBLE_EQ(s->transition_penalty, 0.2);
}

TEST(Settings, EveryErrorHasItsPathAndASuggestion) {
  auto s = parse_settings(nlohmann::json::parse(R"({"mode": "limted", "bestEffort": "RoundRobbin",
      "maxQueueToBatchRatio": -1, "capacitySorce": "nodes"})"),
                          "analyzers.queueing");
  ASSERT_EQ(s.errors.size(), 4u);  // every error, each with its own path
  std::string m;
  for (const auto& e : s.errors) {
    EXPECT_EQ(e.code, sdk::ErrorCode::kInvalidConfig);
    m += e.to_string() + "\n";
  }
  EXPECT_NE(m.find("analyzers.queueing.mode: must be"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean \"limited\""), std::string::npos) << m;
  EXPECT_NE(m.find("analyzers.queueing.bestEffort"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean \"RoundRobin\""), std::string::npos) << m;
  EXPECT_NE(m.find("analyzers.queueing.maxQueueToBatchRatio"), std::string::npos) << m;
  EXPECT_NE(m.find("analyzers.queueing.capacitySorce: unknown setting; did you mean \"capacitySource\"?"),
            std::string::npos)
      << m;
  auto wrong_type = parse_settings(nlohmann::json::array(), "analyzers.queueing");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_EQ(wrong_type.errors[0].path, "analyzers.queueing");
}

// Found by fuzzing (tests/fuzz/fuzz_configmaps): an invalid value holding bytes that are not UTF-8 made
// the error message's json::dump() throw type_error 316 out of the parser. YAML is UTF-8: the reader
// (sdk::yaml, libyaml) now refuses such an entry as a whole, with the byte's position.
TEST(Settings, FuzzFindingNonUtf8ValueIsAnErrorNotAnException) {
  auto bad = parse_profiles({{"x",
                              "model: m\nacc: A\nmaxBatchSize: 2\xff"
                              "6\n"}},
                            "ConfigMap profiles");
  EXPECT_TRUE(bad.entries.empty());
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_EQ(bad.problems[0].path, "ConfigMap profiles.data[x]");
  EXPECT_NE(bad.problems[0].message.find("invalid YAML: line 3, column 16: invalid leading UTF-8 octet (byte 0xff)"),
            std::string::npos)
      << bad.problems[0].message;
}

// Found by fuzzing (tests/fuzz/fuzz_configmaps): a non-string name threw json type_error 302. Service
// classes are read by the one parser shared with the host (tests/sdk/service_classes_test.cpp has its
// table); the class is reported with its path and skipped.
TEST(Settings, FuzzFindingServiceClassNameNotAStringIsReportedAndSkipped) {
  auto bad = sdk::util::parse_service_classes({{"x.yaml", "name: 2000\ndata: []\n"}}, "ConfigMap s");
  EXPECT_TRUE(bad.classes.empty());
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_EQ(bad.problems[0].path, "ConfigMap s.data[x.yaml].name");
}

TEST(Settings, ProfilesConfigMapAndCapacity) {
  auto p = parse_profiles({{"llama.yaml", R"(
- model: meta/llama-3.1-8b
  acc: h100
  accCount: 1
  maxBatchSize: 256
  perfParms: {decodeParms: {alpha: 7.4, beta: 0.03}, prefillParms: {gamma: 6.7, delta: 0.0296}}
)"}},
                          "ConfigMap profiles");
  ASSERT_TRUE(p.problems.empty()) << p.problems[0].to_string();
  auto it = p.entries.find(ProfileKey{"meta/llama-3.1-8b", "H100"});
  ASSERT_NE(it, p.entries.end());
  EXPECT_EQ(it->second.profile.max_batch, 256);
  EXPECT_DOUBLE_EQ(it->second.profile.delta, 0.0296);
  // A bad entry is reported with its path and skipped; the good one beside it is kept.
  auto bad =
      parse_profiles({{"x", "model: m\nacc: A\nmaxBatchSize: 8\nperfParms: {decodeParms: {alpha: 1}}\n"},
                      {"y",
                       "model: m\nacc: B\nmaxBatchSize: 8\nperfParms: {decodeParms: {alpha: 1, beta: 2}, prefillParms: "
                       "{gamma: 3, delta: 4}}\n"}},
                     "ConfigMap profiles");
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_EQ(bad.problems[0].path, "ConfigMap profiles.data[x].perfParms.decodeParms.beta");
  ASSERT_EQ(bad.entries.size(), 1u);
  EXPECT_EQ(bad.entries.begin()->first.accelerator, "B");

  auto cap = parse_capacity({{"H100", "16"}, {"h200", "8"}}, "ConfigMap cap");
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->at("H200"), 8);
  auto bad_cap = parse_capacity({{"H100", "lots"}}, "ConfigMap cap");
  ASSERT_FALSE(bad_cap.ok());
  EXPECT_EQ(bad_cap.error().path, "ConfigMap cap.data[H100]");
}

}  // namespace
}  // namespace wva::queueing
