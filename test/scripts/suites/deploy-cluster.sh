#!/usr/bin/env bash
# The production overlay on a real single-node Kubernetes 1.32 with JetStream (deploy/cluster-test.sh):
# images built from the working tree (tag `suite`, shared with deploy-image.sh: whichever runs second
# finds podman's layers cached), the cluster up, workflows through the Service, a mesh pod and a NATS
# pod deleted under load, a rolling update, the teardown. Each of its checks is one test here.
# Bounded: after DEPLOY_CLUSTER_TIMEOUT seconds (default 40 min, for a cold machine) the run gets
# SIGTERM and tears down; whatever it could not tear down, this suite does, then checks that nothing
# (process, mount, iptables rule, bridge, network namespace, kernel setting) is left behind.
# Needs root: it runs kubelet, containerd, kube-proxy and changes iptables.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/scripts/checks.sh

LIMIT=${DEPLOY_CLUSTER_TIMEOUT:-2400}
export K8S_DIR=${K8S_DIR:-/tmp/resonate-mesh-k8s}

if [ "$(id -u)" != 0 ]; then
  not_ok "the cluster test runs as root (kubelet, containerd and iptables need it)" "running as $(id -un)"
  finish
fi

start=$SECONDS
counts=$(mktemp)
trap 'rm -f "$counts"' EXIT
# In its own process group (timeout's default): on expiry every process of the test gets SIGTERM,
# except the cluster's daemons (k8s-up.sh starts each in its own session), which the test's teardown
# then stops; SIGKILL 5 min later if that teardown hangs.
# A Ctrl-C or SIGTERM to this suite reaches that group through timeout (it relays them).
SYSCTLS="kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom net.ipv4.ip_forward net.ipv4.conf.all.route_localnet"
kernel_settings() { for key in $SYSCTLS; do echo "$key=$(sysctl -n "$key")"; done; }
kernel_before=$(kernel_settings)
SUITE_RESULT=$counts TAG=suite timeout -k 300 "$LIMIT" bash deploy/cluster-test.sh &
test_pid=$!
trap 'kill -TERM "$test_pid" 2>/dev/null' INT TERM
until wait "$test_pid"; rc=$?; ! kill -0 "$test_pid" 2>/dev/null; do :; done
trap - INT TERM
read -r p f _ < <(head -n 1 "$counts" 2>/dev/null) || true
passed=${p:-0}; failed=${f:-0}
mapfile -t failed_names < <(tail -n +2 "$counts" 2>/dev/null | sed '/^$/d')

if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ -z "${p:-}" ]; then
  not_ok "the cluster test ends with its counts within $LIMIT s" "exit status $rc after $((SECONDS - start)) s"
  # What the interrupted run did not take down, so that the checks below see what it left.
  if [ -d "$K8S_DIR/run" ]; then bash deploy/k8s-local/k8s-down.sh >/dev/null 2>&1; rm -rf "$K8S_DIR/run"; fi
  check "nothing of the interrupted cluster is left behind" bash deploy/k8s-local/leftovers.sh
  check "the kernel settings of the interrupted cluster are restored" diff <(echo "$kernel_before") <(kernel_settings)
fi
echo "  deploy-cluster took $((SECONDS - start)) s"
finish
