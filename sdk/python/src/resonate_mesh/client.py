"""The client: registers durable functions (and so becomes a worker of its
group), starts executions (`run` here, `rpc` on some worker), waits for
results with PromiseService.Watch, and settles promises from outside."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any, Callable, Dict, Optional

import grpc

from . import codec
from ._gen.resonate.mesh.v1 import promise_service_pb2 as ps
from ._gen.resonate.mesh.v1 import records_pb2 as rec
from ._gen.resonate.mesh.v1 import task_service_pb2 as ts
from .context import DEFAULT_TARGET, resolve_target
from .core import DAY_MS
from .outcome import outcome_of
from .errors import ServerError, function_not_registered, invalid_argument, stopped
from .records import BRANCH, ORIGIN, PARENT, SCOPE, TARGET, PromiseRecord, from_proto
from .retry import Retry
from .transport import Transport
from .worker import Registry, Worker


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or value == "" or "\0" in value:
        raise invalid_argument(f'{what} must be a non-empty string without NUL bytes, got {value!r}; pass an id such as "order-42".')
    return value


class Handle:
    """An execution (or any promise) by id: `result()` waits for it and
    returns its value or raises its error."""

    def __init__(self, client: "Resonate", promise_id: str, local: Optional[Future] = None):
        self.id = promise_id
        self._client = client
        self._local = local

    def done(self) -> bool:
        return not self._client.promises.get(self.id).pending

    def result(self, timeout: Optional[float] = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        record: Optional[PromiseRecord] = None
        if self._local is not None:
            record = self._local.result(timeout)  # None: it suspended or went elsewhere; watch it
        if record is None or record.pending:
            record = self._client._watch(self.id, deadline)
        outcome = outcome_of(record)
        if outcome.ok:
            return outcome.value
        raise outcome.error  # type: ignore[misc]


class Promises:
    """Promises by id, from outside any durable function (e.g. settling a ctx.promise())."""

    def __init__(self, transport: Transport):
        self._t = transport

    def get(self, promise_id: str) -> PromiseRecord:
        res = self._t.call(self._t.promises.Get, "PromiseService.Get", ps.PromiseServiceGetRequest(id=promise_id), promise_id)
        return from_proto(res.promise)

    def resolve(self, promise_id: str, value: Any = None) -> PromiseRecord:
        return self._settle(promise_id, rec.SETTLE_STATE_RESOLVED, codec.encode(value, "the value", promise_id))

    def reject(self, promise_id: str, error: Any) -> PromiseRecord:
        return self._settle(promise_id, rec.SETTLE_STATE_REJECTED, codec.encode(error, "the error", promise_id))

    def cancel(self, promise_id: str) -> PromiseRecord:
        return self._settle(promise_id, rec.SETTLE_STATE_REJECTED_CANCELED, b"")

    def _settle(self, promise_id: str, state: int, data: bytes) -> PromiseRecord:
        res = self._t.call(self._t.promises.Settle, "PromiseService.Settle",
                           ps.PromiseServiceSettleRequest(id=promise_id, state=state, value=rec.Value(data=data)), promise_id)
        return from_proto(res.promise)


class Resonate:
    """A client of a resonate-mesh node, and a worker of `group` once it has
    registered a function.

        resonate = Resonate("http://127.0.0.1:8001", group="py-workers")

        @resonate.register(name="greet")
        def greet(ctx, name):
            text = yield ctx.run(format_greeting, name)
            return text

        print(resonate.rpc("greet-1", "greet", "Ada", target="py-workers").result())
    """

    def __init__(self, url: Optional[str] = None, group: str = "default", pid: Optional[str] = None,
                 ttl: int = 10_000, token: Optional[str] = None, *, stop_grace_s: float = 10.0,
                 max_concurrency: int = 16, unavailable_retry_s: float = 30.0, ca_file: Optional[str] = None,
                 cert_file: Optional[str] = None, key_file: Optional[str] = None):
        url = url or os.environ.get("RESONATE_URL") or "http://127.0.0.1:8001"
        token = token if token is not None else os.environ.get("RESONATE_TOKEN")
        # With an https:// url: the CA that signed the node's certificate (default: the system roots).
        ca_file = ca_file if ca_file is not None else (os.environ.get("RESONATE_CA_FILE") or None)
        # For a node that requires client certificates (--tls-client-ca): this worker's certificate and key.
        cert_file = cert_file if cert_file is not None else (os.environ.get("RESONATE_CERT_FILE") or None)
        key_file = key_file if key_file is not None else (os.environ.get("RESONATE_KEY_FILE") or None)
        if not isinstance(group, str) or group == "" or "/" in group or "@" in group:
            raise invalid_argument(f"group must be a non-empty name without '/' or '@', got {group!r}.")
        if not isinstance(ttl, int) or ttl < 1:
            raise invalid_argument(f"ttl must be a positive number of milliseconds, got {ttl!r}.")
        self.group = group
        self.pid = pid or uuid.uuid4().hex
        self.ttl = ttl
        self.stop_grace_s = stop_grace_s
        self.transport = Transport(url, token, unavailable_retry_s=unavailable_retry_s, ca_file=ca_file,
                                   cert_file=cert_file, key_file=key_file)
        self.registry = Registry()
        self.promises = Promises(self.transport)
        self.worker = Worker(self.transport, group, self.pid, ttl, self.registry, lambda _r: None, max_concurrency)
        self._stopped = False
        self._lock = threading.Lock()

    # -------------------------------------------------------------- functions

    def register(self, fn: Optional[Callable[..., Any]] = None, *, name: Optional[str] = None, version: int = 1,
                 retry: Optional[Retry] = None) -> Any:
        """Make `fn` callable by name (rpc, other languages) and run by this worker.
        A generator function is a durable function (`yield ctx.run(...)`); a plain function is a leaf.
        Usable as `register(fn, name=...)` or as a decorator `@register(name=...)`."""
        self._assert_running("register")
        if fn is None:
            return lambda f: self.register(f, name=name, version=version, retry=retry)
        if not callable(fn):
            raise invalid_argument(f"register() needs a function, got {type(fn).__name__}.")
        self.registry.add(fn, name, version, retry)
        self.worker.start_polling()
        return fn

    def rpc(self, promise_id: str, name: str, *args: Any, target: Optional[str] = None, timeout: Optional[int] = None,
            version: int = 1, tags: Optional[Dict[str, str]] = None, retry: Optional[Retry] = None) -> Handle:
        """Start the function registered as `name` on a worker of `target` (default poll://any@default)."""
        self._assert_running("rpc")
        _check_id(promise_id, "rpc() id")
        if not isinstance(name, str) or name == "":
            raise invalid_argument(f'rpc("{promise_id}") needs the registered name of a function as its second argument.', promise_id)
        address = resolve_target(target or DEFAULT_TARGET)
        self.transport.call(self.transport.promises.Create, "PromiseService.Create", ps.PromiseServiceCreateRequest(
            id=promise_id, timeout_at=_now_ms() + (timeout or DAY_MS),
            param=rec.Value(data=self._invocation(promise_id, name, args, version, retry)),
            tags=self._root_tags(promise_id, address, tags)), promise_id)
        return Handle(self, promise_id)

    def run(self, promise_id: str, fn: Callable[..., Any], *args: Any, timeout: Optional[int] = None,
            tags: Optional[Dict[str, str]] = None) -> Handle:
        """Run a registered function here, durably, as promise `promise_id`."""
        self._assert_running("run")
        _check_id(promise_id, "run() id")
        registered = self.registry.by_fn.get(fn)
        if registered is None:
            raise function_not_registered(getattr(fn, "__name__", str(fn)), None, promise_id)
        self.worker.start_polling()
        create = ps.PromiseServiceCreateRequest(
            id=promise_id, timeout_at=_now_ms() + (timeout or DAY_MS),
            param=rec.Value(data=self._invocation(promise_id, registered.name, args, registered.version, None)),
            tags=self._root_tags(promise_id, f"poll://any@{self.group}/{self.pid}", tags))
        try:
            res = self.transport.call(self.transport.tasks.Create, "TaskService.Create",
                                      ts.TaskServiceCreateRequest(pid=self.pid, ttl=self.ttl, action=create), promise_id)
        except ServerError as err:
            if err.grpc_code == "FAILED_PRECONDITION":
                return Handle(self, promise_id)  # held elsewhere: wait for it
            raise
        promise = from_proto(res.promise)
        if not promise.pending or res.task.state != rec.TASK_STATE_ACQUIRED or res.task.pid != self.pid:
            return Handle(self, promise_id)
        local = self.worker.pool.submit(self.worker.execute, res.task.id, res.task.version, promise,
                                        [from_proto(p) for p in res.preload])
        return Handle(self, promise_id, local)

    def get(self, promise_id: str) -> Handle:
        """A handle on an existing execution."""
        self.promises.get(_check_id(promise_id, "get() id"))
        return Handle(self, promise_id)

    def wait_until_connected(self, timeout: Optional[float] = None) -> bool:
        """Block until the worker's Poll stream is open (after register); False on timeout."""
        return self.worker.connected.wait(timeout)

    def stop(self) -> None:
        """Graceful: take no new work, let running functions finish (up to stop_grace_s), release the rest."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self.worker.stop(self.stop_grace_s)
        self.transport.close()

    def __enter__(self) -> "Resonate":
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    # -------------------------------------------------------------- internals

    def _assert_running(self, what: str) -> None:
        if self._stopped:
            raise stopped(what)

    @staticmethod
    def _invocation(promise_id: str, func: str, args: Any, version: int, retry: Optional[Retry]) -> bytes:
        invocation: Dict[str, Any] = {"func": func, "args": list(args), "version": version}
        if retry is not None:
            invocation["retry"] = retry.encode()
        return codec.encode(invocation, "", promise_id)

    @staticmethod
    def _root_tags(promise_id: str, target: str, tags: Optional[Dict[str, str]]) -> Dict[str, str]:
        return {**(tags or {}), ORIGIN: promise_id, BRANCH: promise_id, PARENT: promise_id, SCOPE: "global",
                TARGET: target}

    def _watch(self, promise_id: str, deadline: Optional[float]) -> PromiseRecord:
        """PromiseService.Watch until the promise settles; reopened when the stream breaks."""
        delay = 0.1
        t = self.transport
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f'promise "{promise_id}" did not settle in time')
            try:
                for message in t.promises.Watch(ps.PromiseServiceWatchRequest(id=promise_id), metadata=t.metadata,
                                                timeout=remaining):
                    record = from_proto(message.promise)
                    if not record.pending:
                        return record
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED and deadline is not None:
                    raise TimeoutError(f'promise "{promise_id}" did not settle in time') from err
                # UNAVAILABLE, the node's ("retry later") or a lost connection: watch again, as for a broken stream.
                if err.code() != grpc.StatusCode.UNAVAILABLE:
                    from .transport import server_error
                    raise server_error("PromiseService.Watch", err, promise_id) from err
            time.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, 2.0)
