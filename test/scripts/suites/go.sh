#!/usr/bin/env bash
# The Go SDK's tests (sdk/go, against a real node they start themselves).
# Writes "PASSED FAILED [failed test names]" to $SUITE_RESULT.
set -uo pipefail
cd "$(dirname "$0")/../../../sdk/go"
events=$(mktemp)
status=0
go vet ./... || status=1
go test -count=1 -json ./... > "$events" || status=1
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
let passed = 0;
const failed = [];
for (const line of lines) {
  let e; try { e = JSON.parse(line); } catch { continue; }
  if (e.Action === "output") process.stdout.write(e.Output);
  if (!e.Test) continue;
  if (e.Action === "pass") passed++;
  if (e.Action === "fail") failed.push(`${e.Package} ${e.Test}`);
}
if (process.argv[2] !== "0" && failed.length === 0) failed.push("go vet or go test failed outside a test");
require("fs").writeFileSync(process.argv[3], `${passed} ${failed.length} ${failed.join("\n")}\n`);
' "$events" "$status" "${SUITE_RESULT:-/dev/stdout}"
rm -f "$events"
exit $status
