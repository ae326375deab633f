// Runs the conformance suite against the fixture plugin, and checks the loader's own error paths.
#include <gtest/gtest.h>

#include "wva/sdk/testing/conformance.h"

namespace {

using wva::sdk::testing::ConformanceCase;
using wva::sdk::testing::LoadedPlugin;

using wva::sdk::testing::PluginConformance;
INSTANTIATE_TEST_SUITE_P(Fixture, PluginConformance,
                         ::testing::Values(ConformanceCase{WVA_FIXTURE_PLUGIN,
                                                           {{"target", 3}},
                                                           {{"target", 0}},
                                                           "conformance-fixture",
                                                           WVA_KIND_SOURCE | WVA_KIND_ANALYZER | WVA_KIND_SINK}),
                         wva::sdk::testing::ConformanceCaseName());

TEST(LoadedPlugin, MissingFileIsAnErrorNotAThrow) {
  std::shared_ptr<LoadedPlugin> lib;
  auto error = LoadedPlugin::load("/nonexistent/libnothing.so", lib);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("/nonexistent/libnothing.so"), std::string::npos) << *error;
  EXPECT_EQ(lib, nullptr);
}

TEST(LoadedPlugin, CreatesWorkingInstances) {
  std::shared_ptr<LoadedPlugin> lib;
  auto error = LoadedPlugin::load(WVA_FIXTURE_PLUGIN, lib);
  ASSERT_FALSE(error.has_value()) << *error;
  auto p = lib->create();
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->configure({{"target", 4}}, "x").ok());
  auto* analyzer = p->as_analyzer();
  ASSERT_NE(analyzer, nullptr);
  auto r = analyzer->analyze(wva::sdk::testing::model_without_metrics(), nullptr);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->targets.size(), 1u);
  EXPECT_EQ(r->targets[0].replicas, 4);
  // Unknown key: the path names the key.
  auto bad = p->configure({{"target", 1}, {"tagret", 2}}, "pipelines.x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().path, "pipelines.x.tagret");
}

TEST(ConformanceCaseName, UsesPluginNameSanitized) {
  ConformanceCase c{"/x/liba-b.so", {}, {}, "a-b", WVA_KIND_SINK};
  ::testing::TestParamInfo<ConformanceCase> info(c, 2);
  EXPECT_EQ(wva::sdk::testing::ConformanceCaseName()(info), "a_b_2");
}

}  // namespace
