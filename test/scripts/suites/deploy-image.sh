#!/usr/bin/env bash
# The container images, built and run with podman: the node image (deploy/Dockerfile) starts, answers
# /health, /ready and `grpcurl list` on a published loopback port, runs as a non-root user, passes its
# HEALTHCHECK and stops cleanly on SIGTERM; a worker from the worker image, sharing the node
# container's network namespace, runs the hello-world workflow invoked with the image's CLI.
# deploy/images.sh installs podman and builds the local bases once; both stay cached between runs.
# Each check is one test (test/scripts/checks.sh); exit status non-zero when a check fails.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/scripts/checks.sh

TAG=suite
NODE_IMAGE=localhost/resonate-mesh/node:$TAG
WORKER_IMAGE=localhost/resonate-mesh/worker:$TAG
NODE=resonate-image-test-node-$$
WORKER=resonate-image-test-worker-$$

cleanup() { podman rm -f -i -t 0 "$WORKER" "$NODE" >/dev/null 2>&1; }
trap cleanup EXIT

# until SECONDS COMMAND...: retry COMMAND every half second, up to SECONDS.
until_ok() { local deadline=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.5; done; }
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port$1"; }

start=$SECONDS
if out=$(TAG=$TAG bash deploy/images.sh node worker 2>&1); then
  ok "the node and worker images build from deploy/Dockerfile and deploy/worker.Dockerfile ($((SECONDS - start)) s)"
else
  not_ok "the node and worker images build from deploy/Dockerfile and deploy/worker.Dockerfile" "$out"; finish
fi
podman images --filter "reference=localhost/resonate-mesh/*:$TAG" --format '        {{.Repository}}:{{.Tag}} {{.Size}}'

# As Kubernetes runs it: read-only root, no capabilities, no privilege escalation; port 0 on the host's loopback.
if ! out=$(podman run -d --name "$NODE" --health-interval disable --read-only --cap-drop ALL --security-opt no-new-privileges \
    -p 127.0.0.1::8001 "$NODE_IMAGE" 2>&1); then
  not_ok "the node container starts" "$out"; finish
fi
port=$(podman port "$NODE" 8001/tcp | head -n 1 | sed 's/.*://')

health_ok() { [ "$(http_status /health)" = 200 ]; }
if until_ok 90 health_ok; then ok "GET /health answers 200 on the published loopback port"
else not_ok "GET /health answers 200 on the published loopback port" "$(podman logs "$NODE" 2>&1)"; finish; fi

check "GET /ready answers 200 once the node serves" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:$port/ready)\" = 200 ]"

services() {
  local list; list=$(grpcurl -plaintext -max-time 10 "127.0.0.1:$port" list) || return 1
  echo "$list"
  for s in grpc.health.v1.Health resonate.mesh.v1.PromiseService resonate.mesh.v1.TaskService resonate.mesh.v1.ScheduleService; do
    grep -qx "$s" <<<"$list" || { echo "missing: $s"; return 1; }
  done
}
check "grpcurl -plaintext list through the published port names the mesh services" services
check "grpc.health.v1 Check answers SERVING" sh -c "grpcurl -plaintext -max-time 10 127.0.0.1:$port grpc.health.v1.Health/Check | grep -q SERVING"
check "the node runs as UID 10001, not root" sh -c "[ \"\$(podman exec $NODE node -e 'process.stdout.write(String(process.getuid()))')\" = 10001 ]"
healthy() { podman healthcheck run "$NODE"; }
check "the image's HEALTHCHECK passes (run by hand: no systemd timer here)" until_ok 30 healthy

# A worker from the worker image in the node container's network namespace (node on its 127.0.0.1:8001).
hello() {
  podman run -d --name "$WORKER" --health-interval disable --read-only --cap-drop ALL --security-opt no-new-privileges \
    --network "container:$NODE" -e RESONATE_URL=http://127.0.0.1:8001 "$WORKER_IMAGE" >/dev/null || return 1
  local answer
  # The CLI the worker image carries, in the worker's container.
  answer=$(timeout 90 podman exec "$WORKER" node node/bin/resonate.js --server http://127.0.0.1:8001 \
    invoke "image-test-$$" --func greet --arg '"World"' --wait) || { podman logs "$WORKER"; return 1; }
  echo "$answer"
  grep -q "Hello, World!" <<<"$answer"
}
check "a worker from the worker image runs hello-world, invoked with the image's resonate CLI" hello

stopped() {
  podman rm -f -t 0 "$WORKER" >/dev/null 2>&1
  podman stop -t 40 "$NODE" >/dev/null || return 1
  local code; code=$(podman inspect -f '{{.State.ExitCode}}' "$NODE")
  podman logs "$NODE" 2>&1 | tail -n 3
  [ "$code" = 0 ] && podman logs "$NODE" 2>&1 | grep -q 'stopped (SIGTERM)'
}
check "SIGTERM stops the node with status 0 after its drain" stopped

finish
