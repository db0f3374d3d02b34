"""Round-trip latency of a Python leaf called from a TypeScript workflow.

Starts a node (`resonate dev`), the TypeScript test worker and a Python
worker, then times N sequential executions started from a Python client:
`tsCallsPy` (a TS workflow whose one step is `ctx.rpc("pyDouble")` on the
Python group) against `tsCallsTs` (the same workflow calling a TS leaf).
Each execution: create, dispatch to TS, TS fences the child and suspends,
Python acquires, runs and fulfils, TS resumes and fulfils, the client's
Watch sees the result.

    sdk/python/.venv/bin/python sdk/python/bench/ts_to_py_latency.py [N]
"""

import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import start_node, start_ts_worker  # noqa: E402
from workers.functions import register_all  # noqa: E402

from resonate_mesh import Resonate  # noqa: E402


def measure(client, func, n):
    times = []
    for i in range(n):
        started = time.perf_counter()
        assert client.rpc(f"lat-{func}-{uuid.uuid4().hex[:8]}", func, i, target="ts-group").result(60) == 2 * i
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times):
    ordered = sorted(times)
    return (f"median {statistics.median(times):.1f} ms, p90 {ordered[int(len(ordered) * 0.9) - 1]:.1f} ms, "
            f"min {ordered[0]:.1f} ms, max {ordered[-1]:.1f} ms (n={len(times)})")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    node, url = start_node()
    ts = start_ts_worker(url, "ts-group", "py-group")
    py = Resonate(url, group="py-group", ttl=10_000)
    register_all(py, "ts-group")
    py.wait_until_connected(30)
    client = Resonate(url, group="py-client")
    try:
        measure(client, "tsCallsPy", 5)  # warm-up
        measure(client, "tsCallsTs", 5)
        print("TS workflow -> Python leaf:", summary(measure(client, "tsCallsPy", n)))
        print("TS workflow -> TS leaf:    ", summary(measure(client, "tsCallsTs", n)))
    finally:
        client.stop()
        py.stop()
        ts.stop()
        node.stop()


if __name__ == "__main__":
    main()
