#!/usr/bin/env bash
# `npm test`: installs what the tests need (pinned), runs every test runner of
# the repository (vitest; pytest and go test where those SDKs exist) and ends
# with one line "N passed, N failed" covering all of them. Extra arguments go
# to vitest (e.g. `npm test -- test/conformance`), which then runs alone.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash test/scripts/tools.sh || exit 1
bin=${TOOLS_BIN:-/usr/local/bin}; [ -w "$bin" ] || bin="$HOME/.local/bin"
export PATH="$bin:$PATH"

results=$(mktemp -d)
status=0
passed=0
failed=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); }

npx vitest run --reporter=default --reporter=json --outputFile="$results/vitest.json" "$@" || status=1
if [ -f "$results/vitest.json" ]; then
  read -r p f < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTests ?? 0));
  ' "$results/vitest.json")
  add "$p" "$f"
else
  add 0 1
fi

if [ $# -eq 0 ]; then
  for suite in test/scripts/suites/*.sh; do
    [ -f "$suite" ] || continue
    # Each suite prints "N passed, N failed" as its last line and exits non-zero on failure.
    out=$(bash "$suite" 2>&1 | tee /dev/stderr | tail -n 1) || status=1
    if [[ "$out" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
      add "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    else
      echo "$suite did not report its counts" >&2
      add 0 1
      status=1
    fi
  done
fi

rm -rf "$results"
[ "$failed" -eq 0 ] || status=1
echo "${passed} passed, ${failed} failed"
exit $status
