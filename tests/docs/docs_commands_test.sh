#!/usr/bin/env bash
# docs_commands_test.sh <build dir> <source dir>: runs the commands of the user documentation.
#
# Every shell block of the pages below carries a marker (tests/docs/extract_blocks.py has the
# convention): `<!-- test: run -->` blocks are run here, `cluster` blocks need a Kubernetes cluster and
# are only listed, `elsewhere NAME` blocks are run by the ctest test NAME (which must exist). Each page's
# runnable blocks run in order, each in its own `bash -euo pipefail`, in one scratch folder per page that
# holds links to the repository's examples/, charts/, crds/, data/ and plugins/ folders, with
# <build>/bin first on PATH (so `wva` and `wva-emulator` are the built ones, and plugins are found next
# to them) and helm from scripts/install-k8s-tool.sh. A block fails the test when its exit status is
# not the marker's (0 by default), when its output lacks an expected text, or when it runs past 120 s.
# Pages that must have runnable blocks, relative links that must resolve, and markers are checked too.
set -euo pipefail

build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=../support/prerequisite.sh
source "$src/tests/support/prerequisite.sh"
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed"
command -v curl >/dev/null 2>&1 || skip_or_fail "curl is not installed"
[ -x "$build/bin/wva" ] || skip_or_fail "$build/bin/wva is not built (cmake --build $build --target wva)"
[ -x "$build/bin/wva-emulator" ] || skip_or_fail "$build/bin/wva-emulator is not built"

# The pages, and whether each must have at least one runnable block.
pages=(
  docs/user-guide/installation.md
  docs/user-guide/configuration.md
  docs/user-guide/troubleshooting.md
  docs/saturation-scaling-config.md
  docs/integrations/hpa-integration.md
  docs/integrations/keda-integration.md
  docs/design/architecture-overview.md
  docs/developer-guide/development.md
)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME="$tmp/helm-cache" HELM_CONFIG_HOME="$tmp/helm-config" HELM_DATA_HOME="$tmp/helm-data"

set +e
helm="$(bash "$src/scripts/install-k8s-tool.sh" helm 2>"$tmp/install-helm.err")"
rc=$?
set -e
[ "$rc" -eq 77 ] && skip_or_fail "helm is not installed and cannot be fetched: $(cat "$tmp/install-helm.err")"
[ "$rc" -eq 0 ] || fail "scripts/install-k8s-tool.sh helm exited $rc: $(cat "$tmp/install-helm.err")"
mkdir -p "$tmp/tools"
ln -s "$helm" "$tmp/tools/helm"
run_path="$build/bin:$tmp/tools:$PATH"

# The troubleshooting page answers every error message the product FAQ names, and the messages it quotes
# as WVA prints them are WVA's own text (in the sources of the host and the plugins), so an edit of either
# side that drifts fails here.
faq_headings=(
  '"Failed to get metrics from Prometheus"'
  '"No pods found for model"'
  '"Scale target not found"'
  '"HPA not scaling to desired replicas"'
  'MetricsAvailable: False'
  "Why isn't my deployment scaling?"
)
for h in "${faq_headings[@]}"; do
  grep -qE "^#+ $(sed 's/[][\.*^$?+(){}|]/\\&/g' <<<"$h")\$" "$src/docs/user-guide/troubleshooting.md" ||
    fail "docs/user-guide/troubleshooting.md has no section for the FAQ's $h"
done
quoted=(
  "docs/user-guide/troubleshooting.md|Failed to get metrics from Prometheus"
  "docs/user-guide/troubleshooting.md|No pods found for model"
  "docs/user-guide/troubleshooting.md|(no vLLM series with "
  "docs/user-guide/troubleshooting.md|report metrics but none belongs to its variants"
  "docs/user-guide/troubleshooting.md|Scale target Deployment "
  "docs/user-guide/troubleshooting.md|is not supported (only Deployment)"
  "docs/user-guide/troubleshooting.md|Saturation metrics data is available for scaling decisions"
  "docs/user-guide/troubleshooting.md|no pod of the model reports KV-cache or queue metrics; holding the last decision"
  "docs/user-guide/troubleshooting.md|); holding the last decision"
  "docs/user-guide/troubleshooting.md| are stale: "
  "docs/user-guide/troubleshooting.md|keeping current replicas ("
  "docs/user-guide/troubleshooting.md|failed to load, configure or start"
  "docs/user-guide/troubleshooting.md|the VariantAutoscaling CRD (variantautoscalings.llmd.ai) is not installed; "
  "docs/user-guide/troubleshooting.md|apply crds/ or the Helm chart first"
  "docs/user-guide/troubleshooting.md| replicas asked for "
  "docs/user-guide/configuration.md|keeping its last good value until it is fixed (not the code defaults)"
  "docs/saturation-scaling-config.md|keeping its last good value until it is fixed (not the code defaults)"
)
for entry in "${quoted[@]}"; do
  page="${entry%%|*}"
  text="${entry#*|}"
  grep -qF -- "$text" "$src/$page" || fail "$page no longer quotes \"$text\""
  grep -rqF -- "$text" "$src/framework/src" "$src"/plugins/*/src "$src"/plugins/*/*/src 2>/dev/null ||
    fail "$page quotes \"$text\", which WVA's sources no longer print"
done
echo "ok: the FAQ's error messages have their sections; ${#quoted[@]} quoted messages are WVA's own text"

ctest_names="$(cat "$src"/tests/*/CMakeLists.txt "$src"/plugins/*/CMakeLists.txt "$src"/plugins/*/*/CMakeLists.txt 2>/dev/null)"
failures=0
total=0
for page in "${pages[@]}"; do
  [ -f "$src/$page" ] || fail "$page is missing"
  id="$(echo "$page" | tr '/.' '__')"
  blocks="$tmp/blocks/$id"
  python3 "$src/tests/docs/extract_blocks.py" "$src/$page" "$blocks" || fail "$page: shell blocks without a valid marker (above)"

  # Relative links resolve (anchors and URLs aside).
  dir="$(dirname "$src/$page")"
  while IFS= read -r link; do
    target="${link%%#*}"
    [ -z "$target" ] && continue
    [ -e "$dir/$target" ] || fail "$page: link to $link does not resolve"
  done < <(grep -oE '\]\([^)[:space:]]+\)' "$src/$page" | sed -E 's/^\]\((.*)\)$/\1/' | grep -vE '^[a-z]+:' || true)

  while IFS= read -r name; do
    [ -z "$name" ] && continue
    grep -qE "NAME +$name( |\))" <<<"$ctest_names" || fail "$page: marker names ctest test $name, which no CMakeLists.txt adds"
  done <"$blocks/elsewhere"

  shopt -s nullglob
  scripts=("$blocks"/*.sh)
  shopt -u nullglob
  [ "${#scripts[@]}" -gt 0 ] || fail "$page: no <!-- test: run --> block (each page shows at least one command that runs here)"

  work="$tmp/work/$id"
  mkdir -p "$work"
  for d in examples charts crds data plugins; do ln -s "$src/$d" "$work/$d"; done
  for script in "${scripts[@]}"; do
    n="${script%.sh}"
    line="$(cat "$n.line")"
    want="$(cat "$n.exit")"
    total=$((total + 1))
    set +e
    (cd "$work" && PATH="$run_path" HOME="$tmp/home" timeout --kill-after=5 120 bash -euo pipefail "$script") \
      >"$n.out" 2>&1 </dev/null
    got=$?
    set -e
    problem=""
    if [ "$got" -ne "$want" ]; then
      problem="exit status $got, expected $want"
    else
      while IFS= read -r text; do
        [ -z "$text" ] && continue
        grep -qF -- "$text" "$n.out" || { problem="output lacks \"$text\""; break; }
      done <"$n.expect"
    fi
    if [ -n "$problem" ]; then
      failures=$((failures + 1))
      echo "FAIL: $page:$line: $problem"
      sed 's/^/  | /' "$script"
      echo "  output:"
      tail -n 40 "$n.out" | sed 's/^/  > /'
    else
      echo "ok: $page:$line"
    fi
  done
done
echo "$total blocks run, $failures failed"
[ "$failures" -eq 0 ] || exit 1
