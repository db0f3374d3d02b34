#!/usr/bin/env bash
# Installs, at pinned versions, what the tests run as real processes:
# nats-server (2.12+ for atomic batch publish; Debian's 2.9 is too old) and
# grpcurl, built with `go install` into /usr/local/bin (or $TOOLS_BIN), and the
# Python SDK's virtual environment. Idempotent: what is present is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."

NATS_SERVER_VERSION=v2.14.9
GRPCURL_VERSION=v1.9.3
bin=${TOOLS_BIN:-/usr/local/bin}
[ -w "$bin" ] || bin="$HOME/.local/bin"
mkdir -p "$bin"
export PATH="$bin:$PATH"
# Go's own install location, for shells whose PATH lacks it.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi

need_go() {
  command -v go >/dev/null || { echo "Go is needed to build $1 (https://go.dev/dl/); install it and run again" >&2; exit 1; }
}

nats_ok() {
  command -v nats-server >/dev/null || return 1
  local v; v=$(nats-server --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge 12 ]; }
}

if ! nats_ok; then
  need_go nats-server
  echo "installing nats-server ${NATS_SERVER_VERSION} into $bin" >&2
  GOBIN="$bin" go install "github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}"
fi
if ! command -v grpcurl >/dev/null; then
  need_go grpcurl
  echo "installing grpcurl ${GRPCURL_VERSION} into $bin" >&2
  GOBIN="$bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}"
fi

# The Python SDK's environment (grpcio-tools also makes the Python stubs in `buf generate`).
if [ -f sdk/python/requirements-dev.txt ] && ! sdk/python/.venv/bin/python -c 'import grpc_tools, pytest' 2>/dev/null; then
  echo "setting up sdk/python/.venv" >&2
  python3 -m venv sdk/python/.venv
  (cd sdk/python && .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt)
fi

# The Go protobuf plugins `buf generate` runs (buf.gen.yaml points at .tools/bin).
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
go_plugin() { # name module version
  local name=$1 module=$2 version=$3 dir="$PWD/.tools/bin"
  if [ -x "$dir/$name" ] && "$dir/$name" --version 2>/dev/null | grep -q -- "${version#v}"; then return; fi
  need_go "$name"
  GOBIN="$dir" GOFLAGS=-mod=mod go install "${module}@${version}"
}
go_plugin protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
go_plugin protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"
