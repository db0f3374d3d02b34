"""What a durable function sees: its Context, and the calls it yields
(ctx.run, ctx.rpc, ctx.sleep, ctx.promise, their spawned Futures). Each call
takes its child id (`{parent}.{n}`) and encodes its param when it is made,
as the TypeScript SDK does, so later child ids do not depend on what runs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from . import codec
from .errors import ResonateError, invalid_argument
from .retry import Retry

if TYPE_CHECKING:
    from .core import Frame

DEFAULT_TARGET = "poll://any@default"

# ------------------------------------------------------------------ calls a function yields


class Call:
    """A durable child call, made by a ctx method; `yield` it to get its result."""
    kind = ""

    def __init__(self, frame: "Frame", child_id: str):
        self.frame = frame
        self.id = child_id
        self.param = b""
        self.error: Optional[BaseException] = None
        self.used = False
        self.spawned = False

    def spawn(self) -> "Call":
        """`f = yield ctx.rpc(...).spawn()` starts the child and gives a Future at once;
        `yield f` (or `yield [f1, f2]`) waits for it later."""
        self.spawned = True
        return self

    def _invocation(self, func: str, args: List[Any], version: int, retry: Optional[Retry] = None) -> None:
        invocation: Dict[str, Any] = {"func": func, "args": list(args), "version": version}
        if retry is not None and self.kind == "rpc":
            invocation["retry"] = retry.encode()
        self._encode(invocation)

    def _encode(self, param: Any) -> None:
        try:
            self.param = codec.encode(param, "", self.id)
        except ResonateError as err:
            self.error = err


class Future:
    """A spawned child; `yield` it (or a list of them) for its result."""

    def __init__(self, frame: "Frame", child_id: str, failed: Optional[BaseException] = None):
        self.frame = frame
        self.id = child_id
        self.failed = failed  # it could not even be created


class RunCall(Call):
    kind = "run"

    def __init__(self, frame: "Frame", child_id: str, fn: Callable[..., Any], args: List[Any], name: str,
                 version: int, retry: Optional[Retry], timeout: Optional[int]):
        super().__init__(frame, child_id)
        self.fn, self.args, self.name, self.version, self.retry, self.timeout = fn, args, name, version, retry, timeout
        self._invocation(name, args, version)


class RpcCall(Call):
    kind = "rpc"

    def __init__(self, frame: "Frame", child_id: str, name: str, args: List[Any], target: str, version: int,
                 timeout: Optional[int], tags: Optional[Dict[str, str]], retry: Optional[Retry]):
        super().__init__(frame, child_id)
        self.name, self.args, self.target, self.version, self.timeout, self.tags = name, args, target, version, timeout, tags
        self._invocation(name, args, version, retry)


class SleepCall(Call):
    kind = "sleep"

    def __init__(self, frame: "Frame", child_id: str, ms: int):
        super().__init__(frame, child_id)
        self.ms = ms
        self._encode({"func": "resonate:sleep", "args": [ms]})


class PromiseCall(Call):
    """A latent promise: settled from outside by its `id`; `yield` it to wait for its value."""
    kind = "promise"

    def __init__(self, frame: "Frame", child_id: str, timeout: Optional[int], data: Any,
                 tags: Optional[Dict[str, str]]):
        super().__init__(frame, child_id)
        self.timeout, self.tags = timeout, tags
        self._encode({"func": "resonate:promise", "args": [] if data is None else [data]})


# ------------------------------------------------------------------ context


def resolve_target(target: str) -> str:
    """A group name `g` means `poll://any@g`; addresses are taken as they are."""
    if not isinstance(target, str) or target == "":
        raise invalid_argument(f"target must be a group name or an address such as poll://any@group, got {target!r}.")
    return target if "://" in target else f"poll://any@{target}"


class Context:
    """What a durable function receives as its first argument. Valid only
    while its own function runs; `yield` the calls it makes."""

    def __init__(self, frame: "Frame"):
        self._frame = frame

    @property
    def id(self) -> str:
        return self._frame.id

    @property
    def parent_id(self) -> str:
        return self._frame.parent_id

    @property
    def origin_id(self) -> str:
        return self._frame.attempt.origin_id

    @property
    def func_name(self) -> str:
        return self._frame.name

    @property
    def timeout_at(self) -> int:
        return self._frame.timeout_at

    @property
    def attempt(self) -> int:
        """1 on the first try of this function within the attempt, 2 on its first retry, ..."""
        return self._frame.tries

    def run(self, fn: Callable[..., Any], *args: Any, retry: Optional[Retry] = None,
            timeout: Optional[int] = None) -> RunCall:
        """Run `fn(ctx, *args)` here as a durable step (a generator function runs as a durable function)."""
        frame = self._enter("run")
        if not callable(fn):
            raise invalid_argument(f'ctx.run() needs a function as its first argument, got {type(fn).__name__} (in "{frame.id}").', frame.id)
        registered = frame.attempt.registry_lookup(fn)
        name = registered[0] if registered else getattr(fn, "__name__", "anonymous")
        version = registered[1] if registered else 1
        return RunCall(frame, frame.next_id(), fn, list(args), name, version, retry, _check_timeout(timeout, "ctx.run"))

    def rpc(self, name: str, *args: Any, target: Optional[str] = None, timeout: Optional[int] = None,
            version: int = 1, tags: Optional[Dict[str, str]] = None, retry: Optional[Retry] = None) -> RpcCall:
        """Run the function registered as `name` on a worker of `target` (default poll://any@default)."""
        frame = self._enter("rpc")
        if not isinstance(name, str) or name == "":
            raise invalid_argument(f'ctx.rpc() needs the registered name of a function, got {name!r} (in "{frame.id}").', frame.id)
        if not isinstance(version, int) or version < 0:
            raise invalid_argument(f"ctx.rpc: version must be an integer >= 0 (0 = latest), got {version!r}.", frame.id)
        return RpcCall(frame, frame.next_id(), name, list(args), resolve_target(target or DEFAULT_TARGET), version,
                       _check_timeout(timeout, "ctx.rpc"), tags, retry)

    def sleep(self, ms: int) -> SleepCall:
        """A durable sleep: a timer promise on the node; the worker is free meanwhile."""
        frame = self._enter("sleep")
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not ms >= 0 or not math.isfinite(ms):
            raise invalid_argument(f'ctx.sleep() needs a number of milliseconds >= 0, got {ms!r} (in "{frame.id}").', frame.id)
        return SleepCall(frame, frame.next_id(), int(ms))

    def promise(self, id: Optional[str] = None, timeout: Optional[int] = None, data: Any = None,
                tags: Optional[Dict[str, str]] = None) -> PromiseCall:
        """A latent promise, settled from outside by its `.id`; `yield` it to wait for it."""
        frame = self._enter("promise")
        derived = frame.next_id()  # taken either way, so naming an id keeps later child ids stable
        if id is not None and (not isinstance(id, str) or id == "" or "\0" in id):
            raise invalid_argument(f"a latent promise id must be a non-empty string without NUL, got {id!r}.", frame.id)
        return PromiseCall(frame, id or derived, _check_timeout(timeout, "ctx.promise"), data, tags)

    def _enter(self, method: str) -> "Frame":
        frame = self._frame
        if frame.leaf:
            raise ResonateError(
                "CONTEXT_OUTSIDE_FUNCTION",
                f'ctx.{method}() was called in "{frame.id}", a plain function: only a generator function '
                "(one that uses `yield ctx.{method}(...)`) can make durable calls.", frame.id)
        if frame.attempt.current is not frame:
            raise ResonateError(
                "CONTEXT_OUTSIDE_FUNCTION",
                f'ctx.{method}() was called on the context of promise "{frame.id}" while that function is not running; '
                "use the ctx your function received, inside it.", frame.id)
        return frame


def _check_timeout(ms: Optional[int], what: str) -> Optional[int]:
    if ms is None:
        return None
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not ms > 0 or not math.isfinite(ms):
        raise invalid_argument(f"{what}: a timeout must be a positive number of milliseconds, got {ms!r}.")
    return int(ms)
