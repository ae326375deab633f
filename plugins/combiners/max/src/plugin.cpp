// The one file with the export glue: libmax.so.
#include "max_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::combiners::max::MaxCombiner, "max", "0.1.0")
