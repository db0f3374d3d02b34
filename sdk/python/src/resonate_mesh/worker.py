"""The worker side: the Poll stream (reconnected forever with capped,
jittered backoff), `execute` messages turned into acquired tasks, each run
by the replay core (core.py) in a thread of a pool while one heartbeat
thread keeps every held lease, and a graceful stop.

Concurrency model: plain threads and grpcio's synchronous stubs. One attempt
runs in one pool thread from acquire to its end; the core decides everything
(it is a pure state machine), this module only performs its commands.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import grpc

from . import codec
from ._gen.resonate.mesh.v1 import promise_service_pb2 as ps
from ._gen.resonate.mesh.v1 import records_pb2 as rec
from ._gen.resonate.mesh.v1 import task_service_pb2 as ts
from .core import (Attempt, CreatePromise, Finished, Fulfill, GetPromise, Result, RunLeaf, SettlePromise, Suspend,
                   Wait)
from .errors import ResonateError, function_not_registered, invalid_argument
from .records import TIMER, PromiseRecord, from_proto
from .retry import Retry
from .transport import Transport

log = logging.getLogger("resonate_mesh")

SETTLE_STATES = {"resolved": rec.SETTLE_STATE_RESOLVED, "rejected": rec.SETTLE_STATE_REJECTED}


@dataclass
class Registered:
    fn: Callable[..., Any]
    name: str
    version: int
    retry: Optional[Retry]


class Registry:
    """Functions by (name, version); version 0 means the highest registered."""

    def __init__(self) -> None:
        self.by_name: Dict[str, Dict[int, Registered]] = {}
        self.by_fn: Dict[Any, Registered] = {}
        self.lock = threading.Lock()

    def add(self, fn: Callable[..., Any], name: Optional[str], version: int, retry: Optional[Retry]) -> Registered:
        name = name or getattr(fn, "__name__", "")
        if not name or name == "<lambda>":
            raise invalid_argument("register() got an anonymous function; pass name=\"...\".")
        if not isinstance(version, int) or version < 1:
            raise invalid_argument(f"register({name}): version must be a positive integer, got {version!r}.")
        with self.lock:
            versions = self.by_name.setdefault(name, {})
            if version in versions:
                raise ResonateError("DUPLICATE_REGISTRATION",
                                    f'function "{name}" version {version} is already registered; give one another name or version.')
            entry = Registered(fn, name, version, retry)
            versions[version] = entry
            self.by_fn.setdefault(fn, entry)
        return entry

    def get(self, name: str, version: int = 0) -> Optional[Registered]:
        versions = self.by_name.get(name)
        if not versions:
            return None
        if not version:
            return versions[max(versions)]
        return versions.get(version)

    def lookup(self, fn: Callable[..., Any]) -> Optional[Tuple[str, int]]:
        entry = self.by_fn.get(fn)
        return None if entry is None else (entry.name, entry.version)


class Heartbeat:
    """Every ttl/2, one TaskService.Heartbeat naming every task this worker holds."""

    def __init__(self, transport: Transport, pid: str, interval_s: float):
        self.transport, self.pid, self.interval_s = transport, pid, interval_s
        self.held: Dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="resonate-heartbeat", daemon=True)
        self.thread.start()

    def hold(self, task_id: str, version: int) -> None:
        with self.lock:
            self.held[task_id] = version

    def release(self, task_id: str, version: int) -> None:
        with self.lock:
            if self.held.get(task_id) == version:
                del self.held[task_id]

    def stop(self) -> None:
        self.stopped.set()

    def _loop(self) -> None:
        while not self.stopped.wait(self.interval_s):
            with self.lock:
                tasks = [rec.TaskRef(id=i, version=v) for i, v in self.held.items()]
            if not tasks:
                continue
            try:
                self.transport.call(self.transport.tasks.Heartbeat, "TaskService.Heartbeat",
                                    ts.TaskServiceHeartbeatRequest(pid=self.pid, tasks=tasks))
            except Exception as err:  # noqa: BLE001 - retried at the next interval
                log.warning("heartbeat failed; retrying at the next interval: %s", err)


class Worker:
    def __init__(self, transport: Transport, group: str, pid: str, ttl: int, registry: Registry,
                 on_settled: Callable[[PromiseRecord], None], max_concurrency: int = 16,
                 now: Callable[[], int] = lambda: int(time.time() * 1000)):
        self.transport, self.group, self.pid, self.ttl = transport, group, pid, ttl
        self.registry = registry
        self.on_settled = on_settled
        self.now = now
        self.pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="resonate-task")
        self.heartbeat = Heartbeat(transport, pid, max(0.05, ttl / 2000))
        self.running: Dict[str, Any] = {}
        self.running_lock = threading.Lock()
        self.stopping = threading.Event()
        self.abandon = threading.Event()
        self.warned: set = set()
        # Consecutive unexpected failures per task, so a failing task is not released in a hot loop.
        self.failures: Dict[str, int] = {}
        self._poll_thread: Optional[threading.Thread] = None
        self._stream: Any = None
        self.connected = threading.Event()

    # -------------------------------------------------------------- poll

    def start_polling(self) -> None:
        if self._poll_thread is None:
            self._poll_thread = threading.Thread(target=self._poll_loop, name="resonate-poll", daemon=True)
            self._poll_thread.start()

    def _poll_loop(self) -> None:
        delay, failures, last_logged = 0.1, 0, 0.0
        while not self.stopping.is_set():
            problem = ""
            try:
                stream = self.transport.tasks.Poll(ts.TaskServicePollRequest(group=self.group, pid=self.pid),
                                                   metadata=self.transport.metadata)
                self._stream = stream
                if self.stopping.is_set():
                    stream.cancel()
                    break
                stream.initial_metadata()  # sent once this worker is registered
                if failures:
                    log.warning("poll stream to %s reconnected after %d failed attempts", self.transport.target, failures)
                delay, failures = 0.1, 0
                self.connected.set()
                for message in stream:
                    if message.HasField("execute"):
                        ref = message.execute.task
                        self.pool.submit(self._on_execute, ref.id, ref.version)
                problem = "the node ended the stream"
            except grpc.RpcError as err:
                if self.stopping.is_set():
                    break
                problem = f"{err.code().name}: {err.details()}"
            except ValueError as err:  # the channel was closed
                if self.stopping.is_set():
                    break
                problem = str(err)
            self.connected.clear()
            failures += 1
            # Each failure once at a readable rate: the first, then at most one line every 30 s.
            if failures == 1 or time.monotonic() - last_logged > 30:
                log.warning("poll stream to %s failed (%s); reconnecting (attempt %d)", self.transport.target, problem, failures)
                last_logged = time.monotonic()
            self.stopping.wait(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, 5.0)

    # -------------------------------------------------------------- tasks

    def _on_execute(self, task_id: str, version: int) -> None:
        if self.stopping.is_set():
            return
        try:
            res = self.transport.call(self.transport.tasks.Acquire, "TaskService.Acquire",
                                      ts.TaskServiceAcquireRequest(id=task_id, version=version, pid=self.pid, ttl=self.ttl))
        except ResonateError as err:
            # Someone else got it, or this message was a duplicate: both are normal.
            log.debug("execute %s@%d not acquired: %s", task_id, version, err)
            return
        try:
            self.execute(task_id, res.task.version, from_proto(res.promise), [from_proto(p) for p in res.preload])
        except Exception:  # noqa: BLE001 - logged; the lease lapses and the task comes back
            log.exception("task %s failed unexpectedly", task_id)

    def execute(self, task_id: str, version: int, promise: PromiseRecord,
                preload: List[PromiseRecord]) -> Optional[PromiseRecord]:
        """Run a task this worker holds until it completes, suspends or is lost; the root when it settled here."""
        if not promise.pending:
            return promise
        # A timer names no function: the node settles it at its deadline; let the lease lapse.
        if promise.tags.get(TIMER) == "true":
            return None
        invocation = self._invocation(promise)
        if isinstance(invocation, ResonateError):
            return self._reject(task_id, version, promise, invocation)
        func, args, fn_version, retry = invocation
        registered = self.registry.get(func, fn_version)
        if registered is None:
            # Another worker of the group may have it (a rolling deploy): leave it; it comes back after the lease.
            key = f"{func}@{fn_version}"
            if key not in self.warned:
                self.warned.add(key)
                log.error("%s The task is left for another worker of this group.",
                          function_not_registered(func, fn_version, promise.id).message)
            return None
        attempt = Attempt(promise, preload, registered.fn, args, registered.name, registered.version,
                          retry or registered.retry or Retry.never(), f"poll://any@{self.group}",
                          self.registry.lookup, self.now)
        self.heartbeat.hold(task_id, version)
        with self.running_lock:
            self.running[task_id] = attempt
        try:
            end = self._run(attempt, task_id, version)
        finally:
            self.heartbeat.release(task_id, version)
            with self.running_lock:
                if self.running.get(task_id) is attempt:
                    del self.running[task_id]
        if end.kind != "failed":
            self.failures.pop(task_id, None)
        if end.kind == "completed" and end.record is not None:
            self.on_settled(end.record)
            return end.record
        if end.kind == "failed":
            n = self.failures[task_id] = self.failures.get(task_id, 0) + 1
            log.warning("execution of %s failed unexpectedly (%s); releasing the task", task_id, end.error)
            self.abandon.wait(min(0.1 * 2 ** (n - 1), 30.0))
            self._release(task_id, version)
        elif end.kind == "abandoned":
            self._release(task_id, version)
        return None

    def _run(self, attempt: Attempt, task_id: str, version: int) -> Finished:
        command = attempt.start()
        while not isinstance(command, Finished):
            if self.abandon.is_set():
                return Finished("abandoned")
            command = attempt.step(self._perform(command, attempt, task_id, version))
        return command

    def _perform(self, command: Any, attempt: Attempt, task_id: str, version: int) -> Result:
        t = self.transport
        try:
            if isinstance(command, RunLeaf):
                return Result(True, command.fn(command.ctx, *command.args))
            if isinstance(command, CreatePromise):
                # The root's trace context goes into every promise it creates: one trace follows the workflow.
                create = ps.PromiseServiceCreateRequest(id=command.id, timeout_at=command.timeout_at,
                                                        param=rec.Value(data=command.param,
                                                                        headers=attempt.root.trace_context()),
                                                        tags=command.tags)
                if command.settled is not None:
                    state, value = command.settled
                    create.settled.CopyFrom(ps.Settlement(state=SETTLE_STATES[state], value=rec.Value(data=value)))
                res = t.call(t.tasks.Fence, "TaskService.Fence",
                             ts.TaskServiceFenceRequest(id=task_id, version=version, create=create), command.id)
                return Result(True, (from_proto(res.create.promise), [from_proto(p) for p in res.preload]))
            if isinstance(command, SettlePromise):
                settle = ps.PromiseServiceSettleRequest(id=command.id, state=SETTLE_STATES[command.state],
                                                        value=rec.Value(data=command.value))
                res = t.call(t.tasks.Fence, "TaskService.Fence",
                             ts.TaskServiceFenceRequest(id=task_id, version=version, settle=settle), command.id)
                return Result(True, (from_proto(res.settle.promise), [from_proto(p) for p in res.preload]))
            if isinstance(command, Suspend):
                actions = [ps.PromiseServiceRegisterCallbackRequest(awaited=a, awaiter=attempt.root.id)
                           for a in command.awaited]
                res = t.call(t.tasks.Suspend, "TaskService.Suspend",
                             ts.TaskServiceSuspendRequest(id=task_id, version=version, actions=actions), task_id)
                return Result(True, (res.redirect, [from_proto(p) for p in res.preload]))
            if isinstance(command, GetPromise):
                res = t.call(t.promises.Get, "PromiseService.Get", ps.PromiseServiceGetRequest(id=command.id), command.id)
                return Result(True, from_proto(res.promise))
            if isinstance(command, Fulfill):
                settle = ps.PromiseServiceSettleRequest(id=attempt.root.id, state=SETTLE_STATES[command.state],
                                                        value=rec.Value(data=command.value))
                res = t.call(t.tasks.Fulfill, "TaskService.Fulfill",
                             ts.TaskServiceFulfillRequest(id=task_id, version=version, action=settle), task_id)
                return Result(True, from_proto(res.promise))
            if isinstance(command, Wait):
                self.abandon.wait(command.ms / 1000)
                return Result(True)
            raise RuntimeError(f"unknown command {command!r}")
        except Exception as err:  # noqa: BLE001 - the core decides what a failure means
            return Result(False, error=err)

    def _invocation(self, promise: PromiseRecord) -> Any:
        try:
            param = codec.decode(promise.param, promise.id)
        except ResonateError as err:
            return err
        if not isinstance(param, dict) or not isinstance(param.get("func"), str) or not isinstance(param.get("args", []), list):
            return invalid_argument(
                f'promise "{promise.id}" has a target but its param is not an invocation {{func, args, version}}; '
                "create targeted promises with resonate.rpc().", promise.id)
        version = param.get("version")
        return (param["func"], param.get("args", []), version if isinstance(version, int) else 0,
                Retry.decode(param.get("retry")))

    def _reject(self, task_id: str, version: int, promise: PromiseRecord, error: ResonateError) -> Optional[PromiseRecord]:
        log.error("%s", error.message)
        settle = ps.PromiseServiceSettleRequest(id=promise.id, state=rec.SETTLE_STATE_REJECTED,
                                                value=rec.Value(data=codec.encode(error, "the error")))
        try:
            res = self.transport.call(self.transport.tasks.Fulfill, "TaskService.Fulfill",
                                      ts.TaskServiceFulfillRequest(id=task_id, version=version, action=settle))
        except ResonateError:
            return None
        record = from_proto(res.promise)
        self.on_settled(record)
        return record

    def _release(self, task_id: str, version: int) -> None:
        try:
            self.transport.call(self.transport.tasks.Release, "TaskService.Release",
                                ts.TaskServiceReleaseRequest(id=task_id, version=version))
        except Exception as err:  # noqa: BLE001
            log.warning("release of %s failed; the task returns when its lease ends: %s", task_id, err)

    # -------------------------------------------------------------- stop

    def stop(self, grace_s: float) -> None:
        """Take no new work; give running attempts `grace_s` to end, then release what is still held."""
        self.stopping.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            with self.running_lock:
                if not self.running:
                    break
            time.sleep(0.02)
        self.abandon.set()  # what still runs releases its task at its next step
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.heartbeat.stop()
