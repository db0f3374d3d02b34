#!/bin/bash
# Build Kubernetes v1.32.4 server binaries through the Go module proxy.
# `go install k8s.io/kubernetes/cmd/...@v1.32.4` is refused (its go.mod has replace directives for ./staging),
# so a throwaway wrapper module re-points every staging module at its published v0.32.x.
set -euo pipefail
V=${K8S_VERSION:-1.32.4}; OUT=${BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/resonate-mesh/k8s/bin}; W=$(mktemp -d)
cd $W
go mod download -json k8s.io/kubernetes@v$V > /dev/null          # fetches .mod/.zip (17 MB)
MOD=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$V.mod
{ echo "module example.local/k8sbuild"; echo "go 1.23.0"; echo "require k8s.io/kubernetes v$V"; echo "replace (";
  grep -E "=> ./staging" $MOD | awk -v v="v0.${V#1.}" '{print "\t"$1" => "$1" "v}'; echo ")"; } > go.mod
printf '//go:build tools\npackage tools\nimport (\n' > tools.go
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do echo "  _ \"k8s.io/kubernetes/cmd/$c\"" >> tools.go; done
echo ')' >> tools.go
go mod tidy
LD="-s -w -X k8s.io/component-base/version.gitVersion=v$V -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${V#1.}"
LD="${LD%.*}"   # gitMinor=32
mkdir -p $OUT
go build -ldflags "$LD" -o $OUT/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
GOBIN=$OUT go install github.com/coredns/coredns@v1.15.0      # optional: cluster DNS
ls -la $OUT
