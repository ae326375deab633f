// The one macro a plugin uses to export itself. Include it from exactly one file of the plugin.
//
//   WVA_PLUGIN(MyAnalyzer, "my-analyzer", "1.0.0")
//
// writes the C descriptor (ABI version, kinds, toolchain fingerprint) and the create/destroy entry
// points. Exceptions never leave them: a throwing constructor yields nullptr, which the host reports.
#pragma once

#include <cstdint>
#include <type_traits>

#include "wva/sdk/abi.h"
#include "wva/sdk/plugin.h"

namespace wva::sdk {

template <class T>
constexpr std::uint32_t kinds_of() {
  std::uint32_t k = 0;
  if constexpr (std::is_base_of_v<Source, T>) k |= WVA_KIND_SOURCE;
  if constexpr (std::is_base_of_v<Analyzer, T>) k |= WVA_KIND_ANALYZER;
  if constexpr (std::is_base_of_v<Sink, T>) k |= WVA_KIND_SINK;
  if constexpr (std::is_base_of_v<ModelDiscovery, T>) k |= WVA_KIND_MODEL_DISCOVERY;
  if constexpr (std::is_base_of_v<Combiner, T>) k |= WVA_KIND_COMBINER;
  return k;
}

// Gives every interface the class implements an as_*() that returns it, so the host needs no RTTI
// across the library boundary.
template <class T>
class PluginAdapter final : public T {
 public:
  Source* as_source() override {
    if constexpr (std::is_base_of_v<Source, T>) return this;
    return nullptr;
  }
  Analyzer* as_analyzer() override {
    if constexpr (std::is_base_of_v<Analyzer, T>) return this;
    return nullptr;
  }
  Sink* as_sink() override {
    if constexpr (std::is_base_of_v<Sink, T>) return this;
    return nullptr;
  }
  ModelDiscovery* as_model_discovery() override {
    if constexpr (std::is_base_of_v<ModelDiscovery, T>) return this;
    return nullptr;
  }
  Combiner* as_combiner() override {
    if constexpr (std::is_base_of_v<Combiner, T>) return this;
    return nullptr;
  }
};

}  // namespace wva::sdk

#define WVA_PLUGIN(ClassName, PluginName, PluginVersion)                                                            \
  static_assert(std::is_base_of_v<::wva::sdk::Plugin, ClassName>, "WVA_PLUGIN: not a wva::sdk::Plugin");            \
  static_assert(::wva::sdk::kinds_of<ClassName>() != 0, "WVA_PLUGIN: implements no Source/Analyzer/Sink/Combiner"); \
  extern "C" WVA_SDK_VISIBLE const wva_plugin_descriptor* wva_plugin_describe() {                                   \
    static const wva_plugin_descriptor descriptor =                                                                 \
        ::wva::sdk::this_toolchain(PluginName, PluginVersion, ::wva::sdk::kinds_of<ClassName>());                   \
    return &descriptor;                                                                                             \
  }                                                                                                                 \
  extern "C" WVA_SDK_VISIBLE ::wva::sdk::Plugin* wva_plugin_create() noexcept {                                     \
    try {                                                                                                           \
      return new ::wva::sdk::PluginAdapter<ClassName>();                                                            \
    } catch (...) {                                                                                                 \
      return nullptr;                                                                                               \
    }                                                                                                               \
  }                                                                                                                 \
  extern "C" WVA_SDK_VISIBLE void wva_plugin_destroy(::wva::sdk::Plugin* plugin) noexcept { delete plugin; }
