// The one file that exports the plugin; the logic lives in prometheus_plugin.cpp and friends.
#include "prometheus_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::prometheus::PrometheusSource, "prometheus", "0.1.0")
