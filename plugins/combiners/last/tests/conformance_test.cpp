// The SDK conformance suite against the built liblast.so.
#include "wva/sdk/testing/conformance.h"

WVA_PLUGIN_CONFORMANCE(
    Last, wva::sdk::testing::ConformanceCase{
              WVA_PLUGIN_DIR "/liblast.so", nlohmann::json::object(), {{"mode", "last"}}, "last", WVA_KIND_COMBINER});
