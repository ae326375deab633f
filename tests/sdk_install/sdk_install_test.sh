#!/usr/bin/env bash
# sdk_install_test.sh <build dir> <source dir> <cmake> <c++ compiler>
#
# 1. cmake --install <build> into a temp prefix.
# 2. Configure, build and test sdk/examples/custom_analyzer against -DCMAKE_PREFIX_PATH=<prefix>.
# 3. `wva plugins --plugin-path <dir of the .so>` lists waiting-target.
# 4. `wva run --local <temp copy of manifests/> --once --output json` uses it (enabled only by the
#    wva-pipelines ConfigMap) and prints the desired replicas computed by hand.
# 5. The same for sdk/examples/custom_combiner (`median`): built out of tree, listed as a combiner, and
#    combining three waiting-target instances by `combine: median` in the ConfigMap (combiner/).
# Exit 77 (skipped) when bin/wva or a plugin the run needs is not built, or when the full install was
# impossible because not every target is built (the SDK is then installed alone and every step that
# can run still runs).
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cmake_bin=${3:-cmake}
cxx=${4:-c++}
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/wva-sdk-install.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
# shellcheck source=../support/prerequisite.sh
source "$src/tests/support/prerequisite.sh"

jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2

step "install $build into $work/prefix"
partial=""
if ! "$cmake_bin" --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1; then
  if grep -q "file INSTALL cannot find" "$work/install.log"; then
    # A partial build (e.g. -DWVA_PLUGIN_FILTER or a single --target): install the SDK alone, run every
    # step that can run, and report "skipped" at the end, since the full install was not proven.
    partial=$(grep -A1 "file INSTALL cannot find" "$work/install.log" | tr -s ' \n' ' ')
    echo "note: full install impossible, not everything is built:$partial"
    echo "note: installing the SDK alone ($build/sdk/cmake_install.cmake)"
    "$cmake_bin" -DCMAKE_INSTALL_PREFIX="$work/prefix" -P "$build/sdk/cmake_install.cmake" \
      >"$work/install-sdk.log" 2>&1 || { cat "$work/install-sdk.log" >&2; fail "installing the SDK failed"; }
  else
    cat "$work/install.log" >&2
    fail "cmake --install failed"
  fi
fi
config=$(find "$work/prefix" -name wva_sdkConfig.cmake | head -n 1)
[ -n "$config" ] || fail "installed prefix has no wva_sdkConfig.cmake"
libdir=$(dirname "$(dirname "$(dirname "$config")")")
mkdir -p "$libdir/wva/plugins"  # exists after a full install; the SDK's config checks it
for f in include/wva/sdk/sdk.h include/wva/sdk/testing/conformance.h include/wva/sdk/testing/fakes.h \
         include/wva/sdk/util/memory_cluster.h; do
  [ -f "$work/prefix/$f" ] || fail "installed prefix lacks $f"
done

step "configure sdk/examples/custom_analyzer against the installed SDK"
"$cmake_bin" -S "$src/sdk/examples/custom_analyzer" -B "$work/example-build" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; fail "configuring the example failed"; }
# It must have used the installed package, not the source tree.
grep -q "wva_sdk_DIR:PATH=$work/prefix/" "$work/example-build/CMakeCache.txt" ||
  fail "the example did not find wva_sdk under $work/prefix"

step "build the example"
"$cmake_bin" --build "$work/example-build" -j"$jobs" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "building the example failed"; }
so="$work/example-build/libwaiting-target.so"
[ -f "$so" ] || fail "$so was not built"

if [ -f "$work/example-build/waiting_target_tests" ]; then
  step "run the example's own tests (SDK conformance suite from the installed testing kit)"
  (cd "$work/example-build" && ctest --output-on-failure -j"$jobs") >"$work/ctest.log" 2>&1 ||
    { cat "$work/ctest.log" >&2; fail "the example's tests failed"; }
  tail -n 3 "$work/ctest.log"
else
  echo "note: the example's tests were not built (no GoogleTest found through the installed package)"
fi

step "configure, build and test sdk/examples/custom_combiner against the installed SDK"
"$cmake_bin" -S "$src/sdk/examples/custom_combiner" -B "$work/combiner-build" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
  >"$work/combiner-configure.log" 2>&1 || { cat "$work/combiner-configure.log" >&2; fail "configuring the combiner failed"; }
grep -q "wva_sdk_DIR:PATH=$work/prefix/" "$work/combiner-build/CMakeCache.txt" ||
  fail "the combiner example did not find wva_sdk under $work/prefix"
"$cmake_bin" --build "$work/combiner-build" -j"$jobs" >"$work/combiner-build.log" 2>&1 ||
  { cat "$work/combiner-build.log" >&2; fail "building the combiner example failed"; }
combiner_so="$work/combiner-build/libmedian.so"
[ -f "$combiner_so" ] || fail "$combiner_so was not built"
if [ -f "$work/combiner-build/median_tests" ]; then
  (cd "$work/combiner-build" && ctest --output-on-failure -j"$jobs") >"$work/combiner-ctest.log" 2>&1 ||
    { cat "$work/combiner-ctest.log" >&2; fail "the combiner example's tests failed"; }
  tail -n 3 "$work/combiner-ctest.log"
fi

mkdir -p "$work/extra-plugins"
cp "$so" "$combiner_so" "$work/extra-plugins/"

wva="$build/bin/wva"
if [ ! -x "$wva" ]; then
  skip_or_fail "$wva is not built; the install and out-of-tree build passed, the run steps were skipped"
fi

step "wva plugins --plugin-path $work/extra-plugins"
set +e
"$wva" plugins --plugin-path "$work/extra-plugins" >"$work/plugins.out" 2>"$work/plugins.err"
rc=$?
set -e
cat "$work/plugins.out"
grep -E "^waiting-target[[:space:]]+analyzer[[:space:]]+1\.0\.0[[:space:]].*libwaiting-target\.so" "$work/plugins.out" \
  >/dev/null || { cat "$work/plugins.err" >&2; fail "wva plugins did not list waiting-target (rc $rc)"; }
grep -E "^median[[:space:]]+combiner[[:space:]]+1\.0\.0[[:space:]].*libmedian\.so" "$work/plugins.out" \
  >/dev/null || { cat "$work/plugins.err" >&2; fail "wva plugins did not list median as a combiner (rc $rc)"; }
if [ "$rc" -ne 0 ]; then
  echo "note: wva plugins exited $rc because it refused other plugins:" >&2
  cat "$work/plugins.err" >&2
fi

missing=""
for p in emulator log; do
  [ -f "$build/plugins/lib$p.so" ] || missing="$missing lib$p.so"
done
if [ -n "$missing" ]; then
  skip_or_fail "not built in $build/plugins:$missing (needed by the wva run step); the install, out-of-tree" \
       "build and wva plugins steps passed"
fi

step "wva run --local (waiting-target enabled by the wva-pipelines ConfigMap alone)"
cp -r "$here/manifests" "$work/manifests"
sed -i "s|@WAITING_TARGET_DIR@|$work/extra-plugins|" "$work/manifests/wva-pipelines.yaml"
set +e
"$wva" run --local "$work/manifests" --once --output json >"$work/run.out" 2>"$work/run.err"
rc=$?
set -e
cat "$work/run.out"
[ "$rc" -eq 0 ] || { cat "$work/run.err" >&2; fail "wva run exited $rc"; }

# One decision object per line, whitespace removed, whatever the CLI's formatting.
tr -d '[:space:]' <"$work/run.out" | sed 's/},{/}\n{/g' >"$work/decisions.txt"
expect() {  # variant desired
  local line
  line=$(grep "\"variant\":\"$1\"" "$work/decisions.txt" || true)
  [ -n "$line" ] || { cat "$work/run.err" >&2; fail "no decision for variant $1"; }
  echo "$line" | grep -q "\"desired\":$2[,}]" || fail "variant $1: expected desired $2, got: $line"
  echo "$line" | grep -q '"analyzer":"waiting-target"' || fail "variant $1: not decided by waiting-target: $line"
  echo "$line" | grep -q '"namespace":"llm"' || fail "variant $1: wrong namespace: $line"
  echo "$line" | grep -q '"model":"meta/llama"' || fail "variant $1: wrong model: $line"
}
expect llama-h100 4   # waiting 7 + 6 = 13 over 4 per replica
expect llama-a100 3   # waiting 9 over 4 per replica

# The log sink (configured in the same ConfigMap) wrote the same decisions as one JSON document.
grep -q '"decisions":\[' "$work/run.err" || fail "the log sink wrote no JSON document to stderr"

step "wva run --local (median combining three waiting-target instances, by the ConfigMap alone)"
cp -r "$here/manifests" "$work/manifests-median"
sed "s|@EXTRA_PLUGIN_DIR@|$work/extra-plugins|" "$here/combiner/wva-pipelines.yaml" \
  >"$work/manifests-median/wva-pipelines.yaml"
set +e
"$wva" run --local "$work/manifests-median" --once --output json >"$work/run-median.out" 2>"$work/run-median.err"
rc=$?
set -e
cat "$work/run-median.out"
[ "$rc" -eq 0 ] || { cat "$work/run-median.err" >&2; fail "wva run (median) exited $rc"; }
tr -d '[:space:]' <"$work/run-median.out" | sed 's/},{/}\n{/g' >"$work/decisions-median.txt"
expect_median() {  # variant desired
  local line
  line=$(grep "\"variant\":\"$1\"" "$work/decisions-median.txt" || true)
  [ -n "$line" ] || { cat "$work/run-median.err" >&2; fail "median: no decision for variant $1"; }
  echo "$line" | grep -q "\"desired\":$2[,}]" || fail "median: variant $1: expected desired $2, got: $line"
  echo "$line" | grep -q '"analyzer":"normal"' || fail "median: variant $1: not normal's target: $line"
}
expect_median llama-h100 5   # targets 13, 5, 2
expect_median llama-a100 3   # targets 9, 3, 2

if [ -n "$partial" ]; then
  skip_or_fail "every step passed, but on an SDK-only install: build all targets to test the full install"
fi
echo "PASS: waiting-target and median built against the installed SDK and used by configuration alone"
