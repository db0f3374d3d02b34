"""The node over gRPC (synchronous grpcio stubs; one channel per client,
safe to share between threads). Requests are retried, with jittered backoff,
for up to `unavailable_retry_s` while the node does not answer (UNAVAILABLE,
DEADLINE_EXCEEDED without the node's `resonate-code`) or answers UNAVAILABLE
itself ("retry later": not ready yet, its store briefly out of reach, e.g.
while a JetStream stream elects a new leader). A refusal
the node sent becomes a ServerError carrying the gRPC status and the node's
stable code.

Retrying is safe for every request this SDK sends, because each is a read,
idempotent by id, or fenced by the task version (see the protocol reference):
PromiseService.Get/Watch and TaskService.Poll read or (re)register; Promise
Create is idempotent by id (an existing id returns its record) and Settle of a
settled promise returns it unchanged; TaskService.Create of a task this pid
already holds answers 409, which run() reads as "held elsewhere: wait for it";
Acquire, Fence, Suspend, Fulfill and Release carry the task version, so a
repeat after a lost answer is refused (409) rather than applied twice, and
Fence's inner create/settle is itself idempotent; Heartbeat only extends
leases. A 503 mostly means nothing was written; when it says a commit's
outcome is unknown (JetStream did not acknowledge it), the repeat meets the
same idempotency and version checks, so nothing is applied twice."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any, Callable, List, Optional, Tuple
from urllib.parse import urlparse

import grpc

from ._gen.resonate.mesh.v1 import promise_service_pb2_grpc, task_service_pb2_grpc
from .errors import ServerError, Unavailable

log = logging.getLogger("resonate_mesh")

CODE_METADATA = "resonate-code"
FIELD_METADATA = "resonate-field"
_NO_ANSWER = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

# A gRPC code the node sends, and the protocol code it stands for when the
# node sent none (a proxy, an old node).
_DEFAULT_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: "INVALID_ARGUMENT",
    grpc.StatusCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    grpc.StatusCode.PERMISSION_DENIED: "PERMISSION_DENIED",
    grpc.StatusCode.NOT_FOUND: "PROMISE_NOT_FOUND",
    grpc.StatusCode.ABORTED: "TASK_VERSION_MISMATCH",
    grpc.StatusCode.FAILED_PRECONDITION: "TASK_STATE_CONFLICT",
}


def grpc_target(url: str) -> Tuple[str, bool]:
    """`host:port` and whether TLS is used, from http(s)://host[:port]; no port means 8001."""
    if "://" not in url:
        url = f"http://{url}"
    parsed = urlparse(url)
    secure = parsed.scheme in ("https", "grpcs")
    host = parsed.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parsed.port or 8001}", secure


def _read_pem(what: str, path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        raise ValueError(f"{what} {path} cannot be read: {err.strerror}") from err


def tls_credentials(ca_file: Optional[str], cert_file: Optional[str] = None,
                    key_file: Optional[str] = None) -> grpc.ChannelCredentials:
    """TLS trusting the CA in `ca_file` (PEM), or the system roots without one;
    presenting the client certificate `cert_file` with its key `key_file` when given."""
    if (cert_file is None) != (key_file is None):
        raise ValueError(f"a client certificate needs both cert_file and key_file, got cert_file={cert_file!r} "
                         f"and key_file={key_file!r}")
    roots = None if ca_file is None else _read_pem("ca_file", ca_file)
    if cert_file is None:
        return grpc.ssl_channel_credentials(root_certificates=roots)
    return grpc.ssl_channel_credentials(root_certificates=roots, private_key=_read_pem("key_file", key_file),
                                        certificate_chain=_read_pem("cert_file", cert_file))


def trailer(err: grpc.RpcError, key: str) -> Optional[str]:
    try:
        for k, v in err.trailing_metadata() or ():
            if k == key:
                return v.decode() if isinstance(v, bytes) else v
    except Exception:  # noqa: BLE001 - a call that failed before any metadata
        return None
    return None


def server_error(method: str, err: grpc.RpcError, promise_id: Optional[str] = None) -> ServerError:
    code = err.code()
    protocol = trailer(err, CODE_METADATA) or _DEFAULT_CODES.get(code, "INTERNAL")
    return ServerError(method, code.name, protocol, err.details() or "", trailer(err, FIELD_METADATA), promise_id)


class Transport:
    def __init__(self, url: str, token: Optional[str] = None, request_timeout_s: float = 30.0,
                 unavailable_retry_s: float = 30.0, ca_file: Optional[str] = None,
                 cert_file: Optional[str] = None, key_file: Optional[str] = None):
        self.target, secure = grpc_target(url)
        options = [("grpc.primary_user_agent", "resonate-mesh-python")]
        if ca_file is not None and not secure:
            raise ValueError(f"ca_file {ca_file} needs an https:// url, not {url}")
        if cert_file is not None and not secure:
            raise ValueError(f"cert_file {cert_file} needs an https:// url, not {url}")
        self.channel = (grpc.secure_channel(self.target, tls_credentials(ca_file, cert_file, key_file), options)
                        if secure else grpc.insecure_channel(self.target, options))
        self.metadata: List[Tuple[str, str]] = [] if token is None else [("authorization", f"Bearer {token}")]
        self.promises = promise_service_pb2_grpc.PromiseServiceStub(self.channel)
        self.tasks = task_service_pb2_grpc.TaskServiceStub(self.channel)
        self.request_timeout_s = request_timeout_s
        self.unavailable_retry_s = unavailable_retry_s
        self.closed = False
        self._outage = False
        self._outage_lock = threading.Lock()

    def call(self, method: Callable[..., Any], name: str, request: Any, promise_id: Optional[str] = None) -> Any:
        """One unary call; retried while the node is unreachable or answers UNAVAILABLE."""
        started = time.monotonic()
        delay = 0.1
        while True:
            try:
                res = method(request, timeout=self.request_timeout_s, metadata=self.metadata)
                self._outage_over()
                return res
            except grpc.RpcError as err:
                sent_by_node = trailer(err, CODE_METADATA) is not None
                retryable = err.code() == grpc.StatusCode.UNAVAILABLE or (err.code() in _NO_ANSWER and not sent_by_node)
                if retryable and not self.closed and time.monotonic() - started + delay <= self.unavailable_retry_s:
                    self._outage_begins(name, err)
                    time.sleep(delay * (0.5 + random.random() / 2))
                    delay = min(delay * 2, 2.0)
                    continue
                if err.code() in _NO_ANSWER and not sent_by_node or err.code() == grpc.StatusCode.CANCELLED:
                    raise Unavailable(name, err.details() or err.code().name) from err
                raise server_error(name, err, promise_id) from err

    def _outage_begins(self, name: str, err: grpc.RpcError) -> None:
        """One warning per outage, however many requests retry through it."""
        with self._outage_lock:
            first = not self._outage
            self._outage = True
        if first:
            log.warning("node %s unavailable (%s on %s: %s); retrying requests for up to %gs",
                        self.target, err.code().name, name, err.details(), self.unavailable_retry_s)
        else:
            log.debug("%s: node unavailable (%s); retrying", name, err.details())

    def _outage_over(self) -> None:
        if self._outage:
            with self._outage_lock:
                was, self._outage = self._outage, False
            if was:
                log.warning("node %s answers again", self.target)

    def close(self) -> None:
        self.closed = True
        self.channel.close()
