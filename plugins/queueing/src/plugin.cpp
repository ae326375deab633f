// The one file with the export glue: libqueueing.so.
#include "queueing_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::queueing::QueueingPlugin, "queueing", "0.1.0")
