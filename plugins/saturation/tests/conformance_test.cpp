// The SDK conformance suite against the built libsaturation.so.
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;

INSTANTIATE_TEST_SUITE_P(Saturation, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libsaturation.so",
                             {{"mode", "improved"}, {"hysteresis", false}, {"maxScaleUpStep", 4}},
                             {{"mode", "aggressive"}},
                             "saturation",
                             WVA_KIND_ANALYZER}),
                         wva::sdk::testing::ConformanceCaseName());
