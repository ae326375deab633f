// The SDK conformance suite against the built libthreshold.so.
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;
INSTANTIATE_TEST_SUITE_P(Threshold, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libthreshold.so",
                             {{"signal", "concurrency"}, {"target", 32}},
                             {{"signal", "qps"}},
                             "threshold",
                             WVA_KIND_ANALYZER}),
                         wva::sdk::testing::ConformanceCaseName());
