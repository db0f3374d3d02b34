#!/usr/bin/env bash
# The Python SDK's pytest suite (real node, TypeScript and Python worker
# processes). Writes "PASSED FAILED [failed test names]" to $SUITE_RESULT.
set -uo pipefail
cd "$(dirname "$0")/../../.."
report=$(mktemp)
sdk/python/.venv/bin/python -m pytest -q -p no:cacheprovider --junitxml="$report" sdk/python
status=$?
sdk/python/.venv/bin/python - "$report" > "${SUITE_RESULT:-/dev/stdout}" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    print(f"0 1 pytest wrote no report ({e})"); sys.exit()
cases = list(root.iter("testcase"))
failed = [f"{c.get('classname')}::{c.get('name')}" for c in cases if c.find("failure") is not None or c.find("error") is not None]
skipped = [c for c in cases if c.find("skipped") is not None]
print(len(cases) - len(failed) - len(skipped), len(failed), "\n".join(failed))
PY
rm -f "$report"
exit $status
