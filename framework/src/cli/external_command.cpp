#include "cli/external_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include <boost/dll/runtime_symbol_info.hpp>

namespace wva::framework {

namespace fs = std::filesystem;

std::vector<fs::path> external_command_dirs() {
  boost::system::error_code ec;
  const auto exe = boost::dll::program_location(ec);
  if (ec) return {};
  const fs::path dir = fs::path(exe.string()).parent_path();
  return {dir, dir.parent_path() / "libexec" / "wva"};
}

std::optional<fs::path> find_external_command(const std::string& program, const std::vector<fs::path>& dirs) {
  for (const auto& dir : dirs) {
    const fs::path candidate = dir / program;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

int run_external_command(const std::string& program, const std::string& verb, int argc, char** argv) {
  const auto dirs = external_command_dirs();
  const auto path = find_external_command(program, dirs);
  if (!path) {
    std::cerr << verb << ": the program " << program << " was not found (looked in";
    for (const auto& d : dirs) std::cerr << ' ' << d.string();
    std::cerr << "); it is built and installed with wva (build target " << program << ")\n";
    return 127;
  }
  std::vector<char*> args;
  std::string name = path->string();
  args.push_back(name.data());
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  ::execv(name.c_str(), args.data());
  const int err = errno;
  std::cerr << verb << ": cannot run " << name << ": " << std::strerror(err) << "\n";
  return 126;
}

}  // namespace wva::framework
