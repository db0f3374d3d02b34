"""TLS: the Python client reaches a node started with --tls-cert/--tls-key
given an https:// URL and the CA file (argument or RESONATE_CA_FILE), and a
node that also requires client certificates (--tls-client-ca) given its
certificate and key (cert_file/key_file or RESONATE_CERT_FILE/RESONATE_KEY_FILE)."""

import os
import subprocess
import urllib.request
import ssl

import pytest

from support import REPO, Proc, free_port, temp_path, wait_until

from resonate_mesh import Resonate
from resonate_mesh.errors import ServerError, Unavailable


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certs(d: str) -> dict:
    """A CA, a node certificate for localhost/127.0.0.1 and a worker's client certificate, all signed by the CA."""
    ca, ca_key = f"{d}/ca.pem", f"{d}/ca.key"
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=py ca")
    certs = {"ca": ca}
    for name, extension in (("node", "subjectAltName=DNS:localhost,IP:127.0.0.1"), ("worker", "extendedKeyUsage=clientAuth")):
        cert, key, csr, ext = f"{d}/{name}.pem", f"{d}/{name}.key", f"{d}/{name}.csr", f"{d}/{name}.ext"
        openssl("req", *curve, "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
        with open(ext, "w") as f:
            f.write(extension + "\n")
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
                "-extfile", ext)
        certs[name] = (cert, key)
    return certs


def start_tls_node(certs: dict, mutual: bool) -> tuple:
    """`resonate dev` on TLS (requiring a client certificate when `mutual`), once /ready answers."""
    port = free_port()
    cert, key = certs["node"]
    args = ["node", str(REPO / "node/bin/resonate.js"), "dev", "--port", str(port), "--tls-cert", cert, "--tls-key", key]
    if mutual:
        args += ["--tls-client-ca", certs["ca"]]
    proc = Proc("tls node", args)
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=certs["ca"])
    if mutual:
        context.load_cert_chain(*certs["worker"])

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=2, context=context) as res:
                return res.status == 200
        except Exception:  # noqa: BLE001 - not up yet
            return False

    wait_until(f"the TLS node on {url}", ready, 60)
    return proc, url


@pytest.fixture(scope="module")
def certs():
    d = os.path.dirname(temp_path("certs"))
    return make_certs(d)


@pytest.fixture(scope="module")
def tls_node(certs):
    proc, url = start_tls_node(certs, mutual=False)
    yield url, certs["ca"]
    proc.stop()


@pytest.fixture(scope="module")
def mtls_node(certs):
    proc, url = start_tls_node(certs, mutual=True)
    yield url
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


def a_get_reaches_the_node(client: Resonate) -> None:
    with pytest.raises(ServerError) as refused:
        client.promises.get("py-mtls-missing")
    assert refused.value.grpc_code == "NOT_FOUND"


def test_cert_file_and_key_file_reach_a_node_requiring_client_certificates(mtls_node, certs):
    cert, key = certs["worker"]
    client = Resonate(mtls_node, group="py-mtls", ca_file=certs["ca"], cert_file=cert, key_file=key)
    try:
        a_get_reaches_the_node(client)
    finally:
        client.stop()


def test_the_client_certificate_comes_from_resonate_cert_file_and_key_file(mtls_node, certs, monkeypatch):
    cert, key = certs["worker"]
    monkeypatch.setenv("RESONATE_CA_FILE", certs["ca"])
    monkeypatch.setenv("RESONATE_CERT_FILE", cert)
    monkeypatch.setenv("RESONATE_KEY_FILE", key)
    client = Resonate(mtls_node, group="py-mtls-env")
    try:
        a_get_reaches_the_node(client)
    finally:
        client.stop()


def test_a_node_requiring_client_certificates_refuses_a_client_without_one(mtls_node, certs):
    client = Resonate(mtls_node, group="py-mtls-anonymous", ca_file=certs["ca"], unavailable_retry_s=0)
    try:
        with pytest.raises(Unavailable):
            client.promises.get("py-mtls-missing")
    finally:
        client.stop()


def test_a_cert_file_without_its_key_file_is_refused():
    with pytest.raises(ValueError, match="needs both cert_file and key_file"):
        Resonate("https://127.0.0.1:1", group="py-mtls-bad", cert_file="/nonexistent.pem")


def test_a_cert_file_with_a_plaintext_url_is_refused():
    with pytest.raises(ValueError, match="needs an https:// url"):
        Resonate("http://127.0.0.1:1", group="py-mtls-bad", cert_file="/w.pem", key_file="/w.key")
