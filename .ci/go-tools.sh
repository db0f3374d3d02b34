#!/usr/bin/env bash
# Installs the pinned Go protobuf plugins that `buf generate` runs (buf.gen.yaml
# points at .tools/bin), from the Go module proxy. Idempotent: a plugin already
# at its pinned version is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
bin="$PWD/.tools/bin"
mkdir -p "$bin"

install() { # name module version
  local name=$1 module=$2 version=$3
  if [ -x "$bin/$name" ] && "$bin/$name" --version 2>/dev/null | grep -q -- "${version#v}"; then return; fi
  GOBIN="$bin" GOFLAGS=-mod=mod go install "${module}@${version}"
}
install protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
install protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"
