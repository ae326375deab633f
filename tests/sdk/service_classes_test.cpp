// wva/sdk/util/service_classes.h and model_profile.h: the one parser of the service-classes ConfigMap and
// of a modelProfile.accelerators[] entry, used by the host's model builder and the queueing plugin.
// Tables of inputs: what is accepted, and what is reported (with its path) and skipped.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "wva/sdk/util/model_profile.h"
#include "wva/sdk/util/service_classes.h"

namespace wva::sdk::util {
namespace {

const std::string kWhere = "ConfigMap wva-system/service-classes-config";

struct ClassCase {
  const char* title;
  const char* yaml;                   // the value of data key "c.yaml"
  std::vector<std::string> problems;  // expected problem paths, in order
  int classes;                        // classes kept
  int entries;                        // entries kept in the first class (when kept)
  int priority;                       // of the first class (when kept)
};

TEST(ServiceClasses, TableOfClassesAcceptedAndReportedWithTheirPath) {
  const std::string at = kWhere + ".data[c.yaml]";
  const ClassCase cases[] = {
      {"original format",
       "name: Premium\npriority: 1\ndata:\n  - {model: m, slo-tpot: 24, slo-ttft: 500}\n",
       {},
       1,
       1,
       1},
      {"numeric strings",
       "name: P\npriority: \"5\"\ndata:\n  - {model: m, slo-tpot: \"24\", slo-ttft: \"5e2\"}\n",
       {},
       1,
       1,
       5},
      {"name defaults to the key, priority to 100", "data:\n  - {model: m, slo-tpot: 24}\n", {}, 1, 1, 100},
      {"priority 100 is the lowest accepted", "priority: 100\ndata: []\n", {}, 1, 0, 100},
      {"priority 0: reported, 100 used", "priority: 0\ndata: []\n", {at + ".priority"}, 1, 0, 100},
      {"priority 101: reported, 100 used", "priority: 101\ndata: []\n", {at + ".priority"}, 1, 0, 100},
      {"priority 1.5: reported, 100 used", "priority: 1.5\ndata: []\n", {at + ".priority"}, 1, 0, 100},
      {"priority text: reported, 100 used", "priority: high\ndata: []\n", {at + ".priority"}, 1, 0, 100},
      {"one bad entry is skipped, the others kept",
       "name: P\ndata:\n  - {model: a, slo-tpot: fast}\n  - {model: b, slo-tpot: 24}\n",
       {at + ".data[0].slo-tpot"},
       1,
       1,
       100},
      {"zero SLO is not a target", "data:\n  - {model: a, slo-ttft: 0}\n", {at + ".data[0].slo-ttft"}, 1, 0, 100},
      {"entry without model", "data:\n  - {slo-tpot: 24}\n  - {model: b}\n", {at + ".data[0]"}, 1, 1, 100},
      {"name not a string: class skipped", "name: 2000\ndata: []\n", {at + ".name"}, 0, 0, 0},
      {"data missing: class skipped", "name: P\n", {at + ".data"}, 0, 0, 0},
      {"not a mapping: class skipped", "- a\n- b\n", {at}, 0, 0, 0},
      {"invalid YAML: class skipped", "name: [unclosed\n", {at}, 0, 0, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.title);
    auto parsed = parse_service_classes({{"c.yaml", c.yaml}}, kWhere);
    std::vector<std::string> paths;
    for (const auto& e : parsed.problems) {
      paths.push_back(e.path);
      EXPECT_FALSE(e.message.empty());
    }
    EXPECT_EQ(paths, c.problems);
    ASSERT_EQ(static_cast<int>(parsed.classes.size()), c.classes);
    if (c.classes > 0) {
      EXPECT_EQ(static_cast<int>(parsed.classes[0].entries.size()), c.entries);
      EXPECT_EQ(parsed.classes[0].priority, c.priority);
    }
  }
}

TEST(ServiceClasses, OneBadClassDoesNotHoldTheOthers) {
  auto parsed =
      parse_service_classes({{"bad.yaml", "name: [\n"},
                             {"premium.yaml", "name: Premium\npriority: 1\ndata:\n  - {model: m, slo-tpot: 24}\n"}},
                            kWhere);
  ASSERT_EQ(parsed.problems.size(), 1u);
  EXPECT_EQ(parsed.problems[0].path, kWhere + ".data[bad.yaml]");
  auto slo = find_slo(parsed.classes, {"ns", "m"});
  ASSERT_TRUE(slo);
  EXPECT_EQ(slo->service_class, "Premium");
  EXPECT_DOUBLE_EQ(*slo->itl_ms, 24);
  EXPECT_FALSE(slo->ttft_ms) << "an absent target stays absent, never 0";
}

TEST(ServiceClasses, MatchingOrderRefThenExactThenGlobByPriority) {
  auto parsed =
      parse_service_classes({{"a.yaml",
                              "name: Gold\npriority: 1\ndata:\n  - {model: \"meta/*\", slo-tpot: 10}\n"
                              "  - {model: tenant-a, slo-tpot: 11}\n"},
                             {"b.yaml",
                              "name: Bronze\npriority: 50\ndata:\n  - {model: meta/llama, slo-tpot: 50}\n"
                              "  - {model: team/qwen, slo-tpot: 51}\n"},
                             {"c.yaml", "name: Silver\npriority: 10\ndata:\n  - {model: meta/llama, slo-tpot: 20}\n"}},
                            kWhere);
  ASSERT_TRUE(parsed.problems.empty());
  ASSERT_EQ(parsed.classes.size(), 3u);
  EXPECT_EQ(parsed.classes[0].name, "Gold");  // sorted by priority
  EXPECT_EQ(parsed.classes[1].name, "Silver");
  // An exact entry beats a glob of a higher-priority class; among exact ones the highest priority wins.
  EXPECT_EQ(find_slo(parsed.classes, {"ns", "meta/llama"})->service_class, "Silver");
  EXPECT_EQ(find_slo(parsed.classes, {"ns", "meta/mistral"})->service_class, "Gold");
  // namespace/modelID names a model exactly.
  EXPECT_EQ(find_slo(parsed.classes, {"team", "qwen"})->service_class, "Bronze");
  EXPECT_FALSE(find_slo(parsed.classes, {"other", "qwen"}));
  // sloClassRef picks the class; key defaults to the model ID.
  bool unmatched = true;
  EXPECT_EQ(find_slo(parsed.classes, {"ns", "meta/llama"}, SloClassRef{"Bronze", ""}, &unmatched)->service_class,
            "Bronze");
  EXPECT_FALSE(unmatched);
  auto by_key = find_slo(parsed.classes, {"ns", "any"}, SloClassRef{"Gold", "tenant-a"}, &unmatched);
  ASSERT_TRUE(by_key);
  EXPECT_DOUBLE_EQ(*by_key->itl_ms, 11);
  // A ref naming nothing is flagged; the other rules still apply.
  EXPECT_EQ(find_slo(parsed.classes, {"ns", "meta/llama"}, SloClassRef{"Nope", ""}, &unmatched)->service_class,
            "Silver");
  EXPECT_TRUE(unmatched);
}

struct ProfileCase {
  const char* title;
  const char* json;
  const char* error_path;  // nullptr: accepted
};

TEST(ModelProfile, TableOfEntriesAcceptedAndRejectedWithTheirPath) {
  const ProfileCase cases[] = {
      {"numbers", R"({"acc":"H100","accCount":2,"maxBatchSize":256,
        "perfParms":{"decodeParms":{"alpha":7.4,"beta":0.03},"prefillParms":{"gamma":6.7,"delta":0.03}}})",
       nullptr},
      {"numeric strings (the original CRD)", R"({"acc":"A100","maxBatchSize":"4",
        "perfParms":{"decodeParms":{"alpha":"20.58","beta":"0.41"},"prefillParms":{"gamma":"5.2","delta":"0.1"}}})",
       nullptr},
      {"acc missing", R"({"maxBatchSize":4})", "p.acc"},
      {"maxBatchSize missing", R"({"acc":"A","perfParms":{}})", "p.maxBatchSize"},
      {"maxBatchSize 0", R"({"acc":"A","maxBatchSize":0})", "p.maxBatchSize"},
      {"maxBatchSize fractional", R"({"acc":"A","maxBatchSize":2.5})", "p.maxBatchSize"},
      {"accCount 0", R"({"acc":"A","maxBatchSize":4,"accCount":0})", "p.accCount"},
      {"kvCacheTokens negative", R"({"acc":"A","maxBatchSize":4,"kvCacheTokens":-1})", "p.kvCacheTokens"},
      {"perfParms missing", R"({"acc":"A","maxBatchSize":4})", "p.perfParms"},
      {"gamma missing is not 0", R"({"acc":"A","maxBatchSize":4,
        "perfParms":{"decodeParms":{"alpha":1,"beta":1},"prefillParms":{"delta":0.1}}})",
       "p.perfParms.prefillParms.gamma"},
      {"beta not a number", R"({"acc":"A","maxBatchSize":4,
        "perfParms":{"decodeParms":{"alpha":1,"beta":"0x10"},"prefillParms":{"gamma":1,"delta":1}}})",
       "p.perfParms.decodeParms.beta"},
      {"alpha negative", R"({"acc":"A","maxBatchSize":4,
        "perfParms":{"decodeParms":{"alpha":-1,"beta":1},"prefillParms":{"gamma":1,"delta":1}}})",
       "p.perfParms.decodeParms.alpha"},
      {"not a mapping", R"([1])", "p"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.title);
    auto entry = parse_profile_entry(nlohmann::json::parse(c.json), "p");
    if (!c.error_path) {
      ASSERT_TRUE(entry.ok()) << entry.error().to_string();
    } else {
      ASSERT_FALSE(entry.ok());
      EXPECT_EQ(entry.error().path, c.error_path) << entry.error().to_string();
    }
  }
  auto ok = parse_profile_entry(nlohmann::json::parse(cases[0].json), "p");
  EXPECT_EQ(ok->gpus, 2);
  EXPECT_EQ(ok->profile.max_batch, 256);
  EXPECT_DOUBLE_EQ(ok->profile.gamma, 6.7);
  auto strings = parse_profile_entry(nlohmann::json::parse(cases[1].json), "p");
  EXPECT_EQ(strings->gpus, 1);
  EXPECT_DOUBLE_EQ(strings->profile.alpha, 20.58);
}

}  // namespace
}  // namespace wva::sdk::util
