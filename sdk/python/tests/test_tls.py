"""TLS: the Python client reaches a node started with --tls-cert/--tls-key
given an https:// URL and the CA file (argument or RESONATE_CA_FILE)."""

import os
import subprocess
import urllib.request
import ssl

import pytest

from support import REPO, Proc, free_port, temp_path, wait_until

from resonate_mesh import Resonate
from resonate_mesh.errors import ServerError


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def tls_node():
    d = os.path.dirname(temp_path("certs"))
    ca, ca_key = f"{d}/ca.pem", f"{d}/ca.key"
    cert, key, csr, ext = f"{d}/node.pem", f"{d}/node.key", f"{d}/node.csr", f"{d}/node.ext"
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=py ca")
    openssl("req", *curve, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
    port = free_port()
    proc = Proc("tls node", ["node", str(REPO / "node/bin/resonate.js"), "dev", "--port", str(port), "--tls-cert", cert, "--tls-key", key])
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=ca)

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2, context=context) as res:
                return res.status == 200
        except Exception:  # noqa: BLE001 - not up yet
            return False

    wait_until(f"the TLS node on {url}", ready, 60)
    yield url, ca
    proc.stop()


def test_an_https_url_with_the_ca_file_reaches_a_tls_node(tls_node):
    url, ca = tls_node
    client = Resonate(url, group="py-tls", ca_file=ca)
    try:
        with pytest.raises(ServerError) as refused:
            client.promises.get("py-tls-missing")
        assert refused.value.grpc_code == "NOT_FOUND"
    finally:
        client.stop()


def test_the_ca_file_comes_from_resonate_ca_file(tls_node, monkeypatch):
    url, ca = tls_node
    monkeypatch.setenv("RESONATE_CA_FILE", ca)
    client = Resonate(url, group="py-tls-env")
    try:
        with pytest.raises(ServerError) as refused:
            client.promises.get("py-tls-missing")
        assert refused.value.grpc_code == "NOT_FOUND"
    finally:
        client.stop()


def test_a_ca_file_with_a_plaintext_url_is_refused():
    with pytest.raises(ValueError, match="needs an https:// url"):
        Resonate("http://127.0.0.1:1", group="py-tls-bad", ca_file="/nonexistent.pem")
