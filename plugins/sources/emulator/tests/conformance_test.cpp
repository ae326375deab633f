// The SDK conformance suite against the built libemulator.so (fixed mode and dynamic mode configs).
#include "wva/sdk/testing/conformance.h"

WVA_PLUGIN_CONFORMANCE(Emulator, wva::sdk::testing::ConformanceCase{
    WVA_PLUGIN_DIR "/libemulator.so",
    {{"fixedMetrics", {{"a-l4", {{{"kvCacheUsage", 0.5}, {"waiting", 2}, {"running", 10}}}}}}},
    {{"fixedMetrics", {{"a-l4", {{{"kvCacheUsage", 1.5}}}}}}},
    "emulator", WVA_KIND_SOURCE | WVA_KIND_SINK});
