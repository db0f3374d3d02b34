"""Promise records as the core sees them: plain data, decoupled from the
generated protobuf classes (the core never touches gRPC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from ._gen.resonate.mesh.v1 import records_pb2

# Tags with a meaning (see records.proto, Promise.tags).
TARGET = "resonate:target"
TIMER = "resonate:timer"
ORIGIN = "resonate:origin"
BRANCH = "resonate:branch"
PARENT = "resonate:parent"
SCOPE = "resonate:scope"

# The W3C trace context a promise's param headers carry (the TypeScript SDK and the node read and write them).
TRACE_HEADERS = ("traceparent", "tracestate")

_STATES = {
    records_pb2.PROMISE_STATE_PENDING: "pending",
    records_pb2.PROMISE_STATE_RESOLVED: "resolved",
    records_pb2.PROMISE_STATE_REJECTED: "rejected",
    records_pb2.PROMISE_STATE_REJECTED_CANCELED: "rejected_canceled",
    records_pb2.PROMISE_STATE_REJECTED_TIMEDOUT: "rejected_timedout",
}


@dataclass(frozen=True)
class PromiseRecord:
    id: str
    state: str
    param: bytes = b""
    value: bytes = b""
    tags: Dict[str, str] = field(default_factory=dict)
    timeout_at: int = 0
    created_at: int = 0
    settled_at: Optional[int] = None
    param_headers: Dict[str, str] = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    def trace_context(self) -> Dict[str, str]:
        """The trace context of this promise's param headers, for the promises created while it runs."""
        return {k: self.param_headers[k] for k in TRACE_HEADERS if k in self.param_headers}


def from_proto(p: records_pb2.Promise) -> PromiseRecord:
    return PromiseRecord(
        id=p.id,
        state=_STATES.get(p.state, "pending"),
        param=bytes(p.param.data),
        value=bytes(p.value.data),
        tags=dict(p.tags),
        timeout_at=p.timeout_at,
        created_at=p.created_at,
        settled_at=p.settled_at if p.HasField("settled_at") else None,
        param_headers=dict(p.param.headers),
    )
