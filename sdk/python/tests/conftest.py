import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import start_node, start_ts_worker  # noqa: E402

from resonate_mesh import Resonate  # noqa: E402

TS_GROUP = "ts-group"
PY_GROUP = "py-group"


@pytest.fixture(scope="session")
def node_url():
    proc, url = start_node()
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def ts_worker(node_url):
    proc = start_ts_worker(node_url, TS_GROUP, PY_GROUP)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def py_worker(node_url):
    """A Python worker in this process (its own client, its own Poll stream) with the functions TypeScript calls."""
    import workers.functions as functions

    resonate = Resonate(node_url, group=PY_GROUP, ttl=5000)
    functions.register_all(resonate, TS_GROUP)
    assert resonate.wait_until_connected(30)
    yield resonate
    resonate.stop()


@pytest.fixture
def client(node_url):
    """A client that registers nothing (no Poll stream): starts executions and reads results."""
    resonate = Resonate(node_url, group="py-client", ttl=5000)
    yield resonate
    resonate.stop()
