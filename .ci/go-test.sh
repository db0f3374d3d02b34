#!/usr/bin/env bash
# Runs the Go SDK's tests (sdk/go, against a real node it starts itself) and
# writes their events to .go-test-results.json at the repository root; counted
# by the closing line of .ci/run. Exit status: go test's.
set -uo pipefail
cd "$(dirname "$0")/.."
(cd sdk/go && go vet ./... && go test -count=1 -json ./...) > .go-test-results.json
