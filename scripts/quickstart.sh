#!/usr/bin/env bash
# The README's first command: set up, build, and run one cycle on examples/quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
WVA_BUILD_TARGETS="wva wva_all_plugins wva-emulator" bash scripts/build.sh >/dev/null
echo "== wva plugins"
build/bin/wva plugins
echo
echo "== wva run --local examples/quickstart --once"
build/bin/wva run --local examples/quickstart --once "$@"
