"""A protoc plugin (run by `buf generate`) that makes the Python stubs.

buf knows protoc's built-in `python`/`pyi` generators but not gRPC's
`grpc_python`, which lives only inside grpcio-tools' protoc. So this plugin
takes buf's CodeGeneratorRequest, hands its descriptors to grpcio-tools'
protoc (local, no remote plugins), and answers with the three outputs:
`*_pb2.py`, `*_pb2.pyi` and `*_pb2_grpc.py`.

Why the import rewrite: protoc writes `from resonate.mesh.v1 import ...`
(the proto package as a Python package). A top-level `resonate` package
would collide with the official Resonate Python SDK, which owns the name
`resonate`, so the stubs live under `resonate_mesh._gen` and their imports
are rewritten to `resonate_mesh._gen.resonate.mesh.v1` here, in the step buf
runs, so that `buf generate` alone reproduces the committed files.

Only `resonate/...` files are generated: the module's copies of
grpc.health.v1 and grpc.reflection.v1 would register the same descriptor
file names as grpcio-health-checking / grpcio-reflection, which a Python
program may load too; those packages are the stubs to use for them.
"""

import os
import re
import sys
import tempfile

try:
    from google.protobuf import descriptor_pb2
    from google.protobuf.compiler import plugin_pb2
    from grpc_tools import protoc
except ImportError as missing:
    sys.exit(
        f"protoc-gen-resonate-python: {missing.name} is not installed for {sys.executable}. "
        "Make the Python stubs' environment once: cd sdk/python && python3 -m venv .venv && "
        ".venv/bin/pip install -r requirements-dev.txt (or point RESONATE_PYTHON at a Python that has grpcio-tools)."
    )

PACKAGE_ROOT = "resonate_mesh._gen"
GENERATED = "resonate/"
IMPORT = re.compile(r"^(from|import) (resonate\.[\w.]+)", re.MULTILINE)


def rewrite(text: str) -> str:
    return IMPORT.sub(lambda m: f"{m.group(1)} {PACKAGE_ROOT}.{m.group(2)}", text)


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse()
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    wanted = [name for name in request.file_to_generate if name.startswith(GENERATED)]
    if not wanted:
        sys.stdout.buffer.write(response.SerializeToString())
        return
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = os.path.join(tmp, "descriptors.pb")
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        files = descriptor_pb2.FileDescriptorSet(file=request.proto_file)
        with open(descriptors, "wb") as f:
            f.write(files.SerializeToString())
        code = protoc.main(
            [
                "grpc_tools.protoc",
                f"--descriptor_set_in={descriptors}",
                f"--python_out={out}",
                f"--pyi_out={out}",
                f"--grpc_python_out={out}",
                *wanted,
            ]
        )
        if code != 0:
            response.error = f"grpc_tools.protoc exited with {code}"
        else:
            for root, _, names in os.walk(out):
                for name in sorted(names):
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8") as f:
                        content = rewrite(f.read())
                    response.file.add(name=os.path.relpath(path, out), content=content)
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
