// Built once per fingerprint field (WVA_MISMATCH = the field): the descriptor matches the host's except
// in that one field, so the loader must refuse it naming the field.
#include "wva/sdk/abi.h"
#include "wva/sdk/plugin.h"

#ifndef WVA_MISMATCH
#error "define WVA_MISMATCH (1..6)"
#endif

extern "C" WVA_SDK_VISIBLE const wva_plugin_descriptor* wva_plugin_describe() {
  static const wva_plugin_descriptor d = [] {
    auto x = wva::sdk::this_toolchain(WVA_MISMATCH_NAME, "1.0.0", WVA_KIND_SOURCE);
    switch (WVA_MISMATCH) {
      case 1: x.compiler_major += 1; break;
      case 2: x.cxx11_abi = x.cxx11_abi == 1 ? 0 : 1; break;
      case 3: x.cplusplus = 201703L; break;
      case 4: x.json_version += 1; break;  // one patch release apart
      case 5: x.glibcxx_release += 1; break;
      case 6: x.glibcxx_date += 1; break;
    }
    return x;
  }();
  return &d;
}
extern "C" WVA_SDK_VISIBLE wva::sdk::Plugin* wva_plugin_create() noexcept { __builtin_trap(); }
extern "C" WVA_SDK_VISIBLE void wva_plugin_destroy(wva::sdk::Plugin*) noexcept {}
