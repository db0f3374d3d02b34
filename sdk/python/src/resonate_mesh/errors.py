"""Errors the library raises. Each has a stable `code` (the same codes as the
TypeScript SDK), names the promise it is about when there is one, and says
what happened and how to fix it."""

from __future__ import annotations

import builtins
from typing import Any, Optional


class ResonateError(Exception):
    """Base of the library's own errors; `code` is stable, `promise_id` optional."""

    def __init__(self, code: str, message: str, promise_id: Optional[str] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.promise_id = promise_id


class PromiseTimedOutError(ResonateError):
    def __init__(self, promise_id: str, timeout_at: int):
        super().__init__(
            "PROMISE_TIMED_OUT",
            f'promise "{promise_id}" timed out at {timeout_at} (ms epoch) before it was settled; '
            "give it a longer timeout if it needs more time.",
            promise_id,
        )
        self.timeout_at = timeout_at


class PromiseCanceledError(ResonateError):
    def __init__(self, promise_id: str, reason: Any = None):
        super().__init__("PROMISE_CANCELED", f'promise "{promise_id}" was canceled.', promise_id)
        self.reason = reason


class ServerError(ResonateError):
    """A request the node refused. `grpc_code` is the gRPC status name
    (e.g. "NOT_FOUND"), `protocol_code` the node's stable code from the
    `resonate-code` trailer (e.g. "PROMISE_NOT_FOUND")."""

    def __init__(self, method: str, grpc_code: str, protocol_code: str, detail: str,
                 field: Optional[str] = None, promise_id: Optional[str] = None):
        super().__init__("SERVER_ERROR", f"{method} failed with {grpc_code} {protocol_code}: {detail}", promise_id)
        self.method = method
        self.grpc_code = grpc_code
        self.protocol_code = protocol_code
        self.detail = detail
        self.field = field

    @property
    def task_lost(self) -> bool:
        """The task is not ours any more (version moved on, state changed, gone)."""
        return self.protocol_code.startswith("TASK_") and self.grpc_code in ("ABORTED", "FAILED_PRECONDITION", "NOT_FOUND")


class Unavailable(ResonateError):
    def __init__(self, method: str, detail: str):
        super().__init__("UNAVAILABLE", f"{method}: the node did not answer ({detail})")


def not_serializable(path: str, what: str, promise_id: Optional[str] = None) -> ResonateError:
    where = "" if promise_id is None else f' for promise "{promise_id}"'
    return ResonateError(
        "NOT_SERIALIZABLE",
        f"cannot encode {path}{where}: {what}. Durable arguments and results must be data the codec can store "
        "(None, bool, int, float, str, list, tuple, dict, set, bytes, datetime, exceptions); convert it to plain data.",
        promise_id,
    )


def not_deserializable(what: str, promise_id: Optional[str] = None) -> ResonateError:
    where = "a value" if promise_id is None else f'the value of promise "{promise_id}"'
    return ResonateError("NOT_DESERIALIZABLE", f"cannot decode {where}: {what}.", promise_id)


def non_deterministic(promise_id: str, recorded: str, replayed: str) -> ResonateError:
    return ResonateError(
        "NON_DETERMINISTIC",
        f'non-deterministic replay at promise "{promise_id}": it was recorded as {recorded}, but this run called '
        f"{replayed}. A durable function must make the same ctx calls in the same order with the same arguments "
        "every time it runs: move changing inputs (time, randomness, I/O) into ctx.run steps, or start changed "
        "code under a new promise id or function version.",
        promise_id,
    )


def invalid_argument(message: str, promise_id: Optional[str] = None) -> ResonateError:
    return ResonateError("INVALID_ARGUMENT", message, promise_id)


def function_not_registered(name: str, version: Optional[int], promise_id: Optional[str] = None) -> ResonateError:
    v = "" if not version else f" version {version}"
    where = "" if promise_id is None else f' (promise "{promise_id}")'
    return ResonateError(
        "FUNCTION_NOT_REGISTERED",
        f'function "{name}"{v} is not registered on this client{where}. Call resonate.register(fn, name="{name}") '
        "before invoking it here.",
        promise_id,
    )


def stopped(what: str) -> ResonateError:
    return ResonateError("STOPPED", f"{what}: this Resonate client was stopped; create a new one.")


class RemoteError(Exception):
    """An error recorded by some worker (any language), read back from a
    promise: `name` ("TypeError", "ValueError", "MyError"), `message`,
    `stack` (the recording side's text, or None) and `props` (its own fields,
    also set as attributes). When `name` is a Python built-in exception the
    error is also an instance of it, so `except ValueError` works."""

    name: str
    message: str
    stack: Optional[str]
    props: dict

    def __init__(self, name: str, message: str, stack: Optional[str] = None, props: Optional[dict] = None):
        super().__init__(message)
        self.name = name
        self.message = message
        self.stack = stack
        self.props = dict(props or {})
        for key, value in self.props.items():
            if key.isidentifier() and not hasattr(RemoteError, key) and key not in ("name", "message", "stack", "props"):
                setattr(self, key, value)

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"

    def __repr__(self) -> str:
        return f"RemoteError({self.name!r}, {self.message!r})"


_remote_types: dict = {}


def remote_error(name: str, message: str, stack: Optional[str] = None, props: Optional[dict] = None) -> RemoteError:
    """A RemoteError that is also the built-in exception `name` when there is one."""
    base = getattr(builtins, name, None)
    if isinstance(base, type) and issubclass(base, Exception) and base is not Exception and not issubclass(base, OSError):
        cls = _remote_types.get(name)
        if cls is None:
            try:
                cls = type(name, (RemoteError, base), {"__init__": RemoteError.__init__, "__str__": RemoteError.__str__})
            except TypeError:  # a built-in whose C layout cannot be mixed in
                cls = RemoteError
            _remote_types[name] = cls
        return cls(name, message, stack, props)
    return RemoteError(name, message, stack, props)
