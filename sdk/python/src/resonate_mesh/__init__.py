"""resonate-mesh for Python: durable functions over gRPC.

    from resonate_mesh import Resonate

    resonate = Resonate("http://127.0.0.1:8001", group="py")

    def charge(ctx, amount):            # a plain function: a leaf step
        return {"charged": amount}

    @resonate.register(name="order")
    def order(ctx, amount):             # a generator function: durable
        receipt = yield ctx.run(charge, amount)
        total = yield ctx.rpc("tax", amount, target="ts-workers")
        yield ctx.sleep(1_000)
        return [receipt, total]

The generated gRPC stubs are in `resonate_mesh._gen.resonate.mesh.v1`
(not a top-level `resonate` package, which belongs to the official Resonate
Python SDK).
"""

from .client import Handle, Promises, Resonate
from .context import Call, Context, Future, PromiseCall, RpcCall, RunCall, SleepCall
from .errors import (PromiseCanceledError, PromiseTimedOutError, RemoteError, ResonateError, ServerError,
                     Unavailable)
from .records import PromiseRecord
from .retry import Retry

__all__ = [
    "Call", "Context", "Future", "Handle", "PromiseCall", "PromiseCanceledError", "PromiseRecord", "PromiseTimedOutError",
    "Promises", "RemoteError", "Resonate", "ResonateError", "Retry", "RpcCall", "RunCall", "ServerError",
    "SleepCall", "Unavailable",
]
