// The one file with the export glue: libscale-to-zero.so.
#include "scale_to_zero_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::scale_to_zero::ScaleToZeroAnalyzer, "scale-to-zero", "0.1.0")
