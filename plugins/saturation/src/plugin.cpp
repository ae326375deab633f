// The only file that exports the plugin; the logic lives in the other files of src/.
#include "saturation_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::saturation::SaturationAnalyzer, "saturation", "1.0.0")
