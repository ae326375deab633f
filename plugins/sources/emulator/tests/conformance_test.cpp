// The SDK conformance suite against the built libemulator.so (fixed mode and dynamic mode configs).
#include "wva/sdk/testing/conformance.h"

WVA_PLUGIN_CONFORMANCE(Emulator,
                       wva::sdk::testing::ConformanceCase{
                           WVA_PLUGIN_DIR "/libemulator.so",
                           {{"fixedMetrics", {{"a-l4", {{{"kvCacheUsage", 0.5}, {"waiting", 2}, {"running", 10}}}}}}},
                           {{"fixedMetrics", {{"a-l4", {{{"kvCacheUsage", 1.5}}}}}}},
                           "emulator",
                           WVA_KIND_SOURCE | WVA_KIND_SINK});

// Dynamic mode: start() builds a simulated world, stop() writes nothing (no reportFile).
WVA_PLUGIN_CONFORMANCE(
    EmulatorDynamic,
    wva::sdk::testing::ConformanceCase{
        WVA_PLUGIN_DIR "/libemulator.so",
        nlohmann::json::parse(R"({"variants": {"a-h100": {"model": "m", "profile": "llama-3.1-8b/H100"}},
                              "workloads": [{"model": "m", "rate": {"constant": 2}, "inputTokens": 100,
                                             "outputTokens": 20}]})"),
        nlohmann::json::parse(R"({"variants": {"a-h100": {"model": "m", "profile": "llama-3.1-8b/A100"}}})"),
        "emulator", WVA_KIND_SOURCE | WVA_KIND_SINK});
