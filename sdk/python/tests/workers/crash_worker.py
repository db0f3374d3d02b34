"""A Python worker for the crash tests: workflows of local steps around an
rpc to TypeScript; each step appends a line to COUNT_FILE when it runs, and
step1 blocks while HOLD_FILE exists (so the test can kill the worker there)."""

import os
import signal
import sys
import time

from resonate_mesh import Resonate

resonate = Resonate(os.environ["RESONATE_URL"], group=os.environ.get("PY_GROUP", "py-crash"), ttl=3000)  # short, so the test waits little after the SIGKILL


def count(path, line):
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def step0(ctx, path):
    count(path, "step0")
    return "s0"


def step1(ctx, path, hold):
    count(path, "step1-start")
    while os.path.exists(hold):
        time.sleep(0.05)
    count(path, "step1-done")
    return "s1"


def step2(ctx, path):
    count(path, "step2")
    return "s2"


@resonate.register(name="pyCrashFlow")
def crash_flow(ctx, path, hold, ts_group):
    a = yield ctx.run(step0, path)
    b = yield ctx.rpc("tsCounted", 41, target=ts_group)
    c = yield ctx.run(step1, path, hold)
    d = yield ctx.run(step2, path)
    return [a, b, c, d]


@resonate.register(name="pyCrashAroundTsFlow")
def crash_around_ts_flow(ctx, path, hold, ts_group):
    """Starts a TypeScript workflow, then blocks in step1 while that workflow runs too."""
    a = yield ctx.run(step0, path)
    flow = yield ctx.rpc("tsHeldFlow", hold, 41, target=ts_group).spawn()
    c = yield ctx.run(step1, path, hold)
    b = yield flow
    d = yield ctx.run(step2, path)
    return [a, b, c, d]


resonate.wait_until_connected(30)
print("python worker ready", flush=True)
signal.signal(signal.SIGTERM, lambda *_: (resonate.stop(), sys.exit(0)))
while True:
    time.sleep(1)
