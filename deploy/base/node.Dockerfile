# Local stand-ins for node:20-bookworm-slim, for machines without an image registry (CI here).
# Built on localhost/debian-min:trixie (debootstrap, deploy/podman-setup.sh) because Debian 13's
# own nodejs package is Node 20 (20.19); bookworm's is 18. How they differ from node:20-bookworm-slim:
# node is Debian's build in /usr/bin, linked against the system's libuv, OpenSSL and ICU (the
# official image ships nodejs.org's self-contained binary in /usr/local/bin); npm exists only in
# the build target; there is no `node` user (the images run as UID 10001 either way).
# The runtime target is built with --squash-all, so that what debootstrap left (its .deb cache) and
# the clean-up above leave the image for good:
#   podman build -f deploy/base/node.Dockerfile --target runtime --squash-all -t localhost/resonate-mesh/node-runtime:20-trixie deploy/base
#   podman build -f deploy/base/node.Dockerfile --target build   -t localhost/resonate-mesh/node-build:20-trixie   deploy/base
# checkov:skip=CKV_DOCKER_7: the base is a build argument whose default carries a version tag (localhost/debian-min:trixie)
# checkov:skip=CKV_DOCKER_2: a base for other images, never run itself; the images built on it declare HEALTHCHECK
# checkov:skip=CKV_DOCKER_3: a base for other images, never run itself; the images built on it set USER 10001
ARG DEBIAN_BASE=localhost/debian-min:trixie

FROM ${DEBIAN_BASE} AS runtime
# The suite is the pin: trixie's nodejs stays on Node 20 for the life of the release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
 && node -e "process.exit(process.versions.node.split('.')[0] === '20' ? 0 : 1)"

FROM runtime AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && rm -rf /var/lib/apt/lists/*
