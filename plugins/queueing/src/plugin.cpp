// The one file with the export glue: libqueueing.so.
#include "plugin_core.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::queueing::QueueingPlugin, "queueing", "0.1.0")
