// The `wva` command line: run, validate, plugins, version; simulate runs the wva-simulate program.
#pragma once

namespace wva::framework {

int run_cli(int argc, char** argv);

}  // namespace wva::framework
