// The one file with the export glue: libcapacity.so.
#include "capacity_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::capacity::CapacityAnalyzer, "capacity", "0.1.0")
