# Sourced by the shell test suites (test/scripts/suites/*.sh): each check is
# one test. `finish` writes "PASSED FAILED [names of failed checks]" to
# $SUITE_RESULT (test/scripts/run.sh adds it to the closing line) and exits
# non-zero when a check failed.
passed=0
failed=0
failed_names=()
ok() { passed=$((passed + 1)); echo "  ok    $1"; }
# not_ok NAME [OUTPUT [LINES]]: the failure and the last LINES (default 40) of its output.
not_ok() {
  failed=$((failed + 1))
  failed_names+=("$1")
  echo "  FAIL  $1"
  [ -z "${2:-}" ] || sed 's/^/        /' <<<"$2" | tail -n "${3:-40}"
}
check() { local name=$1 out; shift; if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi; }
finish() {
  echo "${passed} checks passed, ${failed} failed"
  { echo "$passed $failed"; printf '%s\n' "${failed_names[@]}"; } > "${SUITE_RESULT:-/dev/null}"
  [ "$failed" -eq 0 ]
  exit $?
}
