"""A node that answers 503 UNAVAILABLE ("retry later") for a while, as a
JetStream node does while its store is out of reach (a stream electing a new
leader; here: NATS not started yet, so the node serves, is not ready, and
answers every request 503). The client retries such an answer within
`unavailable_retry_s`, as it retries a lost connection."""

import logging
import threading

from support import free_port, start_nats, start_unready_node

from resonate_mesh import Resonate
from resonate_mesh.errors import ServerError


def test_a_call_the_node_answers_unavailable_is_retried_until_the_node_can_answer_it(caplog):
    nats_port = free_port()
    node, url = start_unready_node(nats_port)
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
    node, url = start_unready_node(free_port())
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
