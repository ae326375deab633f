#!/usr/bin/env bash
# scripts/check-framework-vocabulary.sh: passes on the repository, and fails, naming file and line, on a
# copy of framework/ where one file names a plugin (as a word, in any case) or an emulator key; a word
# inside another (`saturationless`) does not count.
set -euo pipefail
root=$1
check="$root/scripts/check-framework-vocabulary.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$check" "$root" >/dev/null || fail "the repository's framework/ names a plugin (run $check)"

mkdir -p "$tmp/framework/src/host"
printf '// ordinary words: saturationless, prequeueing\nint x;\n' >"$tmp/framework/src/host/a.cpp"
bash "$check" "$tmp" >/dev/null || fail "a word inside another word was counted"

for planted in "// falls back to Hybrid mode" "const char* k = \"scale-to-zero\";" "// reads fixedLoad" \
  "auto reason = \"PrometheusError\";" "// see plugins/queueing"; do
  printf 'int y;\n%s\n' "$planted" >"$tmp/framework/src/host/b.cpp"
  if out=$(bash "$check" "$tmp" 2>&1); then fail "not caught: $planted"; fi
  grep -q "framework/src/host/b.cpp:2:" <<<"$out" || fail "no file:line for: $planted ($out)"
done

# Every path under framework/ is checked, the CLI's too.
rm "$tmp/framework/src/host/b.cpp"
mkdir -p "$tmp/framework/src/cli"
echo "// runs the emulator" >"$tmp/framework/src/cli/simulate.cpp"
if bash "$check" "$tmp" >/dev/null 2>&1; then fail "a file under framework/src/cli was skipped"; fi
echo "ok: the framework vocabulary check passes here and catches planted names"
