"""The worker's life: reconnecting to a node that was not there, stopping gracefully, refusing bad input."""

import threading
import time
import uuid

import pytest

from resonate_mesh import Resonate, ResonateError
from support import free_port, start_node


def test_a_worker_started_before_its_node_connects_once_the_node_is_up_and_runs_work():
    port = free_port()
    worker = Resonate(f"http://127.0.0.1:{port}", group="early", ttl=5000)
    worker.register(lambda ctx, x: x + 1, name="inc")
    time.sleep(1.0)  # a few failed connection attempts
    node, url = start_node(port)
    try:
        assert worker.wait_until_connected(30)
        client = Resonate(url, group="early-client")
        assert client.rpc(f"early-{uuid.uuid4().hex[:8]}", "inc", 1, target="early").result(60) == 2
        client.stop()
    finally:
        worker.stop()
        node.stop()


def test_stop_lets_a_running_function_finish_before_it_returns(node_url, client):
    worker = Resonate(node_url, group="draining", ttl=5000, stop_grace_s=30)
    started = threading.Event()

    def slow_step(ctx):
        started.set()
        time.sleep(1.0)
        return "done"

    def flow(ctx):
        return (yield ctx.run(slow_step))

    worker.register(flow, name="slowFlow")
    assert worker.wait_until_connected(30)
    handle = client.rpc(f"drain-{uuid.uuid4().hex[:8]}", "slowFlow", target="draining")
    assert started.wait(30)
    worker.stop()
    assert handle.result(10) == "done"


def test_register_refuses_an_anonymous_function_without_a_name(node_url):
    resonate = Resonate(node_url, group="bad-input")
    with pytest.raises(ResonateError) as info:
        resonate.register(lambda ctx: None)
    assert info.value.code == "INVALID_ARGUMENT" and "name=" in str(info.value)
    resonate.stop()


def test_a_group_with_a_slash_is_refused_naming_the_field():
    with pytest.raises(ResonateError) as info:
        Resonate("http://127.0.0.1:1", group="a/b")
    assert "group" in str(info.value)
