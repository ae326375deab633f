// Says it was built by another compiler; its C++ objects could not be trusted.
#include "wva/sdk/abi.h"
#include "wva/sdk/plugin.h"

extern "C" WVA_SDK_VISIBLE const wva_plugin_descriptor* wva_plugin_describe() {
  static const wva_plugin_descriptor d = [] {
    auto x = wva::sdk::this_toolchain("test-foreign-toolchain", "1.0.0", WVA_KIND_SOURCE);
    x.compiler_family = "msvc";
    x.compiler_major = 19;
    return x;
  }();
  return &d;
}
extern "C" WVA_SDK_VISIBLE wva::sdk::Plugin* wva_plugin_create() noexcept { __builtin_trap(); }
extern "C" WVA_SDK_VISIBLE void wva_plugin_destroy(wva::sdk::Plugin*) noexcept {}
