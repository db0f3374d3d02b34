#!/usr/bin/env bash
# Build the container images with podman, without an image registry:
#   localhost/resonate-mesh/node:$TAG     deploy/Dockerfile          (`resonate serve`)
#   localhost/resonate-mesh/worker:$TAG   deploy/worker.Dockerfile   (the examples' workers)
#   localhost/resonate-mesh/nats:2.14.9   deploy/nats/Dockerfile     (nats-server built by go install)
# on the local bases (deploy/podman-setup.sh, deploy/base/node.Dockerfile), which are built once
# and kept between runs, like podman's layer cache and the host's Go caches.
# Usage: deploy/images.sh [node|worker|nats]...   (none: all three)   env TAG (default dev)
#        deploy/images.sh save DIR                 docker-archives of all three, for `ctr images import`
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${TAG:-dev}
NATS_VERSION=v2.14.9
RUNTIME_BASE=localhost/resonate-mesh/node-runtime:20-trixie
BUILD_BASE=localhost/resonate-mesh/node-build:20-trixie

log() { printf '%s images: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

bases() {
  bash deploy/podman-setup.sh >&2
  if ! podman image exists "$RUNTIME_BASE" || ! podman image exists "$BUILD_BASE"; then
    log "building the Node 20 bases"
    podman build -q -f deploy/base/node.Dockerfile --target runtime --squash-all -t "$RUNTIME_BASE" deploy/base >/dev/null
    podman build -q -f deploy/base/node.Dockerfile --target build -t "$BUILD_BASE" deploy/base >/dev/null
  fi
}

# docker format: OCI images have no HEALTHCHECK.
node_args=(--format docker --layers --build-arg "BUILD_BASE=$BUILD_BASE" --build-arg "RUNTIME_BASE=$RUNTIME_BASE")
# The host's CA bundle for the build stage's registry traffic (this machine reaches the registries
# through a TLS-inspecting proxy); a build-time mount, never part of an image layer.
HOST_CA=${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$HOST_CA" ]; then
  node_args+=(-v "$HOST_CA:/etc/ssl/host-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt)
fi

build_node() {
  log "building localhost/resonate-mesh/node:$TAG"
  podman build -q "${node_args[@]}" -f deploy/Dockerfile -t "localhost/resonate-mesh/node:$TAG" . >/dev/null
}

build_worker() {
  log "building localhost/resonate-mesh/worker:$TAG"
  podman build -q "${node_args[@]}" -f deploy/worker.Dockerfile -t "localhost/resonate-mesh/worker:$TAG" . >/dev/null
}

build_nats() {
  local img=localhost/resonate-mesh/nats:${NATS_VERSION#v}
  log "building $img"
  local goroot gomod gocache
  goroot=$(go env GOROOT); gomod=$(go env GOMODCACHE); gocache=$(go env GOCACHE)
  mkdir -p "$gomod" "$gocache"
  # The host's Go toolchain and caches are mounted into the build: a warm cache makes it a relink.
  podman build -q --layers --build-arg GO_BASE=localhost/debian-min:trixie --build-arg "NATS_VERSION=$NATS_VERSION" \
    -v "$goroot:/usr/local/go:ro" -v "$gomod:/go/pkg/mod" -v "$gocache:/root/.cache/go-build" \
    -v "$(dirname "$HOST_CA"):/etc/ssl/certs:ro" \
    -t "$img" deploy/nats >/dev/null
}

save() {
  local dir=$1; mkdir -p "$dir"
  for img in "node:$TAG" "worker:$TAG" "nats:${NATS_VERSION#v}"; do
    rm -f "$dir/${img%%:*}.tar"
    podman save --format docker-archive -o "$dir/${img%%:*}.tar" "localhost/resonate-mesh/$img"
  done
  ls -la "$dir" >&2
}

# One build at a time on a machine (the suites and the cluster test may overlap): they share the bases.
exec 9>"${TMPDIR:-/tmp}/resonate-mesh-images.lock"
flock 9
if [ "${1:-}" = save ]; then save "${2:?usage: images.sh save DIR}"; exit 0; fi
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(node worker nats)
bases
for t in "${targets[@]}"; do
  case $t in
    node|worker|nats) "build_$t" ;;
    *) echo "images.sh: unknown image '$t'; choose node, worker or nats" >&2; exit 2 ;;
  esac
done
podman images --filter reference='localhost/resonate-mesh/*' --format '{{.Repository}}:{{.Tag}} {{.Size}}' >&2
