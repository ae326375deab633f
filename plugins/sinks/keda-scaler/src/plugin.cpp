// The only file of the keda-scaler sink that exports it.
#include "keda_scaler_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::plugins::keda::KedaScalerSink, "keda-scaler", "0.1.0")
