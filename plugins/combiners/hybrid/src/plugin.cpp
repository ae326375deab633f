// The one file with the export glue: libhybrid.so.
#include "hybrid_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::combiners::hybrid::HybridCombiner, "hybrid", "0.1.0")
