// The median combiner through its .so, as the host loads it: the SDK conformance suite, then its rule.
#include <gtest/gtest.h>

#include "wva/sdk/testing/conformance.h"

WVA_PLUGIN_CONFORMANCE(Median,
                       wva::sdk::testing::ConformanceCase{
                           MEDIAN_PLUGIN, {{"middle", "lower"}}, {{"middel", "lower"}}, "median", WVA_KIND_COMBINER});

namespace {

using namespace wva::sdk;

ModelView one_variant() {
  ModelView m;
  m.key = {"ns", "m"};
  Variant v;
  v.name = "v";
  m.variants = {v};
  return m;
}

Recommendation says(int replicas, bool opinion = true) {
  Recommendation r;
  r.has_opinion = opinion;
  r.targets = {{"v", replicas, "says " + std::to_string(replicas)}};
  return r;
}

int median_of(const nlohmann::json& config, std::vector<Recommendation> recs, std::string* instance = nullptr) {
  std::shared_ptr<wva::sdk::testing::LoadedPlugin> lib;
  const auto error = wva::sdk::testing::LoadedPlugin::load(MEDIAN_PLUGIN, lib);
  EXPECT_FALSE(error.has_value()) << *error;
  if (!lib) return -2;
  auto plugin = lib->create();
  EXPECT_TRUE(wva::sdk::testing::configure_as_host(*plugin, config, "combiners.median").empty());
  std::vector<ChainLink> chain;
  for (std::size_t i = 0; i < recs.size(); ++i) chain.push_back({"a" + std::to_string(i), &recs[i]});
  auto out = plugin->as_combiner()->combine(one_variant(), chain);
  EXPECT_TRUE(out.ok());
  if (!out.ok() || !out->target_for("v")) return -1;
  if (instance) *instance = out->target_for("v")->analyzer;
  return out->target_for("v")->replicas;
}

TEST(Median, TakesTheMiddleTarget) {
  std::string who;
  EXPECT_EQ(median_of(nullptr, {says(13), says(5), says(2)}, &who), 5);
  EXPECT_EQ(who, "a1");
  EXPECT_EQ(median_of(nullptr, {says(2), says(9)}), 9);                             // upper middle by default
  EXPECT_EQ(median_of({{"middle", "lower"}}, {says(2), says(9)}), 2);               // or the lower one
  EXPECT_EQ(median_of(nullptr, {says(4), says(100, false), says(6), says(1)}), 4);  // no opinion: not a vote
  EXPECT_EQ(median_of(nullptr, {says(3, false)}), -1);                              // nobody: no target
}

}  // namespace
