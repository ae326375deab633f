// ConfigMap capacity-scaling-config: the FAQ's format, overrides merged field by field, code defaults,
// validation with path-qualified errors, and "an invalid entry is rejected; the rest still apply".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "thresholds.h"

namespace wva::saturation {
namespace {

using ::testing::HasSubstr;

const std::string kNs = "workload-variant-autoscaler-system";
const sdk::ModelKey kLlama{"llm", "meta/llama-3.1-8b"};

ParsedConfigMap parse(const std::map<std::string, std::string>& data) {
  return parse_config_map(kNs, kConfigMapName, data);
}

std::vector<std::string> error_strings(const ParsedConfigMap& p) {
  std::vector<std::string> out;
  for (const auto& e : p.errors) out.push_back(e.to_string());
  return out;
}

TEST(Thresholds, CodeDefaultsAreTheFaqValues) {
  const Thresholds t;
  EXPECT_EQ(t.kv_cache_threshold, 0.80);
  EXPECT_EQ(t.queue_length_threshold, 5);
  EXPECT_EQ(t.kv_spare_trigger, 0.1);
  EXPECT_EQ(t.queue_spare_trigger, 3);
  const auto r = resolve_thresholds(kLlama, nullptr, nullptr);
  EXPECT_EQ(r.values, Thresholds{});
  EXPECT_EQ(r.origin, "defaults");
}

TEST(Thresholds, ParsesTheFaqConfigMap) {
  const auto p = parse({{"default", R"(kvCacheThreshold: 0.80      # 80% KV cache triggers saturation
queueLengthThreshold: 5     # 5 queued requests triggers saturation
kvSpareTrigger: 0.1         # Scale up when spare < 10%
queueSpareTrigger: 3        # Scale up when queue > 3 requests
)"}});
  EXPECT_TRUE(p.errors.empty()) << ::testing::PrintToString(error_strings(p));
  ASSERT_TRUE(p.default_entry);
  EXPECT_EQ(p.default_entry->merged_over(Thresholds{0.5, 1, 0.2, 0.5}), Thresholds{});
  EXPECT_EQ(p.source, "ConfigMap workload-variant-autoscaler-system/capacity-scaling-config");
}

TEST(Thresholds, MissingKeysKeepCodeDefaults) {
  const auto p = parse({{"default", "kvCacheThreshold: 0.9\n"}});
  const auto r = resolve_thresholds(kLlama, &p, nullptr);
  EXPECT_EQ(r.values, (Thresholds{0.9, 5, 0.1, 3}));
}

TEST(Thresholds, OverrideMergesFieldByFieldOverDefault) {
  const auto p = parse({{"default", "kvCacheThreshold: 0.7\nqueueSpareTrigger: 2\n"},
                        {"llama-override", "model_id: meta/llama-3.1-8b\nqueueLengthThreshold: 10\n"}});
  ASSERT_TRUE(p.errors.empty());
  const auto r = resolve_thresholds(kLlama, &p, nullptr);
  EXPECT_EQ(r.values, (Thresholds{0.7, 10, 0.1, 2}));
  EXPECT_THAT(r.origin, HasSubstr("capacity-scaling-config default < ConfigMap " + kNs +
                                  "/capacity-scaling-config llama-override"));
  // Another model only gets the default.
  EXPECT_EQ(resolve_thresholds({"llm", "other"}, &p, nullptr).values, (Thresholds{0.7, 5, 0.1, 2}));
}

TEST(Thresholds, OverrideNamespaceMustMatchAndTheSpecificOneWins) {
  const auto p = parse({{"any-ns", "model_id: meta/llama-3.1-8b\nkvCacheThreshold: 0.6\nqueueLengthThreshold: 7\n"},
                        {"a-prod", "model_id: meta/llama-3.1-8b\nnamespace: prod\nkvCacheThreshold: 0.9\n"},
                        {"b-llm", "model_id: meta/llama-3.1-8b\nnamespace: llm\nkvCacheThreshold: 0.7\n"}});
  ASSERT_TRUE(p.errors.empty());
  const auto llm = resolve_thresholds(kLlama, &p, nullptr).values;
  EXPECT_EQ(llm.kv_cache_threshold, 0.7);    // namespace llm beats the namespace-less entry
  EXPECT_EQ(llm.queue_length_threshold, 7);  // and the namespace-less entry still applies below it
  const auto prod = resolve_thresholds({"prod", "meta/llama-3.1-8b"}, &p, nullptr).values;
  EXPECT_EQ(prod.kv_cache_threshold, 0.9);
  const auto dev = resolve_thresholds({"dev", "meta/llama-3.1-8b"}, &p, nullptr).values;
  EXPECT_EQ(dev.kv_cache_threshold, 0.6);
}

TEST(Thresholds, InvalidEntryIsRejectedWithItsPathAndTheRestApply) {
  const auto p =
      parse({{"default", "queueLengthThreshold: 8\n"},
             {"llama-override", "model_id: meta/llama-3.1-8b\nkvCacheThreshold: 1.5\nqueueSpareTrigger: 1\n"},
             {"mistral", "model_id: mistral\nkvSpareTrigger: 0.2\n"}});
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].to_string(),
            "ConfigMap workload-variant-autoscaler-system/capacity-scaling-config: "
            "data.llama-override.kvCacheThreshold: must be in [0,1] (got 1.5)");
  EXPECT_EQ(p.errors[0].code, sdk::ErrorCode::kInvalidConfig);
  // The whole llama entry is out (its valid queueSpareTrigger too); default and mistral apply.
  EXPECT_EQ(resolve_thresholds(kLlama, &p, nullptr).values, (Thresholds{0.8, 8, 0.1, 3}));
  EXPECT_EQ(resolve_thresholds({"llm", "mistral"}, &p, nullptr).values, (Thresholds{0.8, 8, 0.2, 3}));
}

struct BadEntry {
  const char* yaml;
  const char* error;  // the full "path: message"
};

class ThresholdValidation : public ::testing::TestWithParam<BadEntry> {};

TEST_P(ThresholdValidation, RejectsWithPath) {
  const auto p = parse({{"m", GetParam().yaml}});
  ASSERT_EQ(p.errors.size(), 1u) << ::testing::PrintToString(error_strings(p));
  EXPECT_EQ(p.errors[0].to_string(), "ConfigMap " + kNs + "/capacity-scaling-config: " + GetParam().error);
  EXPECT_TRUE(p.overrides.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Entries, ThresholdValidation,
    ::testing::Values(
        BadEntry{"model_id: x\nkvCacheThreshold: -0.1", "data.m.kvCacheThreshold: must be in [0,1] (got -0.1)"},
        BadEntry{"model_id: x\nkvSpareTrigger: 1.01", "data.m.kvSpareTrigger: must be in [0,1] (got 1.01)"},
        BadEntry{"model_id: x\nqueueLengthThreshold: -1", "data.m.queueLengthThreshold: must be >= 0 (got -1)"},
        BadEntry{"model_id: x\nqueueSpareTrigger: -2", "data.m.queueSpareTrigger: must be >= 0 (got -2)"},
        BadEntry{"model_id: x\nqueueSpareTrigger: lots", "data.m.queueSpareTrigger: must be a number (got \"lots\")"},
        BadEntry{"model_id: x\nkvCacheThreshold: .nan", "data.m.kvCacheThreshold: must be a finite number (got .nan)"},
        BadEntry{"model_id: x\nkvCacheThreshold: [1]", "data.m.kvCacheThreshold: must be a number"},
        BadEntry{"model_id: x\nkvCacheTreshold: 0.5",
                 "data.m.kvCacheTreshold: unknown key; did you mean \"kvCacheThreshold\"?"},
        BadEntry{
            "model_id: x\nkvCacheThreshold: 0.3\nkvSpareTrigger: 0.4",
            "data.m.kvSpareTrigger: kvSpareTrigger 0.4 must not exceed kvCacheThreshold 0.3 (merged over default)"},
        BadEntry{
            "model_id: x\nkvCacheThreshold: 0.05",
            "data.m.kvCacheThreshold: kvSpareTrigger 0.1 must not exceed kvCacheThreshold 0.05 (merged over default)"},
        BadEntry{"kvCacheThreshold: 0.5",
                 "data.m.model_id: required in an override entry (only `default` may omit it)"},
        BadEntry{"- 1\n- 2",
                 "data.m: must be a YAML mapping of threshold keys (kvCacheThreshold, queueLengthThreshold, ...)"},
        BadEntry{"model_id: [x",
                 "data.m: invalid YAML: line 2, column 1: did not find expected ',' or ']' (while parsing a flow "
                 "sequence)"}));

TEST(Thresholds, EveryErrorOfAnEntryIsReported) {
  const auto p = parse({{"m", "model_id: x\nkvCacheThreshold: 2\nqueueLengthThreshold: -1\nbogus: 1\n"}});
  EXPECT_EQ(p.errors.size(), 3u);
}

TEST(Thresholds, InvalidDefaultFallsBackToCodeDefaults) {
  const auto p = parse(
      {{"default", "kvCacheThreshold: 0.05\n"}, {"llama", "model_id: meta/llama-3.1-8b\nqueueLengthThreshold: 9\n"}});
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].path, "ConfigMap " + kNs + "/capacity-scaling-config: data.default.kvCacheThreshold");
  EXPECT_FALSE(p.default_entry);
  EXPECT_EQ(resolve_thresholds(kLlama, &p, nullptr).values, (Thresholds{0.8, 9, 0.1, 3}));
}

// Issue 14, defect 4: kvCacheThreshold 0.85 -> 1.5 silently fell back to the code default 0.80. An entry
// invalid now keeps its last good value (errors still reported), for `default` and for overrides.
TEST(Thresholds, Defect4InvalidEditKeepsTheLastGoodValueNotTheCodeDefaults) {
  const auto good = parse(
      {{"default", "kvCacheThreshold: 0.85\n"}, {"llama", "model_id: meta/llama-3.1-8b\nqueueLengthThreshold: 9\n"}});
  ASSERT_TRUE(good.errors.empty());
  const auto bad = parse_config_map(
      kNs, kConfigMapName,
      {{"default", "kvCacheThreshold: 1.5\n"}, {"llama", "model_id: meta/llama-3.1-8b\nqueueLengthThreshold: -1\n"}},
      &good);
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_EQ(bad.errors[0].path, "ConfigMap " + kNs + "/capacity-scaling-config: data.default.kvCacheThreshold");
  EXPECT_TRUE(bad.default_kept);
  ASSERT_EQ(bad.overrides.size(), 1u);
  EXPECT_TRUE(bad.overrides[0].kept);
  EXPECT_THAT(bad.warnings, ::testing::Contains(HasSubstr("data.default: invalid; keeping its last good value")));
  const auto r = resolve_thresholds(kLlama, &bad, nullptr);
  EXPECT_EQ(r.values, (Thresholds{0.85, 9, 0.1, 3}));
  EXPECT_EQ(r.kept.size(), 2u);
  EXPECT_THAT(r.origin, HasSubstr("default (last good)"));
  // Still invalid after another edit of the ConfigMap: the value kept carries over.
  const auto again = parse_config_map(
      kNs, kConfigMapName,
      {{"default", "kvCacheThreshold: 1.5\n"}, {"llama", "model_id: meta/llama-3.1-8b\nqueueLengthThreshold: 7\n"}},
      &bad);
  EXPECT_EQ(resolve_thresholds(kLlama, &again, nullptr).values, (Thresholds{0.85, 7, 0.1, 3}));
  // Fixed: the new value applies and nothing is marked kept.
  const auto fixed = parse_config_map(kNs, kConfigMapName, {{"default", "kvCacheThreshold: 0.9\n"}}, &again);
  EXPECT_FALSE(fixed.default_kept);
  EXPECT_TRUE(resolve_thresholds(kLlama, &fixed, nullptr).kept.empty());
  EXPECT_EQ(resolve_thresholds(kLlama, &fixed, nullptr).values.kv_cache_threshold, 0.9);
}

TEST(Thresholds, UpstreamKeysAreIgnoredWithAWarning) {
  const auto p = parse({{"default", "kvCacheThreshold: 0.7\nenableLimiter: true\nanalyzerName: saturation\n"}});
  EXPECT_TRUE(p.errors.empty());
  ASSERT_TRUE(p.default_entry);
  EXPECT_EQ(*p.default_entry->kv_cache_threshold, 0.7);
  ASSERT_EQ(p.warnings.size(), 2u);
  EXPECT_THAT(p.warnings[0], HasSubstr("data.default.enableLimiter: ignored"));
}

TEST(Thresholds, DuplicateOverrideFirstKeyWins) {
  const auto p = parse({{"b", "model_id: m\nkvCacheThreshold: 0.6\n"}, {"a", "model_id: m\nkvCacheThreshold: 0.7\n"}});
  ASSERT_EQ(p.overrides.size(), 1u);
  EXPECT_EQ(p.overrides[0].key, "a");
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_THAT(p.warnings[0], HasSubstr("data.b: ignored; entry \"a\" already overrides model_id m"));
  EXPECT_EQ(resolve_thresholds({"x", "m"}, &p, nullptr).values.kv_cache_threshold, 0.7);
}

TEST(Thresholds, EmptyEntrySetsNothing) {
  const auto p = parse({{"default", ""}});
  EXPECT_TRUE(p.errors.empty());
  EXPECT_EQ(resolve_thresholds(kLlama, &p, nullptr).values, Thresholds{});
}

TEST(Thresholds, NamespaceLocalLayersOverGlobal) {
  const auto global = parse({{"default", "kvCacheThreshold: 0.7\nqueueLengthThreshold: 6\n"},
                             {"llama", "model_id: meta/llama-3.1-8b\nkvSpareTrigger: 0.2\nqueueSpareTrigger: 2\n"}});
  const auto local = parse_config_map(
      "llm", kConfigMapName,
      {{"default", "queueLengthThreshold: 8\n"}, {"llama", "model_id: meta/llama-3.1-8b\nqueueSpareTrigger: 4\n"}});
  ASSERT_TRUE(global.errors.empty());
  ASSERT_TRUE(local.errors.empty());
  const auto r = resolve_thresholds(kLlama, &global, &local);
  // global default < local default < global override < local override
  EXPECT_EQ(r.values, (Thresholds{0.7, 8, 0.2, 4}));
  EXPECT_EQ(r.origin, "defaults < ConfigMap " + kNs +
                          "/capacity-scaling-config default < ConfigMap llm/capacity-scaling-config "
                          "default < ConfigMap " +
                          kNs + "/capacity-scaling-config llama < ConfigMap llm/capacity-scaling-config llama");
}

TEST(Thresholds, LayerThatBreaksTheMergedThresholdsIsSkipped) {
  // Each entry is valid alone, but the local default's kvSpareTrigger 0.5 exceeds the global override's
  // kvCacheThreshold 0.4 once merged.
  const auto global = parse({{"llama", "model_id: meta/llama-3.1-8b\nkvCacheThreshold: 0.4\n"}});
  const auto local = parse_config_map("llm", kConfigMapName, {{"default", "kvSpareTrigger: 0.5\n"}});
  ASSERT_TRUE(global.errors.empty());
  ASSERT_TRUE(local.errors.empty());
  const auto r = resolve_thresholds(kLlama, &global, &local);
  EXPECT_EQ(r.values, (Thresholds{0.8, 5, 0.5, 3}));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("capacity-scaling-config llama skipped for llm/meta/llama-3.1-8b"));
}

TEST(Thresholds, CheckThresholds) {
  EXPECT_FALSE(check_thresholds(Thresholds{}));
  EXPECT_TRUE(check_thresholds(Thresholds{0.1, 5, 0.2, 3}));
  EXPECT_TRUE(check_thresholds(Thresholds{0.8, -1, 0.1, 3}));
  EXPECT_FALSE(check_thresholds(Thresholds{0.5, 0, 0.5, 0}));  // equal is allowed
}

}  // namespace
}  // namespace wva::saturation
