// The SDK conformance suite against the built libmetrics.so. Port 0: instances never collide.
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;

INSTANTIATE_TEST_SUITE_P(Metrics, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libmetrics.so", nlohmann::json{{"listen", "127.0.0.1:0"}},
                             nlohmann::json{{"listen", "localhost"}}, "metrics", WVA_KIND_SINK}),
                         wva::sdk::testing::ConformanceCaseName());
