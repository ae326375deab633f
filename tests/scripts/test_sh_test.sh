#!/usr/bin/env bash
# test_sh_test.sh <source dir>: scripts/test.sh's closing line is ctest's truth. Runs the real script
# (WVA_SKIP_BUILD=1) on small hand-written ctest dirs: one with a passing, a failing, a skipped, a timed-out
# test and one whose output imitates a JUnit element; one with only passing tests; one with no test.
set -euo pipefail
src="$(cd "$1" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

run_script() {  # run_script <build dir>: sets out, rc, last
  set +e
  out="$(WVA_SKIP_BUILD=1 WVA_BUILD_DIR="$1" WVA_TEST_JOBS=2 bash "$src/scripts/test.sh" 2>&1)"
  rc=$?
  set -e
  last="$(tail -n 1 <<<"$out")"
}

mkdir -p "$tmp/mixed"
cat >"$tmp/mixed/CTestTestfile.cmake" <<'CTEST'
add_test(passes "/bin/sh" "-c" "exit 0")
add_test(fails "/bin/sh" "-c" "exit 1")
add_test(skips "/bin/sh" "-c" "exit 77")
set_tests_properties(skips PROPERTIES SKIP_RETURN_CODE 77)
add_test(times_out "/bin/sh" "-c" "while :; do :; done")
set_tests_properties(times_out PROPERTIES TIMEOUT 1)
add_test(imitates_junit "/bin/sh" "-c" "echo '<testcase name=\"x\" status=\"run\">'; echo '....***Failed'; exit 3")
CTEST
run_script "$tmp/mixed"
[ "$last" = "1 passed, 3 failed, 1 skipped" ] || { echo "$out"; fail "mixed: closing line is '$last'"; }
[ "$rc" -ne 0 ] || fail "mixed: exit status 0 with failures"
grep -qx "  fails" <<<"$out" || { echo "$out"; fail "mixed: the failing test is not named"; }
echo "ok: mixed -> '$last', exit $rc"

mkdir -p "$tmp/one-failure"
cat >"$tmp/one-failure/CTestTestfile.cmake" <<'CTEST'
add_test(a "/bin/sh" "-c" "exit 0")
add_test(b "/bin/sh" "-c" "exit 0")
add_test(c "/bin/sh" "-c" "echo 'Test #3: c .....***Failed'; exit 1")
CTEST
run_script "$tmp/one-failure"
[ "$last" = "2 passed, 1 failed, 0 skipped" ] || { echo "$out"; fail "one failure: closing line is '$last'"; }
[ "$rc" -ne 0 ] || fail "one failure: exit status 0"
echo "ok: one failure -> '$last', exit $rc"

mkdir -p "$tmp/green"
printf 'add_test(a "/bin/sh" "-c" "exit 0")\nadd_test(b "/bin/sh" "-c" "exit 0")\n' >"$tmp/green/CTestTestfile.cmake"
run_script "$tmp/green"
[ "$last" = "2 passed, 0 failed, 0 skipped" ] || { echo "$out"; fail "green: closing line is '$last'"; }
[ "$rc" -eq 0 ] || fail "green: exit status $rc"
echo "ok: green -> '$last', exit 0"

mkdir -p "$tmp/empty"
run_script "$tmp/empty"
[ "$rc" -ne 0 ] || { echo "$out"; fail "empty: exit status 0 although no test ran"; }
grep -q "ran no test" <<<"$out" || { echo "$out"; fail "empty: no 'ran no test' message"; }
echo "ok: no tests -> exit $rc"
