// The `log` sink passes the SDK conformance suite.
#include "wva/sdk/testing/conformance.h"

WVA_PLUGIN_CONFORMANCE(Log, wva::sdk::testing::ConformanceCase{WVA_PLUGIN_DIR "/liblog.so",
                                                               {{"format", "json"}, {"output", "stderr"}},
                                                               {{"format", "xml"}},
                                                               "log",
                                                               WVA_KIND_SINK});
