#!/usr/bin/env bash
# The Python SDK's pytest suite (real node, TypeScript and Python worker processes).
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=$(mktemp)
sdk/python/.venv/bin/python -m pytest -q -p no:cacheprovider --junitxml="$out" sdk/python
status=$?
sdk/python/.venv/bin/python - "$out" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(f"{tests - bad - skipped} passed, {bad} failed")
PY
rm -f "$out"
exit $status
