# Sourced by shell tests. skip_or_fail "reason": a missing prerequisite skips the test (exit 77, ctest's
# SKIP_RETURN_CODE) on a developer's machine and fails it in CI (CI=true), where everything is installed
# and built, so a skip would hide a broken setup.
skip_or_fail() {
  if [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; then
    echo "FAIL: prerequisite missing in CI: $*" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
