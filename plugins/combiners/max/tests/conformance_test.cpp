// The SDK conformance suite against the built libmax.so.
#include "wva/sdk/testing/conformance.h"

WVA_PLUGIN_CONFORMANCE(
    Max, wva::sdk::testing::ConformanceCase{
             WVA_PLUGIN_DIR "/libmax.so", nlohmann::json::object(), {{"mode", "max"}}, "max", WVA_KIND_COMBINER});
