// The SDK conformance suite against the built libprometheus.so (loaded the way the host loads it).
#include "wva/sdk/testing/conformance.h"

using wva::sdk::testing::PluginConformance;

INSTANTIATE_TEST_SUITE_P(Prometheus, PluginConformance,
                         ::testing::Values(wva::sdk::testing::ConformanceCase{
                             WVA_PLUGIN_DIR "/libprometheus.so",
                             {{"url", "http://127.0.0.1:9"}, {"timeout", "1s"}, {"retries", 0}},
                             {{"url", "ftp://prometheus"}, {"timout", "1s"}},
                             "prometheus",
                             WVA_KIND_SOURCE | WVA_KIND_MODEL_DISCOVERY}),
                         wva::sdk::testing::ConformanceCaseName());
