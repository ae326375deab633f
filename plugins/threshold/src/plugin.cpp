// The one file with the export glue: libthreshold.so.
#include "threshold_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::threshold::ThresholdAnalyzer, "threshold", "0.1.0")
