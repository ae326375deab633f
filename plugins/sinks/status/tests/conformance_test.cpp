// The SDK conformance suite against the built libstatus.so.
#include "wva/sdk/testing/conformance.h"

INSTANTIATE_TEST_SUITE_P(Status, wva::sdk::testing::PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libstatus.so", nlohmann::json{{"maxAttempts", 3}},
                             nlohmann::json{{"maxAttempts", "three"}},
                             "status", WVA_KIND_SINK}),
                         wva::sdk::testing::ConformanceCaseName());
