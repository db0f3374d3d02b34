#!/bin/bash
# Build Kubernetes v1.32.4 server binaries and CoreDNS through the Go module proxy, into $BIN.
# Only what is missing or of another version is built (the binaries are the cache, keyed by the
# version each one reports); Go's module and build caches are the host's, kept between runs.
# `go install k8s.io/kubernetes/cmd/...@v1.32.4` is refused (its go.mod has replace directives for ./staging),
# so a throwaway wrapper module re-points every staging module at its published v0.32.x.
set -euo pipefail
V=${K8S_VERSION:-1.32.4}; COREDNS=${COREDNS_VERSION:-1.15.0}
OUT=${BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/resonate-mesh/k8s/bin}
K8S_CMDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy"
log() { printf '%s build-k8s: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
mkdir -p "$OUT"

k8s_current() {
  local c
  for c in $K8S_CMDS; do
    [ -x "$OUT/$c" ] && [ "$("$OUT/$c" --version 2>/dev/null)" = "Kubernetes v$V" ] || return 1
  done
}
# (Not `coredns -version | grep -q`: with pipefail, grep leaving early fails the pipe.)
coredns_current() { [ -x "$OUT/coredns" ] && [ "$("$OUT/coredns" -version 2>/dev/null | head -n 1)" = "CoreDNS-$COREDNS" ]; }

if ! k8s_current; then
  t=$SECONDS; W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
  log "building Kubernetes v$V ($K8S_CMDS)"
  (
    cd "$W"
    go mod download -json "k8s.io/kubernetes@v$V" > /dev/null          # fetches .mod/.zip (17 MB)
    MOD=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$V.mod
    { echo "module example.local/k8sbuild"; echo "go 1.23.0"; echo "require k8s.io/kubernetes v$V"; echo "replace (";
      grep -E "=> ./staging" "$MOD" | awk -v v="v0.${V#1.}" '{print "\t"$1" => "$1" "v}'; echo ")"; } > go.mod
    printf '//go:build tools\npackage tools\nimport (\n' > tools.go
    for c in $K8S_CMDS; do echo "  _ \"k8s.io/kubernetes/cmd/$c\"" >> tools.go; done
    echo ')' >> tools.go
    go mod tidy
    LD="-s -w -X k8s.io/component-base/version.gitVersion=v$V -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${V#1.}"
    LD="${LD%.*}"   # gitMinor=32
    pkgs=(); for c in $K8S_CMDS; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
    go build -ldflags "$LD" -o "$OUT/" "${pkgs[@]}"
  )
  log "Kubernetes built in $((SECONDS - t)) s"
fi

# Cluster DNS: CoreDNS with only the plugins k8s-up.sh's Corefile uses (bind, errors, kubernetes,
# cache). The stock build links every plugin with the cloud SDKs they bring, which takes several
# times as long to compile.
if ! coredns_current; then
  t=$SECONDS; W2=$(mktemp -d)
  log "building CoreDNS v$COREDNS (bind, errors, cache, kubernetes)"
  (
    cd "$W2"
    printf 'module example.local/corednsbuild\ngo 1.23.0\nrequire github.com/coredns/coredns v%s\n' "$COREDNS" > go.mod
    cat > main.go <<'GO'
package main

import (
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func main() { coremain.Run() }
GO
    go mod tidy
    go build -ldflags "-s -w" -o "$OUT/coredns" .
  )
  rm -rf "$W2"
  log "CoreDNS built in $((SECONDS - t)) s"
fi
ls -la "$OUT"
