#!/usr/bin/env bash
# demo_test.sh <build dir> <source dir>: runs scripts/demo.sh against the build and checks that it finished
# within its bound, printed the live table and the report, said the decisions followed the load, and left
# no process behind.
set -euo pipefail
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=../support/prerequisite.sh
source "$src/tests/support/prerequisite.sh"
command -v prometheus >/dev/null 2>&1 || skip_or_fail "prometheus is not installed (scripts/install-deps.sh --test)"
for f in bin/wva bin/wva-emulator plugins/libprometheus.so plugins/libsaturation.so plugins/libmetrics.so plugins/liblog.so \
  plugins/libfirst.so; do
  [ -e "$build/$f" ] || skip_or_fail "$build/$f is not built"
done
out="$(mktemp)"
report="$(mktemp -d)"
# The demo's own scratch folder lives under this one, so the leftover check below cannot match another
# test's processes (ctest runs e2e tests of `wva run --local /tmp/...` in parallel).
scratch="$(mktemp -d)"
trap 'rm -rf "$out" "$report" "$scratch"' EXIT
start=$SECONDS
set +e
TMPDIR="$scratch" WVA_BUILD_DIR="$build" WVA_DEMO_REPORT="$report" timeout --kill-after=10 200 bash "$src/scripts/demo.sh" >"$out" 2>&1
rc=$?
set -e
took=$((SECONDS - start))
cat "$out"
[ "$rc" -eq 0 ] || fail "scripts/demo.sh exited $rc after ${took}s"
[ "$took" -lt 180 ] || fail "the demo took ${took}s (bound: 3 minutes)"
grep -qE '^ +t\(s\) +phase' "$out" || fail "no live table"
grep -qE '^ +[0-9]+ +high ' "$out" || fail "the live table has no row of the high-load phase"
grep -q '^report$' "$out" || fail "no report"
grep -q '^decisions followed the load: yes' "$out" || fail "the decisions did not follow the load"
[ "$(grep -c '<svg' "$report/report.html" 2>/dev/null || true)" -eq 3 ] || fail "no report.html with its three charts"
grep -q 'llama-8b-h100' "$report/report.html" || fail "report.html does not name the variants"
# Every process the demo started is gone (its processes ran binaries of this build or prometheus with its
# scratch config).
if pgrep -f "$build/bin/wva run --local $scratch/" >/dev/null ||
  pgrep -f "$build/bin/wva-emulator --listen 127.0.0.1:0 --config $scratch/" >/dev/null; then
  fail "the demo left processes behind"
fi
echo "PASS (${took}s)"
