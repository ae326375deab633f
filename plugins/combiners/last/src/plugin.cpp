// The one file with the export glue: liblast.so.
#include "last_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::combiners::last::LastCombiner, "last", "0.1.0")
