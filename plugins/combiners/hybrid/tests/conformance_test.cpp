// The SDK conformance suite against the built libhybrid.so.
#include "wva/sdk/testing/conformance.h"

WVA_PLUGIN_CONFORMANCE(Hybrid, wva::sdk::testing::ConformanceCase{WVA_PLUGIN_DIR "/libhybrid.so",
                                                                  {{"saturation", "sat"}, {"model", "q"}},
                                                                  {{"saturation", "sat"}, {"modle", "q"}},
                                                                  "hybrid",
                                                                  WVA_KIND_COMBINER});
