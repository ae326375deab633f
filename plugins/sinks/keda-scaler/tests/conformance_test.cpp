// The SDK conformance suite against the built libkeda-scaler.so. Port 0: instances never collide.
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;

INSTANTIATE_TEST_SUITE_P(KedaScaler, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libkeda-scaler.so", nlohmann::json{{"listen", "127.0.0.1:0"}},
                             nlohmann::json{{"listen", "127.0.0.1"}, {"maxStream", 3}}, "keda-scaler", WVA_KIND_SINK}),
                         wva::sdk::testing::ConformanceCaseName());
