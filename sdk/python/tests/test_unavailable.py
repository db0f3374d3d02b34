"""A node that answers 503 UNAVAILABLE ("retry later") for a while, as a
JetStream node does while its store is out of reach (a stream electing a new
leader; here: NATS not started yet, so the node serves, is not ready, and
answers every request 503; or NATS crashed while a leaf ran). The client
retries such an answer within `unavailable_retry_s`, as it retries a lost
connection."""

import logging
import tempfile
import threading
import time

from support import free_port, ready_status, start_jetstream_node, start_nats, wait_until

from resonate_mesh import Resonate
from resonate_mesh.errors import ServerError


def test_a_call_the_node_answers_unavailable_is_retried_until_the_node_can_answer_it(caplog):
    nats_port = free_port()
    node, url = start_jetstream_node(nats_port, ready=False)
    nats = None
    client = Resonate(url, group="py-unavailable", unavailable_retry_s=120, stop_grace_s=0)
    try:
        outcome: dict = {}

        def create() -> None:
            try:
                outcome["handle"] = client.rpc("py-unavailable-1", "nowhere", target="poll://any@nobody")
            except Exception as err:  # noqa: BLE001 - the assertion below names it
                outcome["error"] = err

        with caplog.at_level(logging.WARNING, logger="resonate_mesh"):
            call = threading.Thread(target=create)
            call.start()
            # The node answers 503 meanwhile: the call is still being retried, neither returned nor failed.
            call.join(1.5)
            assert call.is_alive(), f"the call ended while the node answered 503: {outcome}"

            nats, _ = start_nats(nats_port)
            call.join(120)
            assert not call.is_alive(), "the call did not end within 120 s of NATS being up"

        assert "error" not in outcome, f"the call failed: {outcome.get('error')!r}"
        assert client.promises.get("py-unavailable-1").pending
        outage = [r for r in caplog.records if r.levelno == logging.WARNING and "unavailable" in r.getMessage()]
        assert len(outage) == 1, [r.getMessage() for r in outage]
    finally:
        client.stop()
        node.stop()
        if nats is not None:
            nats.stop()


def test_a_node_that_stays_unavailable_fails_the_call_once_the_window_ends():
    node, url = start_jetstream_node(free_port(), ready=False)
    client = Resonate(url, group="py-unavailable", unavailable_retry_s=1)
    try:
        try:
            client.promises.get("py-unavailable-2")
            raise AssertionError("the call succeeded against a node that answers 503")
        except ServerError as err:
            assert err.grpc_code == "UNAVAILABLE"
    finally:
        client.stop()
        node.stop()


def test_a_leaf_that_ends_while_nats_is_down_is_fulfilled_once_nats_is_back_and_runs_once():
    nats_port = free_port()
    store = tempfile.mkdtemp(prefix="resonate-py-nats-")
    nats, _ = start_nats(nats_port, store)
    node, url = start_jetstream_node(nats_port)
    worker = Resonate(url, group="py-failover", ttl=120_000, unavailable_retry_s=120, stop_grace_s=0)
    started, finish, runs = threading.Event(), threading.Event(), []

    def leaf(_ctx, name):
        runs.append(name)
        started.set()
        finish.wait(60)
        return f"hello {name}"

    try:
        worker.register(leaf, name="leaf")
        handle = worker.run("py-failover-1", leaf, "Ada")
        assert started.wait(30), "the leaf did not start"

        nats.crash()
        wait_until("the node to notice NATS is gone (/ready 503)", lambda: ready_status(url) == 503, 60)
        finish.set()  # its fulfil now meets a node that answers 503 (or does not answer in time)
        time.sleep(1.5)
        nats, _ = start_nats(nats_port, store)

        assert handle.result(120) == "hello Ada"
        assert runs == ["Ada"], "the leaf ran again: its fulfil was taken for a failure"
    finally:
        finish.set()
        worker.stop()
        node.stop()
        nats.stop()
