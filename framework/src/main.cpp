#include "cli/cli.h"

int main(int argc, char** argv) { return wva::framework::run_cli(argc, argv); }
