// The SDK conformance suite against the built libscale-to-zero.so.
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;
INSTANTIATE_TEST_SUITE_P(ScaleToZero, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{WVA_PLUGIN_DIR "/libscale-to-zero.so",
                                                                              {{"enabled", true}, {"retention", "5m"}},
                                                                              {{"retention", "forever"}},
                                                                              "scale-to-zero",
                                                                              WVA_KIND_ANALYZER}),
                         wva::sdk::testing::ConformanceCaseName());
