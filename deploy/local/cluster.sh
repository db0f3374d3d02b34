#!/usr/bin/env bash
# A three-node mesh on one machine: three nats-servers clustered with routes
# (JetStream, R3 streams) and three `resonate serve --store jetstream` nodes.
#
#   deploy/local/cluster.sh start    start everything, wait until every node is ready
#   deploy/local/cluster.sh stop     stop the nodes, then the nats-servers (data is kept)
#   deploy/local/cluster.sh clean    stop, then delete the data directory
#
# NATS clients: nats://127.0.0.1:4222,4223,4224 (routes on 6222-6224).
# Nodes: gRPC and HTTP on 127.0.0.1:8001, 8002, 8003 (RESONATE_CLUSTER_NATS_PORT,
# _ROUTE_PORT and _NODE_PORT move the first of each). State and logs go to
# $RESONATE_CLUSTER_DIR (default /tmp/resonate-cluster). Needs nats-server
# 2.12+ on PATH and `npm ci` done in this repository.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${RESONATE_CLUSTER_DIR:-/tmp/resonate-cluster}"
# First ports of each kind (the next two follow), if the defaults are taken.
NATS_BASE="${RESONATE_CLUSTER_NATS_PORT:-4222}"
ROUTE_BASE="${RESONATE_CLUSTER_ROUTE_PORT:-6222}"
NODE_BASE="${RESONATE_CLUSTER_NODE_PORT:-8001}"
NATS_PORTS=("$NATS_BASE" $((NATS_BASE + 1)) $((NATS_BASE + 2)))
ROUTE_PORTS=("$ROUTE_BASE" $((ROUTE_BASE + 1)) $((ROUTE_BASE + 2)))
NODE_PORTS=("$NODE_BASE" $((NODE_BASE + 1)) $((NODE_BASE + 2)))
SERVERS="nats://127.0.0.1:${NATS_PORTS[0]},nats://127.0.0.1:${NATS_PORTS[1]},nats://127.0.0.1:${NATS_PORTS[2]}"
ROUTES="nats-route://127.0.0.1:${ROUTE_PORTS[0]},nats-route://127.0.0.1:${ROUTE_PORTS[1]},nats-route://127.0.0.1:${ROUTE_PORTS[2]}"

start() {
  command -v nats-server >/dev/null || { echo "nats-server is not on PATH; install 2.12 or later" >&2; exit 1; }
  mkdir -p "$DIR"
  for i in 0 1 2; do
    if [ -f "$DIR/nats$i.pid" ] && kill -0 "$(cat "$DIR/nats$i.pid")" 2>/dev/null; then
      echo "already running (see $DIR); stop it first" >&2
      exit 1
    fi
  done
  # Six processes share this machine's cores: each server's Go code runs on one (GOMAXPROCS=1), so
  # idle Go threads do not spin on the cores the nodes need (Kubernetes gets the same from the CPU limit).
  for i in 0 1 2; do
    GOMAXPROCS="${GOMAXPROCS:-1}" nats-server -a 127.0.0.1 -p "${NATS_PORTS[$i]}" -js --store_dir "$DIR/nats$i" --server_name "nats$i" \
      --cluster_name resonate --cluster "nats://127.0.0.1:${ROUTE_PORTS[$i]}" --routes "$ROUTES" \
      >"$DIR/nats$i.log" 2>&1 &
    echo $! >"$DIR/nats$i.pid"
  done
  # The nodes retry until the JetStream cluster has elected its leader. The same settings as the
  # Kubernetes nodes' (deploy/k8s/base/node.env), but for host and NATS addresses; the Node.js flag
  # node/bin/resonate.js carries on its #! line.
  for i in 0 1 2; do
    node --max-semi-space-size=32 "$ROOT/node/bin/resonate.js" serve --host 127.0.0.1 --port "${NODE_PORTS[$i]}" --log-level info \
      --store jetstream --nats "$SERVERS" --replicas 3 --partitions 8 >"$DIR/node$i.log" 2>&1 &
    echo $! >"$DIR/node$i.pid"
  done
  for i in 0 1 2; do
    local url="http://127.0.0.1:${NODE_PORTS[$i]}/ready"
    for _ in $(seq 1 120); do
      if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = "200" ]; then break; fi
      sleep 0.5
    done
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" != "200" ]; then
      echo "node $i on port ${NODE_PORTS[$i]} is not ready after 60 s; see $DIR/node$i.log" >&2
      exit 1
    fi
  done
  echo "ready: nodes on 127.0.0.1:${NODE_PORTS[0]}, ${NODE_PORTS[1]}, ${NODE_PORTS[2]}; NATS on $SERVERS; logs in $DIR"
}

stop() {
  for name in node0 node1 node2 nats0 nats1 nats2; do
    local pidfile="$DIR/$name.pid"
    [ -f "$pidfile" ] || continue
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
  done
  echo "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  clean) stop; rm -rf "$DIR"; echo "removed $DIR" ;;
  *) echo "usage: $0 start|stop|clean" >&2; exit 2 ;;
esac
