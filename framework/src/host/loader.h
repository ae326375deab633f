// Loads plugin libraries with Boost.DLL. The C descriptor is checked BEFORE any C++ object is made;
// a missing symbol, a wrong ABI major or a foreign toolchain is refused with one line naming the file
// and the reason. Nothing here throws.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "wva/sdk/abi.h"
#include "wva/sdk/plugin.h"

namespace wva::framework {

struct PluginInfo {
  std::string name;
  std::string version;
  std::uint32_t kinds = 0;
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  std::string toolchain;
  std::filesystem::path file;
};

// An opened plugin library. Plugin objects made from it keep it loaded (they hold a shared_ptr).
class PluginLibrary : public std::enable_shared_from_this<PluginLibrary> {
 public:
  static sdk::Result<std::shared_ptr<PluginLibrary>> open(const std::filesystem::path& file);

  const PluginInfo& info() const { return info_; }
  // A new instance; the object is destroyed by the library that made it, before the library unloads.
  sdk::Result<std::shared_ptr<sdk::Plugin>> create();

 private:
  using CreateFn = sdk::Plugin*() noexcept;
  using DestroyFn = void(sdk::Plugin*) noexcept;

  boost::dll::shared_library library_;
  PluginInfo info_;
  CreateFn* create_ = nullptr;
  DestroyFn* destroy_ = nullptr;
};

// Where `wva` looks for plugins: --plugin-path, then config plugins.paths, then next to the binary
// (<exe>/../plugins, <exe>/../lib/wva/plugins).
std::vector<std::filesystem::path> default_plugin_paths();

// lib<name>.so in the first path that has it; the error lists where it looked.
sdk::Result<std::filesystem::path> find_plugin_file(const std::string& name,
                                                    const std::vector<std::filesystem::path>& paths);

struct ScanEntry {
  std::filesystem::path file;
  std::optional<PluginInfo> info;  // set when the library was accepted
  std::string error;               // why it was refused
};
// Every lib*.so in the paths (first occurrence of a file name wins), opened and checked.
std::vector<ScanEntry> scan_plugins(const std::vector<std::filesystem::path>& paths);

}  // namespace wva::framework
