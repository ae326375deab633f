// The only file of the status sink that exports it.
#include "status_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::plugins::status::StatusSink, "status", "0.1.0")
