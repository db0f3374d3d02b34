"""Values on the wire, exactly as the TypeScript SDK writes them
(sdk/src/codec.ts): `Value.data` is UTF-8 JSON (base64 only in the JSON
envelope protocol; over gRPC it is raw bytes). JSON cannot carry everything,
so some values travel as tagged objects `{"__type": ...}`:

| Python                         | wire                                                     | TypeScript            |
| ------------------------------ | -------------------------------------------------------- | --------------------- |
| None                           | null                                                     | null                  |
| int, abs(n) <= 2**53 - 1       | a JSON number                                            | number                |
| int beyond that                | {"__type":"bigint","value":"<decimal>"}                  | bigint                |
| float nan / -0.0               | {"__type":"number","value":"NaN" / "-0"}                 | NaN / -0              |
| float inf / -inf               | "__INF__" / "__NEG_INF__"                                | Infinity / -Infinity  |
| str, bool, list, tuple         | JSON                                                     | string, boolean, array|
| dict with str keys             | an object (wrapped in {"__type":"object","value":...}    | object                |
|                                | when it has its own "__type" key)                        |                       |
| dict with other keys           | {"__type":"map","entries":[[k,v],...]}                   | Map                   |
| set, frozenset                 | {"__type":"set","values":[...]}                          | Set                   |
| bytes, bytearray               | {"__type":"bytes","value":"<base64>"}                    | Uint8Array            |
| datetime                       | {"__type":"date","value":"2024-01-02T03:04:05.678Z"}     | Date                  |
| BaseException                  | {"__type":"error","name","message","stack"[,"props"]     | Error                 |
|                                | [,"cause"]} (ExceptionGroup: "aggregate_error" + errors) |                       |

`{"__type":"undefined"}` and empty data read as None. A bigint tag of a
small value (TypeScript `5n`) reads as the int 5. Anything else is refused
with the path of the part that cannot be stored, never silently dropped.
"""

from __future__ import annotations

import base64
import json
import math
import traceback
from datetime import datetime, timezone
from typing import Any, Optional

from .errors import RemoteError, not_deserializable, not_serializable, remote_error

MAX_SAFE_INTEGER = 2**53 - 1
INF = "__INF__"
NEG_INF = "__NEG_INF__"


def encode(value: Any, path: str = "value", promise_id: Optional[str] = None) -> bytes:
    """The bytes of `Value.data` for `value`."""
    return json.dumps(_Encoder(path, promise_id).encode(value), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def decode(data: bytes, promise_id: Optional[str] = None) -> Any:
    """The value of `Value.data`; empty data is None."""
    if not data:
        return None
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise not_deserializable(f"its data is not UTF-8 JSON ({err})", promise_id) from err
    return from_json(parsed)


class _Encoder:
    def __init__(self, root: str, promise_id: Optional[str]):
        self.root = root
        self.promise_id = promise_id
        self.steps: list = []
        self.seen: set = set()

    def refuse(self, what: str) -> Exception:
        path = self.root
        for step in self.steps:
            path = f"{path}{step}"
        return not_serializable(path, what, self.promise_id)

    def part(self, value: Any, step: str) -> Any:
        self.steps.append(step)
        try:
            return self.encode(value)
        finally:
            self.steps.pop()

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else {"__type": "bigint", "value": str(value)}
        if isinstance(value, float):
            if math.isnan(value):
                return {"__type": "number", "value": "NaN"}
            if math.isinf(value):
                return INF if value > 0 else NEG_INF
            if value == 0 and math.copysign(1.0, value) < 0:
                return {"__type": "number", "value": "-0"}
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return {"__type": "bytes", "value": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, datetime):
            return {"__type": "date", "value": iso(value)}
        key = id(value)
        if key in self.seen:
            raise self.refuse("a circular reference (the value contains itself)")
        self.seen.add(key)
        try:
            return self.container(value)
        finally:
            self.seen.discard(key)

    def container(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [self.part(v, f"[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value):
                out = {k: self.part(v, f"[{json.dumps(k, ensure_ascii=False)}]") for k, v in value.items()}
                return {"__type": "object", "value": out} if "__type" in out else out
            entries = []
            for i, (k, v) in enumerate(value.items()):
                entries.append([self.part(k, f"<map key {i}>"), self.part(v, f"<map value {i}>")])
            return {"__type": "map", "entries": entries}
        if isinstance(value, (set, frozenset)):
            return {"__type": "set", "values": [self.part(v, f"<set element {i}>") for i, v in enumerate(value)]}
        if isinstance(value, BaseException):
            return self.error(value)
        raise self.refuse(f"an instance of {type(value).__name__}, which the codec cannot store")

    def error(self, err: BaseException) -> Any:
        if isinstance(err, RemoteError):
            name, message, stack, props = err.name, err.message, err.stack, err.props
        else:
            name = type(err).__name__
            message = str(err.args[0]) if len(err.args) == 1 else str(err)
            stack = "".join(traceback.format_exception(type(err), err, err.__traceback__)) or None
            props = {k: v for k, v in vars(err).items() if not k.startswith("_")}
        group = isinstance(err, BaseExceptionGroup)
        out: dict = {"__type": "aggregate_error" if group else "error", "name": name, "message": message, "stack": stack}
        if group:
            out["errors"] = self.part(list(err.exceptions), ".errors")
        cause = err.__cause__
        if cause is not None:
            out["cause"] = self.part(cause, ".cause")
        if props:
            out["props"] = {k: self.part(v, f".{k}") for k, v in props.items()}
        return out


def iso(value: datetime) -> str:
    """JavaScript's Date.toISOString(): UTC, milliseconds, `Z` (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def from_json(json_value: Any) -> Any:
    if json_value == INF:
        return math.inf
    if json_value == NEG_INF:
        return -math.inf
    if isinstance(json_value, list):
        return [from_json(v) for v in json_value]
    if not isinstance(json_value, dict):
        return json_value
    kind = json_value.get("__type")
    if kind == "undefined":
        return None
    if kind == "number":
        return -0.0 if json_value.get("value") == "-0" else math.nan
    if kind == "bigint":
        return int(json_value["value"])
    if kind == "date":
        text = json_value.get("value")
        if text is None:
            return None  # an invalid Date
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    if kind == "map":
        out = {}
        for k, v in json_value.get("entries", []):
            out[_hashable(from_json(k))] = from_json(v)
        return out
    if kind == "set":
        values = [from_json(v) for v in json_value.get("values", [])]
        try:
            return set(values)
        except TypeError:
            return values
    if kind == "bytes":
        return base64.b64decode(json_value["value"])
    if kind in ("error", "aggregate_error"):
        return error_from_json(json_value)
    if kind == "object":
        return {k: from_json(v) for k, v in json_value["value"].items()}
    return {k: from_json(v) for k, v in json_value.items()}


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, set):
        return frozenset(value)
    return value


def error_from_json(json_value: dict) -> RemoteError:
    name = json_value.get("name") if isinstance(json_value.get("name"), str) else "Error"
    message = json_value.get("message") if isinstance(json_value.get("message"), str) else ""
    stack = json_value.get("stack") if isinstance(json_value.get("stack"), str) else None
    raw_props = json_value.get("props")
    props = {k: from_json(v) for k, v in raw_props.items()} if isinstance(raw_props, dict) else {}
    err = remote_error(name, message, stack, props)
    if json_value.get("__type") == "aggregate_error":
        err.errors = from_json(json_value.get("errors", []))  # type: ignore[attr-defined]
    if "cause" in json_value:
        err.__cause__ = from_json(json_value["cause"])  # type: ignore[assignment]
    return err
