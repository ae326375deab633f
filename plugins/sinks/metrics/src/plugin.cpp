// The only file of the metrics sink that exports it.
#include "metrics_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::plugins::metrics::MetricsSink, "metrics", "0.1.0")
