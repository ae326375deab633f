// Verbs of `wva` served by a program of their own (like git's sub-commands): the program is looked up
// beside the running wva, then in ../libexec/wva/ of its prefix, and replaces this process.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace wva::framework {

// The folders searched, in order: the folder of the running executable, then <that>/../libexec/wva.
std::vector<std::filesystem::path> external_command_dirs();

// The first executable file named `program` in `dirs`.
std::optional<std::filesystem::path> find_external_command(const std::string& program,
                                                           const std::vector<std::filesystem::path>& dirs);

// Runs `program` with argv[1..argc) (argv[0] is the verb) in place of this process. Returns only on
// failure: 127 when the program is not found (the message names it and the folders searched), 126 when
// it cannot be run. `verb` prefixes the messages ("wva simulate").
int run_external_command(const std::string& program, const std::string& verb, int argc, char** argv);

}  // namespace wva::framework
