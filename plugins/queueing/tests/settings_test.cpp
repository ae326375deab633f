#include <gtest/gtest.h>

#include "settings.h"

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
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().path, "ConfigMap profiles.data[x]");
  EXPECT_NE(bad.error().message.find("invalid YAML: line 3, column 16: invalid leading UTF-8 octet (byte 0xff)"),
            std::string::npos)
      << bad.error().message;
}

// Found by fuzzing (tests/fuzz/fuzz_configmaps): a non-string name threw json type_error 302.
TEST(Settings, FuzzFindingServiceClassNameNotAStringIsAnError) {
  auto bad = parse_service_classes({{"x.yaml", "name: 2000\ndata: []\n"}}, "ConfigMap s");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().path, "ConfigMap s.data[x.yaml].name");
}

TEST(Settings, ServiceClassesInTheOriginalFormat) {
  std::map<std::string, std::string> data = {
      {"premium.yaml",
       "name: Premium\npriority: 1\ndata:\n  - model: default/default\n    slo-tpot: 24\n"
       "    slo-ttft: 500\n  - model: meta/llama\n    slo-tpot: 10\n    slo-ttft: 1000\n"},
      {"freemium.yaml",
       "name: Freemium\npriority: 10\ndata:\n  - model: other\n    slo-tpot: 200\n"
       "    slo-ttft: 2000\n"}};
  auto sc = parse_service_classes(data, "ConfigMap service-classes-config");
  ASSERT_TRUE(sc.ok()) << sc.error().to_string();
  ASSERT_EQ(sc->size(), 2u);
  const auto& premium = (*sc)[1];
  EXPECT_EQ(premium.name, "Premium");
  EXPECT_EQ(premium.priority, 1);
  EXPECT_DOUBLE_EQ(*premium.slo_by_model.at("default/default").itl_ms, 24);
  EXPECT_DOUBLE_EQ(*premium.slo_by_model.at("default/default").ttft_ms, 500);
  EXPECT_EQ(premium.slo_by_model.at("meta/llama").priority, 1);
  auto bad = parse_service_classes({{"x.yaml", "name: X\ndata:\n  - model: m\n    slo-tpot: fast\n"}}, "ConfigMap s");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().path, "ConfigMap s.data[x.yaml].data[0].slo-tpot");
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
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  auto it = p->find(ProfileKey{"meta/llama-3.1-8b", "H100"});
  ASSERT_NE(it, p->end());
  EXPECT_EQ(it->second.profile.max_batch, 256);
  EXPECT_DOUBLE_EQ(it->second.profile.delta, 0.0296);
  auto bad = parse_profiles({{"x", "model: m\nacc: A\nmaxBatchSize: 8\nperfParms: {decodeParms: {alpha: 1}}\n"}},
                            "ConfigMap profiles");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().path, "ConfigMap profiles.data[x].perfParms.decodeParms.beta");

  auto cap = parse_capacity({{"H100", "16"}, {"h200", "8"}}, "ConfigMap cap");
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->at("H200"), 8);
  auto bad_cap = parse_capacity({{"H100", "lots"}}, "ConfigMap cap");
  ASSERT_FALSE(bad_cap.ok());
  EXPECT_EQ(bad_cap.error().path, "ConfigMap cap.data[H100]");
}

}  // namespace
}  // namespace wva::queueing
