// Export glue for the `log` sink; the logic is in log_plugin.cpp.
#include "log_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::plugins::log_sink::LogSink, "log", "0.1.0")
