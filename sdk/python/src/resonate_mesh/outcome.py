"""A settled promise as the value it stands for, an outcome as what is
stored, and the comparison of a replayed call with its record (the same
rules as the TypeScript SDK's outcome.ts and calls.ts)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from . import codec
from .errors import PromiseCanceledError, PromiseTimedOutError, ResonateError, remote_error
from .records import SCOPE, TARGET, TIMER, PromiseRecord


@dataclass
class Outcome:
    ok: bool
    value: Any = None
    error: Optional[BaseException] = None


def outcome_of(record: PromiseRecord) -> Outcome:
    """A settled promise as the value it stands for (or the error it raises)."""
    try:
        if record.state == "resolved":
            return Outcome(True, codec.decode(record.value, record.id))
        if record.state == "rejected":
            error = codec.decode(record.value, record.id)
            if not isinstance(error, BaseException):
                # Another language rejected with a plain value: keep it on the error.
                error = remote_error("Error", str(error), None, {"value": error})
            return Outcome(False, error=error)
        if record.state == "rejected_canceled":
            return Outcome(False, error=PromiseCanceledError(record.id, codec.decode(record.value, record.id)))
        if record.state == "rejected_timedout":
            return Outcome(False, error=PromiseTimedOutError(record.id, record.timeout_at))
        raise RuntimeError(f'promise "{record.id}" is still pending')
    except Exception as err:  # undecodable
        return Outcome(False, error=err)


def settlement_of(outcome: Outcome, promise_id: str) -> Tuple[str, bytes]:
    """How an outcome is stored: a result that cannot be encoded becomes a rejection saying so."""
    if outcome.ok:
        try:
            return "resolved", codec.encode(outcome.value, "the result", promise_id)
        except ResonateError as err:
            return "rejected", _encode_error(err, promise_id)
    return "rejected", _encode_error(outcome.error, promise_id)


def _encode_error(error: Any, promise_id: str) -> bytes:
    try:
        return codec.encode(error, "the error", promise_id)
    except ResonateError:
        # Its fields cannot be stored: keep what a person needs to read it.
        return codec.encode(remote_error(type(error).__name__, str(error)), "the error", promise_id)


def _kind_of(tags: Dict[str, str]) -> str:
    if tags.get(TIMER) == "true":
        return "sleep"
    if tags.get(SCOPE) == "local":
        return "run"
    if TARGET in tags:
        return "rpc"
    return "promise"


def _parse(param: bytes) -> Optional[dict]:
    if not param:
        return None
    try:
        parsed = json.loads(param.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _canonical(value: Any) -> str:
    """JSON with sorted keys and integral floats as ints, so two languages' encodings of one value compare equal."""
    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer() and abs(v) <= codec.MAX_SAFE_INTEGER:
            return int(v)
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v
    return json.dumps(norm(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same_call(kind: str, param: bytes, recorded: PromiseRecord) -> bool:
    if _kind_of(recorded.tags) != kind:
        return False
    # A sleep's length and a latent promise's data may be computed from the clock; only their position counts.
    if kind in ("sleep", "promise"):
        return True
    if recorded.param == param:
        return True
    a, b = _parse(recorded.param), _parse(param)
    if a is None or b is None:
        return False
    return a.get("func") == b.get("func") and _canonical(a.get("args", [])) == _canonical(b.get("args", []))


def describe_call(tags: Dict[str, str], param: bytes) -> str:
    kind = _kind_of(tags)
    call = _parse(param) or {}
    func = call.get("func") if isinstance(call.get("func"), str) else "?"
    args = ", ".join(_canonical(a)[:60] for a in call.get("args", [])) if isinstance(call.get("args"), list) else ""
    if kind == "sleep":
        return "ctx.sleep(...)"
    if kind == "promise":
        return "ctx.promise()"
    if kind == "run":
        return f"ctx.run({func}{', ' + args if args else ''})"
    return f'ctx.rpc("{func}"{", " + args if args else ""})'
