#!/usr/bin/env bash
# The README's second command: set up, build, and run every test (unit, integration with a real
# Prometheus, end-to-end in local mode, chart, format). Benchmarks are built but not run here
# (docs/benchmarks.md). Extra arguments go to ctest (e.g. -R saturation, -L unit).
#
# The closing line `N passed, N failed, N skipped` is counted from ctest's own JUnit report, and the exit
# status is ctest's: non-zero when any test failed or when no test ran.
# WVA_SKIP_BUILD=1 runs the tests of an existing build dir (WVA_BUILD_DIR, default build) as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
if [ "${WVA_SKIP_BUILD:-}" != "1" ]; then
  bash scripts/install-deps.sh --test
  bash scripts/build.sh
fi
build_dir=${WVA_BUILD_DIR:-build}
cd "$build_dir"
junit="$(pwd)/ctest-junit.xml"
rm -f "$junit"
# helm and kubectl from scripts/install-k8s-tool.sh live in .cache/bin.
export PATH="$PATH:$repo/.cache/bin"
set +e
ctest --output-on-failure -j"${WVA_TEST_JOBS:-2}" --timeout 300 --output-junit "$junit" "$@" 2>&1 | tee ctest.log
status=${PIPESTATUS[0]}
set -e
echo
if [ ! -s "$junit" ]; then
  echo "no test report ($junit): ctest ran no test"
  echo "0 passed, 0 failed, 0 skipped"
  [ "$status" -ne 0 ] || status=1
  exit "$status"
fi
# Totals are attributes of <testsuite>; each <testcase> has status run|fail|notrun|disabled. Test output
# inside the report is XML-escaped, so a line that starts with "<testcase" is always an element.
attr() { grep -m1 -oE "^[[:space:]]*$1=\"[0-9]+\"" "$junit" | grep -oE '[0-9]+'; }
total=$(attr tests)
failed=$(attr failures)
skipped=$(( $(attr skipped) + $(attr disabled) ))
passed=$(( total - failed - skipped ))
if [ "$total" -eq 0 ]; then
  echo "ctest ran no test (none matched, or the build defined none)"
  [ "$status" -ne 0 ] || status=1
fi
if [ "$failed" -gt 0 ]; then
  echo "failed tests:"
  grep -E '^[[:space:]]*<testcase .*status="fail"' "$junit" | sed -E 's/.* name="([^"]*)".*/  \1/'
fi
if [ "$skipped" -gt 0 ]; then
  echo "skipped tests:"
  grep -E '^[[:space:]]*<testcase .*status="(notrun|disabled)"' "$junit" | sed -E 's/.* name="([^"]*)".*/  \1/'
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$failed" -gt 0 ] && [ "$status" -eq 0 ]; then status=1; fi
exit "$status"
