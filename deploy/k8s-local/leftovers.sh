#!/bin/bash
# What a cluster of k8s-up.sh left behind after k8s-down.sh: processes or mounts under $K8S_DIR,
# containerd shims, KUBE-/CNI- iptables rules, the pod bridge and its Service route, CNI network
# namespaces. Prints each kind found; exit status 1 when anything is left.
D=${K8S_DIR:-/tmp/k8s-e2e}; left=0
found() { left=1; echo "left behind: $1"; sed 's/^/  /' <<<"$2" | head -n 10; }
# The daemons and the shims name their files under $D (not its logs: someone may be reading those).
out=$(pgrep -af -- "$D/(etcd|run|kubelet|containerd|kubeconfig|Corefile)") && found "processes" "$out"
out=$(findmnt -rn -o TARGET | grep -F -- "$D/") && found "mounts" "$out"
for ipt in iptables ip6tables; do
  out=$($ipt-save 2>/dev/null | grep -E -- '(KUBE-|CNI-)') && found "$ipt rules" "$out"
done
ip link show cni0 >/dev/null 2>&1 && found "the pod bridge" cni0
out=$(ip route | grep -F "10.96.0.0/16") && found "the Service route" "$out"
out=$(ip netns list 2>/dev/null | grep '^cni-') && found "CNI network namespaces" "$out"
[ "$left" -eq 0 ] && echo "nothing left behind under $D"
exit "$left"
