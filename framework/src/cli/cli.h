// The `wva` command line: run, validate, plugins, version (and simulate).
#pragma once

namespace wva::framework {

int run_cli(int argc, char** argv);

}  // namespace wva::framework
