"""Durable behaviour of Python workflows: sleep, latent promises, and replay after a crash."""

import os
import uuid
from collections import Counter

from conftest import PY_GROUP
from resonate_mesh import ServerError
from support import start_py_worker, start_ts_worker, temp_path, wait_until


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_ctx_sleep_resumes_the_workflow_after_the_timer(client, py_worker):
    slept = client.rpc(uid("sleep"), "pySleeps", 400, target=PY_GROUP).result(60)
    assert slept >= 400


def test_a_latent_promise_settled_from_outside_gives_its_value_to_the_workflow(client, py_worker):
    root = uid("latent")
    handle = client.rpc(root, "pyAwaitsLatent", target=PY_GROUP)
    latent = f"{root}.0"

    def exists():
        try:
            client.promises.get(latent)
            return True
        except ServerError as err:
            assert err.protocol_code == "PROMISE_NOT_FOUND"
            return False

    wait_until(f"the latent promise {latent}", exists, 30)
    client.promises.resolve(latent, {"approved": True, "by": "Zoë"})
    assert handle.result(60) == {"promise": latent, "got": {"approved": True, "by": "Zoë"}}


def test_a_workflow_killed_mid_step_is_finished_by_another_worker_and_each_completed_step_ran_once(client, node_url):
    count_file, hold_file = temp_path("count"), temp_path("hold")
    open(hold_file, "w").close()
    group, ts_group = "py-crash", "ts-crash"
    ts = start_ts_worker(node_url, ts_group, group, count_file)
    first = start_py_worker("crash_worker.py", node_url, PY_GROUP=group)

    def lines():
        return open(count_file, encoding="utf-8").read().split() if os.path.exists(count_file) else []

    handle = client.rpc(uid("crash"), "pyCrashFlow", count_file, hold_file, f"poll://any@{ts_group}", target=group)
    wait_until("step1 to start on the first worker", lambda: "step1-start" in lines(), 60)
    first.crash()
    os.remove(hold_file)
    second = start_py_worker("crash_worker.py", node_url, PY_GROUP=group)
    try:
        assert handle.result(60) == ["s0", 42, "s1", "s2"]
    finally:
        second.stop()
        ts.stop()
    assert Counter(lines()) == {"step0": 1, "tsCounted": 1, "step1-start": 2, "step1-done": 1, "step2": 1}


def test_a_workflow_killed_while_the_typescript_workflow_it_called_runs_is_finished_by_another_worker_and_that_workflow_started_once(
        client, node_url):
    count_file, hold_file = temp_path("count"), temp_path("hold")
    open(hold_file, "w").close()
    group, ts_group = "py-crash-flow", "ts-crash-flow"
    ts = start_ts_worker(node_url, ts_group, group, count_file)
    first = start_py_worker("crash_worker.py", node_url, PY_GROUP=group)

    def lines():
        return open(count_file, encoding="utf-8").read().split() if os.path.exists(count_file) else []

    root = uid("crash-flow")
    handle = client.rpc(root, "pyCrashAroundTsFlow", count_file, hold_file, f"poll://any@{ts_group}", target=group)
    # Both run now: the Python workflow in step1, the TypeScript workflow it spawned in its own step.
    wait_until("step1 and the TypeScript workflow to start",
               lambda: "step1-start" in lines() and "tsFlow-start" in lines(), 60)
    first.crash()
    os.remove(hold_file)
    second = start_py_worker("crash_worker.py", node_url, PY_GROUP=group)
    try:
        assert handle.result(60) == ["s0", 42, "s1", "s2"]
    finally:
        second.stop()
        ts.stop()
    assert Counter(lines()) == {"step0": 1, "step1-start": 2, "step1-done": 1, "step2": 1,
                                "tsFlow-start": 1, "tsFlow-done": 1}
    # The replay found the TypeScript workflow by its child id rather than starting another.
    assert client.promises.get(f"{root}.1").state == "resolved"
