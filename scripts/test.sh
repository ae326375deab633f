#!/usr/bin/env bash
# The README's second command: set up, build, and run every test (unit, integration with a real
# Prometheus, end-to-end in local mode). Benchmarks are built but not run here (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build_dir=${WVA_BUILD_DIR:-build}
cd "$build_dir"
set +e
ctest --output-on-failure -j"${WVA_TEST_JOBS:-2}" --timeout 300 "$@" 2>&1 | tee ctest.log
status=${PIPESTATUS[0]}
set -e
echo
grep -E '^[0-9]+% tests passed' ctest.log || true
passed=$(grep -cE 'Test +#[0-9]+: .* Passed' ctest.log || true)
failed=$(grep -cE 'Test +#[0-9]+: .* (\*\*\*Failed|Failed|\*\*\*Exception|\*\*\*Timeout)' ctest.log || true)
skipped=$(grep -cE 'Test +#[0-9]+: .* Skipped' ctest.log || true)
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
