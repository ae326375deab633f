// The one file that exports the emulator plugin (source + sink) from libemulator.so.
#include "emulator_plugin.h"
#include "wva/sdk/export.h"

WVA_PLUGIN(wva::emulator::EmulatorPlugin, "emulator", "0.1.0")
