"""Trace context: a Python worker carries the `traceparent` of the promise it runs into the promises it creates."""

import time
import uuid

from resonate_mesh import Resonate
from resonate_mesh._gen.resonate.mesh.v1 import promise_service_pb2 as ps
from resonate_mesh._gen.resonate.mesh.v1 import records_pb2 as rec

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACESTATE = "vendor=value"


def test_the_children_of_a_traced_promise_carry_its_trace_context(node_url, client):
    worker = Resonate(node_url, group="py-traced", ttl=5000)

    def step(ctx, x):
        return x * 2

    def flow(ctx, x):
        return (yield ctx.run(step, x))

    worker.register(step, name="tracedStep")
    worker.register(flow, name="tracedFlow")
    assert worker.wait_until_connected(30)
    try:
        root = f"py-trace-{uuid.uuid4().hex[:8]}"
        t = client.transport
        # The root as a traced caller creates it: its param headers hold the caller's trace context.
        t.call(t.promises.Create, "PromiseService.Create", ps.PromiseServiceCreateRequest(
            id=root, timeout_at=int(time.time() * 1000) + 60_000,
            param=rec.Value(data=client._invocation(root, "tracedFlow", [21], 1, None),
                            headers={"traceparent": TRACEPARENT, "tracestate": TRACESTATE}),
            tags=client._root_tags(root, "poll://any@py-traced", None)), root)
        assert client.get(root).result(60) == 42
        child = t.call(t.promises.Get, "PromiseService.Get", ps.PromiseServiceGetRequest(id=f"{root}.0"), root).promise
        assert dict(child.param.headers) == {"traceparent": TRACEPARENT, "tracestate": TRACESTATE}
    finally:
        worker.stop()
