// The one file with the export glue: libfirst.so.
#include "first_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::combiners::first::FirstCombiner, "first", "0.1.0")
