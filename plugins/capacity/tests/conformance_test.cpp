// The SDK conformance suite against the built libcapacity.so.
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;
INSTANTIATE_TEST_SUITE_P(Capacity, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libcapacity.so",
                             {{"latencyMargin", 0.8}, {"startupDelay", "90s"}},
                             {{"latencyMargn", 0.8}},
                             "capacity",
                             WVA_KIND_ANALYZER}),
                         wva::sdk::testing::ConformanceCaseName());
