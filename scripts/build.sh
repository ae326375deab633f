#!/usr/bin/env bash
# Installs missing Debian packages, then configures and builds WVA into ./build with both cores.
# Extra arguments go to cmake's configure step (e.g. -DWVA_SANITIZE=address,undefined).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${WVA_BUILD_DIR:-build}
# WVA_CMAKE_ARGS adds configure options, e.g. "-DWVA_SANITIZE=address,undefined".
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${WVA_BUILD_TYPE:-RelWithDebInfo} ${WVA_CMAKE_ARGS:-} "$@" >/dev/null
# WVA_BUILD_TARGETS (space-separated) builds only those, e.g. the quick start skips the tests.
targets=()
for t in ${WVA_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j"${WVA_JOBS:-2}" "${targets[@]}"
