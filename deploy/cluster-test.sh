#!/usr/bin/env bash
# The production overlay on a real single-node Kubernetes 1.32 (deploy/k8s-local), with the
# images built locally (deploy/images.sh) and imported into containerd:
#   - every pod of NATS (3), the nodes (3) and the example workers becomes ready; NATS forms its
#     JetStream cluster (each server routes to the other two);
#   - through a port-forward to the Service: grpcurl lists the services, /ready answers 200;
#   - hello-world (CLI) and a fan-out batch (SDK) run through the Service from a client pod, on
#     the example workers' pods; each leaf of the batch runs once;
#   - jetstream store only: a mesh pod and then a NATS pod deleted while batches run, every batch
#     completes and every leaf ran once;
#   - a rolling restart of the nodes under a stream of invocations loses none that a client retries;
#   - jetstream store only: the autoscaler's minimum raised to 4, a fourth node becomes ready and serves.
# CLUSTER_STORE=memory runs the same overlay with the embedded store and one node, for a build
# of the node without the JetStream engine (the fault and scale steps are then skipped: that
# store dies with its pod).
# Always tears the cluster down (k8s-down.sh: kernel settings restored), also on failure and on
# SIGTERM/SIGINT, and checks that nothing is left behind (deploy/k8s-local/leftovers.sh).
# Each check is one test (test/scripts/checks.sh: the last line counts them, $SUITE_RESULT gets the
# counts); exit status non-zero when a check fails. test/scripts/suites/deploy-cluster.sh runs it.
#   deploy/cluster-test.sh            (as root; env TAG: the images' tag, default dev)
# Cached between runs: the Kubernetes and CoreDNS binaries (by version) and the pause image in
# ~/.cache/resonate-mesh/k8s, Go's module and build caches, podman's bases and layers.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. test/scripts/checks.sh
STORE=${CLUSTER_STORE:-jetstream}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/resonate-mesh/k8s
export BIN=$CACHE/bin PAUSE_TAR=$CACHE/pause.tar K8S_DIR=${K8S_DIR:-/tmp/resonate-mesh-k8s}
export KUBECONFIG=$K8S_DIR/kubeconfig
NS=resonate
TAG=${TAG:-dev}
# Go's own install location, for shells whose PATH lacks it (as test/scripts/run.sh).
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH="$PATH:/usr/local/go/bin"; fi

log() { printf '%s cluster-test: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
until_ok() { local deadline=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || return 1; sleep 1; done; }
k() { kubectl -n "$NS" "$@"; }

# One cluster per machine (the pod bridge, the API server's and kubelet's ports are the machine's).
mkdir -p "$K8S_DIR"
exec 9>"$K8S_DIR.lock"
if ! flock -w 900 9; then not_ok "the cluster test gets the machine (another run holds $K8S_DIR.lock)"; finish; fi

pf_pids=()
teardown() {
  for p in "${pf_pids[@]}"; do kill "$p" 2>/dev/null; done
  if [ -d "$K8S_DIR/run" ]; then
    log "collecting pod logs into $K8S_DIR/logs/pods, tearing down"
    mkdir -p "$K8S_DIR/logs/pods"
    for p in $(k get pods -o name 2>/dev/null); do k logs --all-containers "$p" > "$K8S_DIR/logs/pods/${p#pod/}.log" 2>&1; done
    bash deploy/k8s-local/k8s-down.sh 9>&-
    rm -rf "$K8S_DIR/run"
  fi
}
# A previous run that was killed before its teardown: take its cluster down first.
[ ! -d "$K8S_DIR/run" ] || teardown
rm -rf "$K8S_DIR/etcd" "$K8S_DIR/pv" "$K8S_DIR/overlay" "$K8S_DIR/logs"
trap teardown EXIT
trap 'exit 130' INT TERM

# --- prerequisites: packages, Kubernetes binaries (Go build cache kept), pause image, our images
t0=$SECONDS
need=()
for c in etcd containerd ctr iptables openssl gcc; do command -v "$c" >/dev/null || need+=("$c"); done
[ -x /usr/lib/cni/bridge ] || need+=(cni)
if [ ${#need[@]} -gt 0 ]; then
  log "installing etcd-server containerd runc containernetworking-plugins iptables openssl gcc"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server containerd runc containernetworking-plugins iptables openssl gcc >/dev/null
fi
mkdir -p "$CACHE"
# Only what is missing of the Kubernetes binaries (build-k8s.sh keeps those of the right version),
# alongside the images: on a cold machine the image builds wait on the network much of the time.
# The images come from the working tree; deploy-image.sh may have built them (same tag) in this run.
BIN=$BIN bash deploy/k8s-local/build-k8s.sh > "$CACHE/build.log" 2>&1 9>&- &
build_k8s=$!
log "building the images (tag $TAG) from the working tree"
out=$(TAG=$TAG bash deploy/images.sh node worker nats 2>&1); images_rc=$?
t_images=$((SECONDS - t0))
wait "$build_k8s"; build_rc=$?
[ "$images_rc" -eq 0 ] || { not_ok "build the images" "$out"; finish; }
[ "$build_rc" -eq 0 ] || { not_ok "build Kubernetes and CoreDNS" "$(tail -n 20 "$CACHE/build.log")"; finish; }
grep -h "build-k8s:" "$CACHE/build.log" | sed 's/^/  /'
[ -f "$PAUSE_TAR" ] || bash deploy/k8s-local/make-pause.sh >/dev/null
log "prerequisites ready after $((SECONDS - t0)) s (images $t_images s)"

# conclude: tear the cluster down, check what it left, end with the counts. Also after a failed step.
conclude() {
  local t3=$SECONDS
  teardown
  log "tests took $((t3 - t1)) s, the teardown $((SECONDS - t3)) s; $SECONDS s in all"
  check "the teardown restores the kernel settings kubelet and kube-proxy change" \
    diff <(echo "$kernel_before") <(kernel_settings)
  check "the teardown leaves no process, mount, iptables rule, pod bridge, route or network namespace behind" \
    bash deploy/k8s-local/leftovers.sh
  finish
}

# --- the cluster
SYSCTLS="kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom net.ipv4.conf.all.route_localnet"
kernel_settings() { for key in $SYSCTLS; do echo "$key=$(sysctl -n "$key")"; done; }
kernel_before=$(kernel_settings)
t1=$SECONDS
if ! out=$(bash deploy/k8s-local/k8s-up.sh 9>&- 2>&1); then not_ok "the cluster comes up" "$out"; conclude; fi
CTR="ctr --address $K8S_DIR/containerd/containerd.sock -n k8s.io"
for img in "node:$TAG" "worker:$TAG" nats:2.14.9; do
  if ! out=$(podman save --format docker-archive "localhost/resonate-mesh/$img" | $CTR images import - 2>&1); then
    not_ok "the image $img goes into the cluster's containerd" "$out"; conclude
  fi
done
ok "a single-node Kubernetes 1.32 comes up with the images imported ($((SECONDS - t1)) s)"

# NATS volumes: the cluster has no provisioner, so three hostPath PersistentVolumes of no class.
for i in 0 1 2; do
  mkdir -p "$K8S_DIR/pv/nats-$i"; chmod 0777 "$K8S_DIR/pv/nats-$i"
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: resonate-test-nats-$i}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ""
  claimRef: {namespace: $NS, name: data-nats-$i}
  hostPath: {path: $K8S_DIR/pv/nats-$i, type: Directory}
YAML
done

# The production overlay and the example workers with the local images; smaller CPU requests so that
# everything (and a rolling update's surge) fits the 2 cores of one machine.
ov=$K8S_DIR/overlay; mkdir -p "$ov"
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - $(realpath --relative-to="$ov" "$ROOT/deploy/k8s/overlays/production")"
  echo "  - $(realpath --relative-to="$ov" "$ROOT/deploy/k8s/workers")"
  echo "images:"
  echo "  - {name: resonate-mesh/node, newName: localhost/resonate-mesh/node, newTag: $TAG}"
  echo "  - {name: resonate-mesh/worker, newName: localhost/resonate-mesh/worker, newTag: $TAG}"
  echo "  - {name: resonate-mesh/nats, newName: localhost/resonate-mesh/nats, newTag: 2.14.9}"
  echo "patches:"
  echo "  - target: {kind: \"(Deployment|StatefulSet)\"}"
  echo "    patch: |"
  echo "      - {op: replace, path: /spec/template/spec/containers/0/resources/requests/cpu, value: 50m}"
  if [ "$STORE" = memory ]; then
    echo "  - target: {kind: Deployment, name: resonate-node}"
    echo "    patch: |"
    echo "      - {op: replace, path: /spec/replicas, value: 1}"
    echo "  - patch: |"
    echo "      \$patch: delete"
    echo "      apiVersion: autoscaling/v2"
    echo "      kind: HorizontalPodAutoscaler"
    echo "      metadata: {name: resonate-node, namespace: $NS}"
    echo "configMapGenerator:"
    echo "  - {name: resonate-node, namespace: $NS, behavior: merge, literals: [RESONATE_STORE=memory]}"
  fi
} > "$ov/kustomization.yaml"

# A server-side dry run validates against the namespace, so that one exists first.
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$NS" | kubectl apply -f - >/dev/null
check "kubectl apply --dry-run=server accepts the production overlay" kubectl apply --dry-run=server -k "$ov"
if ! out=$(kubectl apply -k "$ov" 2>&1); then not_ok "the production overlay applies" "$out"; conclude; fi
ok "the production overlay applies (store: $STORE)"

t2=$SECONDS
rollout() {
  k rollout status statefulset/nats --timeout=300s && k rollout status deployment/resonate-node --timeout=300s \
    && k rollout status deployment/worker-hello-world --timeout=120s && k rollout status deployment/worker-fan-out-fan-in --timeout=120s \
    && k wait --for=condition=Ready pods --all --timeout=60s
}
if out=$(rollout 2>&1); then ok "every pod becomes ready ($((SECONDS - t2)) s): $(k get pods --no-headers | wc -l) pods"
else not_ok "every pod becomes ready" "$out$(printf '\n'; k get pods -o wide; k get events --sort-by=.lastTimestamp | tail -n 20)"; conclude; fi

# The pods run what images.sh just built from the working tree, not an older image of the same tag
# (containerd keeps its images between runs): their image ID is the built image's.
current_images() {
  local app img id ids
  for app in resonate-node:node worker-fan-out-fan-in:worker; do
    img=localhost/resonate-mesh/${app#*:}:$TAG
    id=$(podman image inspect --format '{{.Id}}' "$img") || return 1
    ids=$(k get pods -l "app.kubernetes.io/name=${app%%:*}" -o jsonpath='{range .items[*]}{.status.containerStatuses[0].imageID}{"\n"}{end}')
    echo "$img = sha256:$id; pods run:"; sort -u <<<"$ids"
    [ -n "$ids" ] && ! grep -qv "sha256:$id" <<<"$ids" || return 1
  done
}
check "the node and worker pods run the images just built from the working tree" current_images

# port-forward NAME LOCAL_VAR TARGET PORT: a port-forward on a free loopback port.
forward() {
  local _fport; _fport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  kubectl -n "$NS" port-forward --address 127.0.0.1 "$2" "$_fport:$3" > "$K8S_DIR/logs/pf-$1.log" 2>&1 &
  pf_pids+=($!)
  printf -v "$4" "%s" "$_fport"
  until_ok 30 curl -s -o /dev/null "http://127.0.0.1:$_fport/"
}

nats_routes() {
  local i port routes
  for i in 0 1 2; do
    forward "nats-$i" "pod/nats-$i" 8222 port || return 1
    routes=$(curl -s --max-time 5 "http://127.0.0.1:$port/routez" | python3 -c 'import json,sys; r=json.load(sys.stdin)["routes"]; print(len({x.get("remote_name") or x["remote_id"] for x in r}))')
    echo "nats-$i routes to $routes servers"
    [ "$routes" -ge 2 ] || return 1
    curl -sf --max-time 5 "http://127.0.0.1:$port/healthz?js-enabled-only=true" >/dev/null || return 1
  done
  kill "${pf_pids[@]}" 2>/dev/null   # this runs in check's subshell: its forwards end with it
}
check "each of the three NATS servers routes to the other two, JetStream enabled" nats_routes

forward svc svc/resonate 8001 PORT || { not_ok "port-forward to svc/resonate" "$(cat "$K8S_DIR/logs/pf-svc.log")"; conclude; }
check "GET /ready through the Service answers 200" curl -sf --max-time 5 "http://127.0.0.1:$PORT/ready"
check "grpcurl -plaintext list through a port-forward to the Service names the mesh services" \
  sh -c "grpcurl -plaintext -max-time 10 127.0.0.1:$PORT list | grep -x resonate.mesh.v1.PromiseService"

# The clients run in a pod of the worker image (labelled as a client), through the Service by its
# name, so that deleted pods and a rolling update are seen as a real client sees them.
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: test-client
  namespace: $NS
  labels: {resonate-mesh/client: "true", app.kubernetes.io/name: test-client}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: client
      image: localhost/resonate-mesh/worker:$TAG
      imagePullPolicy: IfNotPresent
      command: ["node", "-e", "setInterval(() => {}, 1 << 30)"]
      env:
        - {name: RESONATE_URL, value: "http://resonate:8001"}
        - {name: FAST_ITEM_MS, value: "300"}
        - {name: SLOW_ITEM_MS, value: "3000"}
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
k wait --for=condition=Ready pod/test-client --timeout=120s >/dev/null

cli() { timeout 120 kubectl -n "$NS" exec test-client -- node node/bin/resonate.js --server http://resonate:8001 "$@"; }
hello() { local a; a=$(cli invoke "${1:-k8s-hello-$$}" --func greet --arg '"Kubernetes"' --wait) && echo "$a" && grep -q "Hello, Kubernetes!" <<<"$a"; }
check "hello-world runs through the Service on a worker pod (CLI in a client pod)" hello

# batch ID: the fan-out client (SDK) in the client pod; six leaves of 0.3 s to 3 s.
batch() {
  timeout 300 kubectl -n "$NS" exec test-client -- node --import tsx examples/fan-out-fan-in/src/client.ts "$1" \
    > "$K8S_DIR/logs/$1.log" 2>&1 && grep -q "6 thumbnails" "$K8S_DIR/logs/$1.log"
}
# Each leaf finished exactly N times over the fan-out workers' logs (N batches so far).
leaves_once() {
  local logs n i; logs=$(k logs -l app.kubernetes.io/name=worker-fan-out-fan-in --tail=-1)
  for i in 1 2 3 4 5 6; do
    n=$(grep -c "photo-$i.jpg: finished" <<<"$logs")
    [ "$n" -eq "$1" ] || { echo "photo-$i.jpg finished $n times over $1 batches"; return 1; }
  done
}
if batch "k8s-batch-$$-1"; then ok "a fan-out batch of six leaves completes through the Service (SDK in a client pod)"
else not_ok "a fan-out batch of six leaves completes through the Service (SDK in a client pod)" "$(cat "$K8S_DIR/logs/k8s-batch-$$-1.log")"; fi
check "each leaf of the batch ran once" leaves_once 1

if [ "$STORE" = jetstream ]; then
  # Faults mid-workflow: three batches in flight, then a mesh pod and then a NATS pod deleted.
  faults() {
    local pids=() b p rc=0
    for b in 2 3 4; do batch "k8s-batch-$$-$b" & pids+=($!); done
    sleep 2
    deleted_node=$(k get pods -l app.kubernetes.io/name=resonate-node -o name | head -n 1)
    k delete "$deleted_node" --wait=false >/dev/null
    sleep 3
    k delete pod nats-1 --wait=false >/dev/null
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
  }
  if faults; then ok "batches complete while a mesh pod and then a NATS pod are deleted"
  else not_ok "batches complete while a mesh pod and then a NATS pod are deleted" "$(tail -n 5 "$K8S_DIR"/logs/k8s-batch-$$-*.log)"; fi
  check "each completed leaf ran once across the faults" leaves_once 4
  # The deleted node pod must be gone first: `wait --all` fails NotFound on a pod listed while terminating.
  ready_again() {
    k wait --for=delete "$deleted_node" --timeout=180s >/dev/null 2>&1 || true
    k rollout status statefulset/nats --timeout=180s && k rollout status deployment/resonate-node --timeout=180s \
      && k wait --for=condition=Ready pods --all --timeout=120s
  }
  check "every pod is ready again after the faults" ready_again

else
  log "store $STORE: the fault steps need the jetstream store; skipped"
fi

# A rolling restart of the nodes under load: three clients invoke one after another, each until the
# rollout is done and then three more (at most 80 each, 10 min). A client retries a call the drain cut
# (UNAVAILABLE; the same id is the same promise) up to 3 times: none may be lost, and at least 5
# calls must have started while the rollout ran (else the check could not fail).
invoker() {
  local w=$1 i=0 a after=0 deadline=$((SECONDS + 600))
  while [ $i -lt 80 ] && [ $after -lt 3 ] && [ $SECONDS -lt $deadline ]; do
    i=$((i + 1)); a=1
    local phase=during; [ ! -e "$K8S_DIR/run/rolled" ] || { phase=after; after=$((after + 1)); }
    until cli invoke "k8s-roll-$$-$w-$i" --func greet --arg "\"r$w-$i\"" --wait >/dev/null 2>&1; do
      a=$((a + 1)); [ $a -le 3 ] || break; sleep 1
    done
    echo "$phase $a"
  done
}
rolling() {
  local w pids=() results total during retried lost
  rm -f "$K8S_DIR/run/rolled"
  k rollout restart deployment/resonate-node >/dev/null || return 1
  ( k rollout status deployment/resonate-node --timeout=480s >/dev/null && touch "$K8S_DIR/run/rolled" ) &
  local watcher=$!
  for w in 1 2 3; do invoker "$w" > "$K8S_DIR/logs/roll-$w.txt" & pids+=($!); done
  wait "$watcher"; wait "${pids[@]}"
  results=$(cat "$K8S_DIR"/logs/roll-[123].txt)
  total=$(grep -c . <<<"$results"); during=$(grep -c '^during' <<<"$results")
  retried=$(grep -Ec ' [23]$' <<<"$results"); lost=$(grep -c ' 4$' <<<"$results")
  echo "$total invocations, $during of them started during the rollout: $retried needed a retry, $lost lost"
  [ -e "$K8S_DIR/run/rolled" ] || { echo "the rollout did not finish"; k get pods -o wide; return 1; }
  [ "$during" -ge 5 ] || { echo "too few invocations overlapped the rollout to tell"; return 1; }
  [ "$lost" -eq 0 ]
}
if out=$(rolling 2>&1); then ok "a rolling restart of the nodes under a stream of invocations loses none a client retries ($out)"
else not_ok "a rolling restart of the nodes under a stream of invocations loses none a client retries" "$out"; fi

# Scaling as deploy/README.md says: raise the autoscaler's minimum (this cluster has no metrics-server,
# the minimum still applies); the fourth node becomes ready and the mesh serves with it.
scale() {
  local want=4
  k patch hpa resonate-node -p "{\"spec\":{\"minReplicas\":$want}}" >/dev/null || return 1
  until_ok 120 sh -c "[ \"\$(kubectl -n $NS get deployment resonate-node -o jsonpath='{.spec.replicas}')\" = $want ]" \
    || { echo "the autoscaler did not raise the Deployment to $want"; k describe hpa resonate-node | tail -n 10; return 1; }
  k rollout status deployment/resonate-node --timeout=300s >/dev/null || { echo "the new node did not become ready"; return 1; }
  echo "$(k get pods -l app.kubernetes.io/name=resonate-node --no-headers | grep -c ' 1/1 ') nodes ready"
  hello "k8s-hello-$$-scaled"
}
if [ "$STORE" = jetstream ]; then
  if out=$(scale 2>&1); then ok "raising the autoscaler's minimum to 4 adds a ready node that serves ($(head -n 1 <<<"$out"))"
  else not_ok "raising the autoscaler's minimum to 4 adds a ready node that serves" "$out"; fi
fi

conclude
