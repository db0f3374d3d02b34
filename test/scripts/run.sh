#!/usr/bin/env bash
# `npm test`: installs what the tests need (pinned), runs every test runner of
# the repository (vitest, then each suite in test/scripts/suites: pytest, go
# test, ...) and ends with one line "N passed, N failed" covering all of them,
# after the names of the tests that failed. Extra arguments go to vitest
# (e.g. `npm test -- test/conformance`), which then runs alone.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash test/scripts/tools.sh || exit 1
bin=${TOOLS_BIN:-/usr/local/bin}; [ -w "$bin" ] || bin="$HOME/.local/bin"
export PATH="$bin:$PATH"
# Go's own install location, for shells whose PATH lacks it.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0

npx vitest run --reporter=default --reporter=json --outputFile="$results/vitest.json" "$@" || status=1
node -e '
const fs = require("fs");
const file = process.argv[1];
if (!fs.existsSync(file)) { fs.writeFileSync(process.argv[2], "0 1 vitest wrote no results\n"); process.exit(); }
const r = JSON.parse(fs.readFileSync(file, "utf8"));
const failed = r.testResults.flatMap((f) =>
  f.assertionResults.filter((a) => a.status === "failed").map((a) => `${f.name.replace(process.cwd() + "/", "")} > ${a.fullName}`)
    .concat(f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed") ? [`${f.name} (${f.message})`] : []));
fs.writeFileSync(process.argv[2], `${r.numPassedTests} ${r.numFailedTests + (r.numRuntimeErrorTests ?? 0)} ${failed.join("\n")}\n`);
' "$results/vitest.json" "$results/counts.vitest"

if [ $# -eq 0 ]; then
  for suite in test/scripts/suites/*.sh; do
    [ -f "$suite" ] || continue
    name=$(basename "$suite" .sh)
    # A suite writes "PASSED FAILED [names of failed tests]" to $SUITE_RESULT
    # and exits non-zero on failure.
    SUITE_RESULT="$results/counts.$name" bash "$suite" || status=1
    [ -s "$results/counts.$name" ] || echo "0 1 $name reported no counts" > "$results/counts.$name"
  done
fi

passed=0
failed=0
for counts in "$results"/counts.*; do
  read -r p f rest < "$counts"
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$f" -gt 0 ]; then
    echo "failed in ${counts##*.}:"
    { echo "$rest"; tail -n +2 "$counts"; } | sed '/^$/d; s/^/  /'
  fi
done
[ "$failed" -eq 0 ] || status=1
echo "${passed} passed, ${failed} failed"
exit $status
