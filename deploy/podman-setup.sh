#!/usr/bin/env bash
# Podman on a machine without an image registry (adapted from shared/tools/k8s-local/podman-setup.sh).
# These VMs' root lacks CAP_SYS_RESOURCE (rlimits cannot be raised) and cgroups are a v1/v2 hybrid,
# so crun refuses to start containers: runc plus explicit ulimits works. Then a Debian trixie base
# from debootstrap, imported as localhost/debian-min:trixie (trixie's nodejs is 20.19; bookworm's is 18).
# Idempotent: every step is skipped when its result exists.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq podman runc debootstrap >/dev/null; fi
if ! grep -qs 'runtime = "runc"' /etc/containers/containers.conf; then
  n=$(ulimit -Hn); p=$(ulimit -Hu); [ "$p" = unlimited ] && p=32768; [ "$p" -gt 32768 ] && p=32768
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<CONF
[containers]
default_ulimits = ["nofile=$n:$n", "nproc=$p:$p"]
[engine]
runtime = "runc"
CONF
fi
SUITE=${SUITE:-trixie}; IMG=localhost/debian-min:$SUITE
if ! podman image exists "$IMG"; then
  W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
  MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  debootstrap --variant=minbase "$SUITE" "$W/rootfs" "$MIRROR" >/dev/null
  # debootstrap keeps the packages it installed (~140 MB) in apt's cache: not in an image.
  rm -rf "$W"/rootfs/var/cache/apt/archives/*.deb "$W"/rootfs/var/lib/apt/lists/*
  tar -C "$W/rootfs" -c . | podman import - "$IMG" >/dev/null
fi
echo "podman ready; base image $IMG"
