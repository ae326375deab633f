// Has a descriptor but no create/destroy entry points.
#include "wva/sdk/abi.h"

extern "C" WVA_SDK_VISIBLE const wva_plugin_descriptor* wva_plugin_describe() {
  static const wva_plugin_descriptor d = wva::sdk::this_toolchain("test-missing-symbol", "1.0.0", WVA_KIND_SINK);
  return &d;
}
