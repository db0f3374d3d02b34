#!/usr/bin/env bash
# The Go SDK's tests (sdk/go, against a real node they start themselves).
set -uo pipefail
cd "$(dirname "$0")/../../../sdk/go"
events=$(mktemp)
status=0
go vet ./... || status=1
go test -count=1 -json ./... > "$events" || status=1
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
let passed = 0, failed = 0;
for (const line of lines) {
  let e; try { e = JSON.parse(line); } catch { continue; }
  if (e.Action === "output" && !e.Test) process.stderr.write(e.Output);
  if (e.Action === "output" && e.Test && /--- FAIL/.test(e.Output)) process.stderr.write(e.Output);
  if (!e.Test) continue;
  if (e.Action === "pass") passed++;
  if (e.Action === "fail") failed++;
}
if (process.argv[2] !== "0" && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
' "$events" "$status"
rm -f "$events"
exit $status
