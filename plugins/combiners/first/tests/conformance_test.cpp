// The SDK conformance suite against the built libfirst.so.
#include "wva/sdk/testing/conformance.h"

WVA_PLUGIN_CONFORMANCE(First, wva::sdk::testing::ConformanceCase{WVA_PLUGIN_DIR "/libfirst.so",
                                                                 nlohmann::json::object(),
                                                                 {{"mode", "first"}},
                                                                 "first",
                                                                 WVA_KIND_COMBINER});
