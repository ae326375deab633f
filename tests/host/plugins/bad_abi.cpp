// Claims an SDK ABI major the host does not have; must be refused before any object is made.
#include "wva/sdk/abi.h"
#include "wva/sdk/plugin.h"

extern "C" WVA_SDK_VISIBLE const wva_plugin_descriptor* wva_plugin_describe() {
  static const wva_plugin_descriptor d = [] {
    auto x = wva::sdk::this_toolchain("test-bad-abi", "1.0.0", WVA_KIND_ANALYZER);
    x.abi_major = WVA_SDK_ABI_MAJOR + 1;
    return x;
  }();
  return &d;
}
// If the host ever called this, the test would see the abort.
extern "C" WVA_SDK_VISIBLE wva::sdk::Plugin* wva_plugin_create() noexcept { __builtin_trap(); }
extern "C" WVA_SDK_VISIBLE void wva_plugin_destroy(wva::sdk::Plugin*) noexcept {}
