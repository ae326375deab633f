// The plain C descriptor every plugin exports, checked by the host BEFORE any C++ object is made.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>  // NLOHMANN_JSON_VERSION_*: nlohmann::json crosses the boundary

#include "wva/sdk/result.h"

// History: 1.0 first release; 1.1 ClusterView::emit_event; 2.0 Load::router_queue and
// PublishBatch::partial (new members change the layout of types that cross the boundary: a new major);
// 3.0 ClusterView::list_shared / get_shared (shared immutable snapshots) replace list / get as the
// virtuals, list / get copy.
// also 3.0: PluginContext::access_reviewer (sdk::AccessReviewer: the API's TokenReview/SubjectAccessReview).
// also 3.0: ModelDiscovery (Plugin::as_model_discovery, a new virtual).
// 4.0 Combiner (Plugin::as_combiner, kind bit WVA_KIND_COMBINER): combining a pipeline's analyzer chain is
// a plugin kind; VariantTarget::analyzer says whose number a combined target is; Error::reason and
// ModelMetrics::reason carry a source's own failure reason (e.g. PrometheusError).
//
// 4.0 (settings schema): Plugin::settings_schema and Plugin::check_settings (new virtuals): a plugin
// declares its settings (sdk/settings_schema.h) and the host validates and defaults them before
// configure(), collecting every error with its path; PluginContext::report (a new virtual) is the
// structured channel for diagnostics (sdk::Diagnostic) that `wva validate` collects.
//
// 4.0 (one owner per ConfigMap): ModelView::va_spec (the raw VA spec) is removed; the host parses
// spec.modelProfile and spec.sloClassRef with the one parser in wva/sdk/util/ (model_profile.h,
// service_classes.h), which plugins reading those ConfigMaps themselves use too.
//
// 5.0 Decision::shared_conditions: the conditions the decisions of one model have in common are held once
// (a shared, immutable vector) instead of copied into each variant's decision; Decision::conditions keeps
// the variant's own. Readers take every condition with Decision::for_each_condition / all_conditions.
// 5.1 ClusterView::object_version (a virtual with a default, appended to an interface only the host
// implements): a token for the version of an object, so a caller remembers what it saw without holding it.
// 6.0 Load::prompt_tokens_cv (a new member of a struct passed by value): the prompt lengths' spread, from
// vLLM's histogram by wva/sdk/util/histogram.h (histogram_cv).
// 7.0 Load::request_tpot_buckets (a new member): the completed requests by their mean time per output
// token (vLLM's request_time_per_output_token_seconds histogram), what an ITL SLO is judged on;
// sdk::HistogramBucket moves to types.h (util::HistogramBucket names it), histogram.h adds fraction_above.
// also 7.0: Variant::hpa_bounded (the Deployment's HPA narrows the VA's bounds), named by a clamp's reason.
#define WVA_SDK_ABI_MAJOR 7
#define WVA_SDK_ABI_MINOR 0

#define WVA_SDK_VISIBLE __attribute__((visibility("default")))

#if defined(__clang__)
#define WVA_COMPILER_FAMILY "clang"
#define WVA_COMPILER_MAJOR __clang_major__
#elif defined(__GNUC__)
#define WVA_COMPILER_FAMILY "gcc"
#define WVA_COMPILER_MAJOR __GNUC__
#else
#define WVA_COMPILER_FAMILY "unknown"
#define WVA_COMPILER_MAJOR 0
#endif

// The C++ standard library's own version: std::string, std::map and std::vector cross the boundary.
#if defined(_GLIBCXX_RELEASE) && defined(__GLIBCXX__)
#define WVA_GLIBCXX_RELEASE _GLIBCXX_RELEASE
#define WVA_GLIBCXX_DATE __GLIBCXX__
#else
#define WVA_GLIBCXX_RELEASE 0
#define WVA_GLIBCXX_DATE 0
#endif

#define WVA_JSON_VERSION \
  (NLOHMANN_JSON_VERSION_MAJOR * 10000 + NLOHMANN_JSON_VERSION_MINOR * 100 + NLOHMANN_JSON_VERSION_PATCH)

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define WVA_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define WVA_CXX11_ABI -1
#endif

extern "C" {

enum wva_plugin_kind : std::uint32_t {
  WVA_KIND_SOURCE = 1u,
  WVA_KIND_ANALYZER = 2u,
  WVA_KIND_SINK = 4u,
  WVA_KIND_MODEL_DISCOVERY = 8u,  // since ABI 3.0: a capability of a source, not a pipeline section
  WVA_KIND_COMBINER = 16u,        // since ABI 4.0: a pipeline's `combine:` step
};

// Layout frozen since ABI major 1: fields may only be appended (struct_size tells which exist).
struct wva_plugin_descriptor {
  std::uint32_t struct_size;
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  std::uint32_t kinds;  // bitmask of wva_plugin_kind
  const char* name;     // lib<name>.so
  const char* version;
  const char* compiler_family;  // "gcc", "clang"
  std::uint32_t compiler_major;
  std::int32_t cxx11_abi;  // _GLIBCXX_USE_CXX11_ABI, -1 when not libstdc++
  long cplusplus;          // __cplusplus
  // Since ABI 2.0: the libraries whose types cross the boundary.
  std::uint32_t json_version;     // nlohmann_json, major * 10000 + minor * 100 + patch
  std::uint32_t glibcxx_release;  // _GLIBCXX_RELEASE (libstdc++'s GCC major), 0 when not libstdc++
  std::uint32_t glibcxx_date;     // __GLIBCXX__ (libstdc++'s release date, YYYYMMDD), 0 when not libstdc++
};

}  // extern "C"

namespace wva::sdk {

// Exported C symbols; their names never change.
inline constexpr const char* kDescriptorSymbol = "wva_plugin_describe";
inline constexpr const char* kCreateSymbol = "wva_plugin_create";
inline constexpr const char* kDestroySymbol = "wva_plugin_destroy";

// The descriptor the current translation unit would produce: the host compares a plugin's against it.
inline wva_plugin_descriptor this_toolchain(const char* name = "", const char* version = "", std::uint32_t kinds = 0) {
  return wva_plugin_descriptor{sizeof(wva_plugin_descriptor),
                               WVA_SDK_ABI_MAJOR,
                               WVA_SDK_ABI_MINOR,
                               kinds,
                               name,
                               version,
                               WVA_COMPILER_FAMILY,
                               static_cast<std::uint32_t>(WVA_COMPILER_MAJOR),
                               WVA_CXX11_ABI,
                               __cplusplus,
                               static_cast<std::uint32_t>(WVA_JSON_VERSION),
                               static_cast<std::uint32_t>(WVA_GLIBCXX_RELEASE),
                               static_cast<std::uint32_t>(WVA_GLIBCXX_DATE)};
}

inline std::string kinds_to_string(std::uint32_t kinds) {
  std::string out;
  auto add = [&](const char* s) { out += out.empty() ? s : std::string(",") + s; };
  if (kinds & WVA_KIND_SOURCE) add("source");
  if (kinds & WVA_KIND_ANALYZER) add("analyzer");
  if (kinds & WVA_KIND_SINK) add("sink");
  if (kinds & WVA_KIND_MODEL_DISCOVERY) add("model-discovery");
  if (kinds & WVA_KIND_COMBINER) add("combiner");
  return out.empty() ? "none" : out;
}

inline std::string toolchain_to_string(const wva_plugin_descriptor& d) {
  auto version = [](std::uint32_t v) {
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  };
  return std::string(d.compiler_family ? d.compiler_family : "?") + "-" + std::to_string(d.compiler_major) +
         " cxx11abi=" + std::to_string(d.cxx11_abi) + " c++" + std::to_string(d.cplusplus) + " nlohmann_json " +
         version(d.json_version) + " libstdc++ " + std::to_string(d.glibcxx_release) + "/" +
         std::to_string(d.glibcxx_date);
}

// The fingerprint fields on which two descriptors differ, e.g. "compiler, nlohmann_json".
inline std::string fingerprint_differences(const wva_plugin_descriptor& a, const wva_plugin_descriptor& b) {
  std::string out;
  auto add = [&](bool differs, const char* what) {
    if (differs) out += (out.empty() ? "" : ", ") + std::string(what);
  };
  add(std::string(a.compiler_family ? a.compiler_family : "") !=
              std::string(b.compiler_family ? b.compiler_family : "") ||
          a.compiler_major != b.compiler_major,
      "compiler");
  add(a.cxx11_abi != b.cxx11_abi, "libstdc++ dual ABI (_GLIBCXX_USE_CXX11_ABI)");
  add(a.cplusplus != b.cplusplus, "C++ standard (__cplusplus)");
  add(a.json_version != b.json_version, "nlohmann_json version");
  add(a.glibcxx_release != b.glibcxx_release || a.glibcxx_date != b.glibcxx_date, "libstdc++ version");
  return out;
}

// Checks a plugin's descriptor against the host's. The message names both sides and the fix.
inline Result<void> check_descriptor(const wva_plugin_descriptor& plugin,
                                     const wva_plugin_descriptor& host = this_toolchain()) {
  auto fail = [](std::string m) { return Result<void>(make_error(ErrorCode::kAbiMismatch, std::move(m))); };
  if (plugin.struct_size < sizeof(std::uint32_t) * 2)
    return fail("descriptor is truncated (struct_size " + std::to_string(plugin.struct_size) + ")");
  if (plugin.abi_major != host.abi_major)
    return fail("SDK ABI " + std::to_string(plugin.abi_major) + "." + std::to_string(plugin.abi_minor) +
                " is incompatible with host ABI " + std::to_string(host.abi_major) + "." +
                std::to_string(host.abi_minor) + "; rebuild the plugin against SDK " + std::to_string(host.abi_major) +
                ".x");
  if (plugin.struct_size < sizeof(wva_plugin_descriptor))
    return fail("descriptor is shorter than ABI " + std::to_string(host.abi_major) + " requires");
  if (plugin.abi_minor > host.abi_minor)
    return fail("plugin needs SDK ABI " + std::to_string(plugin.abi_major) + "." + std::to_string(plugin.abi_minor) +
                " but the host provides " + std::to_string(host.abi_major) + "." + std::to_string(host.abi_minor) +
                "; upgrade wva or rebuild the plugin");
  if (!plugin.name || !*plugin.name) return fail("descriptor has no plugin name");
  if ((plugin.kinds & (WVA_KIND_SOURCE | WVA_KIND_ANALYZER | WVA_KIND_SINK | WVA_KIND_COMBINER)) == 0)
    return fail("descriptor declares no plugin kind");
  if (const std::string differs = fingerprint_differences(plugin, host); !differs.empty())
    return fail("built with toolchain " + toolchain_to_string(plugin) + " but the host uses " +
                toolchain_to_string(host) + " (differs: " + differs +
                "); rebuild the plugin with the host's compiler, flags and libraries");
  return ok();
}

}  // namespace wva::sdk
