"""The replay core: one Attempt is one run of a task at one version, as a
pure state machine. It does no I/O: `start()` and `step(result)` return the
next Command (send a fenced create, run a plain function, wait, suspend,
read a promise, fulfil) and the runner (worker.py) carries it out and feeds
back its Result. The attempt ends with a `Finished` command.

Durable functions are generator functions: `value = yield ctx.run(step, x)`.
Because the core decides when to resume a generator, suspension never
travels through user code (no exception a `try` could swallow): a generator
waiting on a pending remote child is simply never resumed; the next attempt
replays it from the start. Steps run one at a time in the worker's
thread, so when the running function waits on pending remote children
(one, or a list of spawned futures), nothing else can progress and the
attempt suspends on every one of them at once.

Replay mirrors the TypeScript SDK (sdk/src/core.ts): child ids are
`{parent}.{n}` in call order; a child found settled in the cache (the
acquire's preload, fenced answers) returns its recorded outcome without
running; a plain-function `ctx.run` step that has no record runs here and is
recorded with ONE fenced create of an already-settled promise; a remote child
(rpc, sleep, latent promise) is a fenced create, and awaiting it while it is
pending suspends the task; a replayed call whose recorded kind, function or
arguments differ is a NON_DETERMINISTIC error naming the id, and it also
becomes the root's outcome.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .context import Call, Context, Future, PromiseCall, RpcCall, RunCall, SleepCall
from .errors import PromiseTimedOutError, ResonateError, ServerError, invalid_argument, non_deterministic
from .outcome import Outcome, describe_call, outcome_of, same_call, settlement_of
from .records import BRANCH, ORIGIN, PARENT, SCOPE, TARGET, TIMER, PromiseRecord
from .retry import DEFAULT_RUN_RETRY, Retry

DAY_MS = 24 * 60 * 60 * 1000

# ------------------------------------------------------------------ commands (out)


@dataclass
class CreatePromise:
    """TaskService.Fence with a create. `settled` = (state, value) records a finished local step."""
    id: str
    timeout_at: int
    param: bytes
    tags: Dict[str, str]
    settled: Optional[Tuple[str, bytes]] = None


@dataclass
class SettlePromise:
    """TaskService.Fence with a settle."""
    id: str
    state: str
    value: bytes


@dataclass
class RunLeaf:
    """Call `fn(ctx, *args)` (a plain function) here; answer with its return value or exception."""
    id: str
    fn: Callable[..., Any]
    ctx: "Context"
    args: List[Any]


@dataclass
class Wait:
    """Wait `ms` before a retry."""
    ms: float


@dataclass
class Suspend:
    """TaskService.Suspend with a callback (awaiter = the task) on each awaited id."""
    awaited: List[str]


@dataclass
class GetPromise:
    id: str


@dataclass
class Fulfill:
    """TaskService.Fulfill: settle the root."""
    state: str
    value: bytes


@dataclass
class Finished:
    """The attempt is over: completed (record = the settled root), suspended,
    lost (the task is someone else's now) or failed (release it so it runs again)."""
    kind: str
    record: Optional[PromiseRecord] = None
    error: Optional[BaseException] = None


Command = Union[CreatePromise, SettlePromise, RunLeaf, Wait, Suspend, GetPromise, Fulfill, Finished]

# ------------------------------------------------------------------ results (in)


@dataclass
class Result:
    """The answer to a command. For CreatePromise/SettlePromise: value =
    (record, preload); Suspend: (redirect, preload); GetPromise and Fulfill:
    the record; RunLeaf: the function's return value; Wait: None. A failure
    carries the exception (a ServerError for a refusal)."""
    ok: bool
    value: Any = None
    error: Optional[BaseException] = None


# ------------------------------------------------------------------ frames


@dataclass
class Frame:
    """One durable function (the root or a ctx.run child) within the attempt."""
    attempt: "Attempt"
    id: str
    fn: Callable[..., Any]
    args: List[Any]
    name: str
    version: int
    timeout_at: int
    parent_id: str
    policy: Retry
    parent: Optional["Frame"] = None
    # How the outcome is recorded: "fulfill" (root), "create" or "settle" (a child with a pending record).
    record_as: str = "fulfill"
    param: bytes = b""
    tags: Dict[str, str] = field(default_factory=dict)
    tries: int = 1
    seq: int = 0
    gen: Any = None
    leaf: bool = False
    spawned: bool = False

    def next_id(self) -> str:
        child = f"{self.id}.{self.seq}"
        self.seq += 1
        return child


Step = Union[Command, Callable[[], Any]]


class Attempt:
    """The state machine of one attempt. `registry_lookup(fn)` gives the
    (name, version) a function is registered under, or None; `now()` the
    time in ms (injected, so tests can fix it)."""

    MAX_REDIRECTS = 5

    def __init__(self, root: PromiseRecord, preload: List[PromiseRecord], fn: Callable[..., Any], args: List[Any],
                 name: str, version: int, policy: Retry, timer_target: str,
                 registry_lookup: Callable[[Callable[..., Any]], Optional[Tuple[str, int]]],
                 now: Callable[[], int]):
        self.root = root
        self.cache: Dict[str, PromiseRecord] = {}
        self.merge(preload)
        self.timer_target = timer_target
        self.registry_lookup = registry_lookup
        self.now = now
        self.current: Optional[Frame] = None
        self.poison: Optional[ResonateError] = None
        self._k: Optional[Callable[[Result], Step]] = None
        self._root_frame = Frame(self, root.id, fn, list(args), name, version, root.timeout_at,
                                 root.tags.get(PARENT, root.id), policy)

    @property
    def origin_id(self) -> str:
        return self.root.tags.get(ORIGIN, self.root.id)

    @property
    def branch_id(self) -> str:
        return self.root.tags.get(BRANCH, self.root.id)

    # -------------------------------------------------------------- driving

    def start(self) -> Command:
        return self._drive(lambda: self._begin(self._root_frame))

    def step(self, result: Result) -> Command:
        k, self._k = self._k, None
        if k is None:
            return Finished("failed", error=RuntimeError("step() called after the attempt finished"))
        return self._drive(lambda: k(result))

    def _drive(self, step: Step) -> Command:
        """Trampoline: internal steps return the next step instead of calling it, so a long replay needs no deep stack."""
        try:
            while callable(step):
                step = step()
        except Exception as err:  # a bug in the core must not kill the worker: release the task
            return Finished("failed", error=err)
        return step

    def _expect(self, command: Command, k: Callable[[Result], Step]) -> Command:
        self._k = k
        return command

    def merge(self, records: List[PromiseRecord]) -> None:
        for r in records:
            known = self.cache.get(r.id)
            if known is None or known.pending:
                self.cache[r.id] = r

    # -------------------------------------------------------------- functions

    def _begin(self, frame: Frame) -> Step:
        if frame.timeout_at - self.now() <= 0:
            # Past its deadline already (a replay after the timeout): it does not run at all.
            return lambda: self._frame_done(frame, Outcome(False, error=PromiseTimedOutError(frame.id, frame.timeout_at)))
        frame.seq = 0
        frame.gen = None
        if inspect.isgeneratorfunction(frame.fn):
            frame.leaf = False
            try:
                frame.gen = frame.fn(Context(frame), *frame.args)
            except Exception as err:  # wrong arguments
                failed = Outcome(False, error=err)
                return lambda: self._try_end(frame, failed)
            return lambda: self._advance(frame, Outcome(True, None))
        frame.leaf = True
        return self._expect(RunLeaf(frame.id, frame.fn, Context(frame), frame.args),
                            lambda r: self._try_end(frame, Outcome(r.ok, r.value, r.error)))

    def _advance(self, frame: Frame, outcome: Outcome) -> Step:
        """Resume a generator with a child's outcome, up to its next yield or its end."""
        self.current = frame
        try:
            if outcome.ok:
                item = frame.gen.send(outcome.value)
            else:
                item = frame.gen.throw(outcome.error)
        except StopIteration as stop:
            returned = Outcome(True, stop.value)
            return lambda: self._try_end(frame, returned)
        except Exception as err:
            # (bound first: `err` is unset once the except block ends, and the lambda runs later)
            raised = Outcome(False, error=err)
            return lambda: self._try_end(frame, raised)
        finally:
            self.current = None
        if isinstance(item, Future):
            return lambda: self._await(frame, [item], False, 0)
        if isinstance(item, (list, tuple)) and all(isinstance(f, Future) for f in item):
            return lambda: self._await(frame, list(item), True, 0)
        if not isinstance(item, Call):
            return lambda: self._advance(frame, Outcome(False, error=invalid_argument(
                f'durable function "{frame.id}" yielded {type(item).__name__}; yield only what ctx.run, ctx.rpc, '
                "ctx.sleep and ctx.promise return, their .spawn() futures, or a list of futures.", frame.id)))
        if item.frame is not frame:
            return lambda: self._advance(frame, Outcome(False, error=ResonateError(
                "CONTEXT_OUTSIDE_FUNCTION", f'"{frame.id}" yielded a call made by another function\'s context ("{item.frame.id}").', frame.id)))
        if item.used:
            return lambda: self._advance(frame, Outcome(False, error=ResonateError(
                "FUTURE_ALREADY_AWAITED", f'the call of promise "{item.id}" was yielded twice; keep the value of the first yield.', item.id)))
        item.used = True
        return lambda: self._child(frame, item)

    def _try_end(self, frame: Frame, outcome: Outcome) -> Step:
        """A try of a function ended: retry it when its policy allows, else record its outcome."""
        if not outcome.ok and self.poison is None and _retryable(outcome.error):
            delay = frame.policy.delay(frame.tries)
            if delay is not None and self.now() + delay < frame.timeout_at:
                frame.tries += 1
                return self._expect(Wait(delay), lambda _r: self._begin(frame))
        return lambda: self._frame_done(frame, outcome)

    def _frame_done(self, frame: Frame, outcome: Outcome) -> Step:
        if frame.parent is None:
            final = Outcome(False, error=self.poison) if self.poison is not None else outcome
            state, value = settlement_of(final, frame.id)
            return self._expect(Fulfill(state, value), self._on_fulfilled)
        state, value = settlement_of(outcome, frame.id)
        parent = frame.parent
        if frame.record_as == "settle":
            command: Command = SettlePromise(frame.id, state, value)
        else:
            command = CreatePromise(frame.id, frame.timeout_at, frame.param, frame.tags, (state, value))

        def recorded(r: Result) -> Step:
            got = self._fenced(r)
            if isinstance(got, Finished):
                return got
            if frame.spawned:
                future = Future(parent, frame.id, got if isinstance(got, BaseException) else None)
                return lambda: self._advance(parent, Outcome(True, future))
            if isinstance(got, BaseException):
                return lambda: self._advance(parent, Outcome(False, error=got))
            return lambda: self._advance(parent, outcome_of(got))

        return self._expect(command, recorded)

    def _on_fulfilled(self, r: Result) -> Step:
        if r.ok:
            return Finished("completed", record=r.value)
        if _lost(r.error):
            return Finished("lost", error=r.error)
        return Finished("failed", error=r.error)

    # -------------------------------------------------------------- children

    def _child(self, frame: Frame, call: Call) -> Step:
        def failed(error: BaseException) -> Step:
            if call.spawned:  # the future fails when it is awaited
                future = Future(frame, call.id, error)
                return lambda: self._advance(frame, Outcome(True, future))
            return lambda: self._advance(frame, Outcome(False, error=error))

        def exists() -> Step:
            """The child is durable (recorded, settled or pending): its value, a wait, or a future."""
            if call.spawned:
                future = Future(frame, call.id)
                return lambda: self._advance(frame, Outcome(True, future))
            return lambda: self._await(frame, [Future(frame, call.id)], False, 0)

        if call.error is not None:
            return failed(call.error)
        tags = self._tags_of(call, frame)
        recorded = self.cache.get(call.id)
        if recorded is not None:
            mismatch = self._compare(call, tags, recorded)
            if mismatch is not None:
                return failed(mismatch)
            if not recorded.pending:
                return exists()
        if isinstance(call, RunCall):
            child = Frame(self, call.id, call.fn, call.args, call.name, call.version,
                          self._timeout_of(frame, call.timeout), frame.id, call.retry or DEFAULT_RUN_RETRY,
                          parent=frame, record_as="create" if recorded is None else "settle", param=call.param,
                          tags=tags, spawned=call.spawned)
            return lambda: self._begin(child)
        if recorded is not None:
            return exists()
        now = self.now()
        if isinstance(call, SleepCall):
            timeout_at = min(now + call.ms, frame.timeout_at)
        else:
            timeout_at = self._timeout_of(frame, call.timeout if call.timeout is not None else DAY_MS)

        def created(r: Result) -> Step:
            got = self._fenced(r)
            if isinstance(got, Finished):
                return got
            if isinstance(got, BaseException):
                return failed(got)
            mismatch = self._compare(call, tags, got)
            if mismatch is not None:
                return failed(mismatch)
            return exists()

        return self._expect(CreatePromise(call.id, timeout_at, call.param, tags), created)

    def _fenced(self, r: Result) -> Union[PromiseRecord, BaseException, Finished]:
        """A fenced write's answer: the record, the inner operation's error, or the end of the attempt."""
        if not r.ok:
            if _lost(r.error):
                return Finished("lost", error=r.error)
            return r.error  # type: ignore[return-value]
        record, preload = r.value
        self.merge(preload)
        self.cache[record.id] = record
        return record

    def _await(self, frame: Frame, futures: List[Future], as_list: bool, redirects: int) -> Step:
        """The function waits on children: resume it once all are settled, else suspend the task on the pending ones."""
        for f in futures:
            if f.frame is not frame:
                return lambda: self._advance(frame, Outcome(False, error=ResonateError(
                    "CONTEXT_OUTSIDE_FUNCTION", f'"{frame.id}" yielded a future of another function ("{f.frame.id}").', frame.id)))
        pending = [f.id for f in futures if f.failed is None and (self.cache.get(f.id) is None or self.cache[f.id].pending)]
        if not pending:
            outcomes = [Outcome(False, error=f.failed) if f.failed is not None else outcome_of(self.cache[f.id])
                        for f in futures]
            if not as_list:
                return lambda: self._advance(frame, outcomes[0])
            first_failure = next((o for o in outcomes if not o.ok), None)
            result = first_failure or Outcome(True, [o.value for o in outcomes])
            return lambda: self._advance(frame, result)

        def answered(r: Result) -> Step:
            if not r.ok:
                return Finished("lost" if _lost(r.error) else "failed", error=r.error)
            redirect, preload = r.value
            if not redirect:
                return Finished("suspended")
            # Redirect (300): something settled meanwhile; this attempt goes on. Remote children have
            # their own branch, so those the preload does not hold are read one by one.
            self.merge(preload)
            return lambda: read([i for i in pending if self.cache.get(i) is None or self.cache[i].pending])

        def read(unknown: List[str]) -> Step:
            if not unknown:
                still = [i for i in pending if self.cache.get(i) is None or self.cache[i].pending]
                stuck = redirects + 1 if len(still) == len(pending) else 0  # a redirect without progress
                if stuck >= self.MAX_REDIRECTS:
                    return Finished("failed", error=RuntimeError(f"suspend on {pending} kept redirecting while they read pending"))
                return lambda: self._await(frame, futures, as_list, stuck)

            def got(r: Result) -> Step:
                if r.ok:
                    self.merge([r.value])
                return lambda: read(unknown[1:])

            return self._expect(GetPromise(unknown[0]), got)

        return self._expect(Suspend(pending), answered)

    def _timeout_of(self, frame: Frame, relative: Optional[int]) -> int:
        return frame.timeout_at if relative is None else min(self.now() + relative, frame.timeout_at)

    def _tags_of(self, call: Call, frame: Frame) -> Dict[str, str]:
        base = {ORIGIN: self.origin_id, PARENT: frame.id}
        if isinstance(call, RunCall):
            return {**base, SCOPE: "local", BRANCH: self.branch_id}
        if isinstance(call, RpcCall):
            return {**(call.tags or {}), **base, SCOPE: "global", BRANCH: call.id, TARGET: call.target}
        if isinstance(call, SleepCall):
            return {**base, SCOPE: "global", BRANCH: call.id, TARGET: self.timer_target, TIMER: "true"}
        assert isinstance(call, PromiseCall)
        return {**(call.tags or {}), **base, SCOPE: "global", BRANCH: call.id}

    def _compare(self, call: Call, tags: Dict[str, str], recorded: PromiseRecord) -> Optional[ResonateError]:
        if same_call(call.kind, call.param, recorded):
            return None
        error = non_deterministic(call.id, describe_call(recorded.tags, recorded.param),
                                  describe_call(tags, call.param))
        if self.poison is None:
            self.poison = error
        return error


# ------------------------------------------------------------------ helpers


def _lost(error: Optional[BaseException]) -> bool:
    return isinstance(error, ServerError) and error.task_lost


_NOT_RETRYABLE = {"NON_DETERMINISTIC", "NOT_SERIALIZABLE", "CONTEXT_OUTSIDE_FUNCTION", "FUTURE_ALREADY_AWAITED",
                  "PROMISE_TIMED_OUT"}


def _retryable(error: Optional[BaseException]) -> bool:
    return not (isinstance(error, ResonateError) and error.code in _NOT_RETRYABLE)
