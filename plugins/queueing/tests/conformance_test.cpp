// The SDK conformance suite against the built libqueueing.so.
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;
INSTANTIATE_TEST_SUITE_P(Queueing, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libqueueing.so",
                             {{"mode", "limited"}, {"bestEffort", "PriorityRoundRobin"}},
                             {{"bestEffort", "Sometimes"}},
                             "queueing",
                             WVA_KIND_ANALYZER}),
                         wva::sdk::testing::ConformanceCaseName());
