#include "host/loader.h"

#include <algorithm>
#include <set>

#include <boost/dll/runtime_symbol_info.hpp>

namespace wva::framework {

namespace {

std::string missing_file_hint(const std::filesystem::path& file) {
  std::error_code ec;
  return std::filesystem::exists(file, ec) ? "" : " (file does not exist)";
}

sdk::Error refused(const std::filesystem::path& file, const std::string& why) {
  return sdk::make_error(sdk::ErrorCode::kAbiMismatch, "plugin " + file.string() + " refused: " + why);
}

}  // namespace

sdk::Result<std::shared_ptr<PluginLibrary>> PluginLibrary::open(const std::filesystem::path& file) {
  auto lib = std::shared_ptr<PluginLibrary>(new PluginLibrary());
  boost::system::error_code ec;
  lib->library_.load(boost::dll::fs::path(file.string()),
                     boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now, ec);
  if (ec) return refused(file, "cannot load: " + ec.message() + missing_file_hint(file));
  if (!lib->library_.has(sdk::kDescriptorSymbol))
    return refused(file, std::string("missing symbol ") + sdk::kDescriptorSymbol +
                             " (not a WVA plugin, or built without WVA_PLUGIN)");
  using DescribeFn = const wva_plugin_descriptor*();
  const wva_plugin_descriptor* d = lib->library_.get<DescribeFn>(sdk::kDescriptorSymbol)();
  if (d == nullptr) return refused(file, "descriptor is null");
  if (auto check = sdk::check_descriptor(*d); !check.ok()) return refused(file, check.error().message);
  for (const char* symbol : {sdk::kCreateSymbol, sdk::kDestroySymbol})
    if (!lib->library_.has(symbol)) return refused(file, std::string("missing symbol ") + symbol);
  lib->create_ = &lib->library_.get<CreateFn>(sdk::kCreateSymbol);
  lib->destroy_ = &lib->library_.get<DestroyFn>(sdk::kDestroySymbol);
  lib->info_ = PluginInfo{d->name,      d->version ? d->version : "", d->kinds, d->abi_major,
                          d->abi_minor, sdk::toolchain_to_string(*d), file};
  return lib;
}

sdk::Result<std::shared_ptr<sdk::Plugin>> PluginLibrary::create() {
  sdk::Plugin* raw = create_();
  if (raw == nullptr)
    return sdk::make_error(sdk::ErrorCode::kInternal,
                           "plugin " + info_.name + " (" + info_.file.string() + "): constructor failed");
  auto self = shared_from_this();
  return std::shared_ptr<sdk::Plugin>(raw, [self](sdk::Plugin* p) { self->destroy_(p); });
}

std::vector<std::filesystem::path> default_plugin_paths() {
  boost::system::error_code ec;
  auto exe = boost::dll::program_location(ec);
  if (ec) return {};
  std::filesystem::path dir = std::filesystem::path(exe.string()).parent_path();
  return {dir.parent_path() / "plugins", dir.parent_path() / "lib" / "wva" / "plugins"};
}

sdk::Result<std::filesystem::path> find_plugin_file(const std::string& name,
                                                    const std::vector<std::filesystem::path>& paths) {
  std::string looked;
  for (const auto& dir : paths) {
    auto candidate = dir / ("lib" + name + ".so");
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  return sdk::make_error(sdk::ErrorCode::kNotFound, "plugin \"" + name + "\" not found: no lib" + name + ".so in " +
                                                        (looked.empty() ? std::string("(no plugin paths)") : looked));
}

std::vector<ScanEntry> scan_plugins(const std::vector<std::filesystem::path>& paths) {
  std::vector<ScanEntry> out;
  std::set<std::string> seen;
  for (const auto& dir : paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const auto name = entry.path().filename().string();
      if (name.starts_with("lib") && entry.path().extension() == ".so") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      if (!seen.insert(file.filename().string()).second) continue;
      ScanEntry e{file, std::nullopt, ""};
      auto lib = PluginLibrary::open(file);
      if (lib.ok()) e.info = lib.value()->info();
      else e.error = lib.error().message;
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace wva::framework
