// The SDK conformance suite against the built libstatus.so.
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;

INSTANTIATE_TEST_SUITE_P(Status, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libstatus.so", nlohmann::json{{"maxAttempts", 3}},
                             nlohmann::json{{"maxAttempts", "three"}}, "status", WVA_KIND_SINK}),
                         wva::sdk::testing::ConformanceCaseName());
