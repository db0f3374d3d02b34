# (from shared/tools/k8s-local) Make kubeconform work offline: rewrite the JSON schemas that kubernetes-validate ships
# (drop $id, make the definitions reference relative). Usage: python kv2kc.py OUT_DIR [1.32.0 ...]
import json, pathlib, sys
import kubernetes_validate
src_root = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
dst_root = pathlib.Path(sys.argv[1]); versions = sys.argv[2:] or ["1.32.0"]
def fix(node):
    if isinstance(node, dict):
        node.pop("$id", None)
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("/api/_definitions.json"):
            node["$ref"] = r[len("/api/"):]
        for v in node.values(): fix(v)
    elif isinstance(node, list):
        for v in node: fix(v)
for ver in versions:
    for suffix in ("", "-strict"):
        src, dst = src_root / f"v{ver}-local{suffix}", dst_root / f"v{ver}-local{suffix}"
        dst.mkdir(parents=True, exist_ok=True)
        for f in src.glob("*.json"):
            d = json.loads(f.read_text()); fix(d); (dst / f.name).write_text(json.dumps(d))
