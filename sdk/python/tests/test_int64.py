"""64-bit times sent by Python: int64 max (how Go, Rust and Java say "never")
is accepted on gRPC and on the JSON envelope and read back exactly; any time
from 2^53 on means never and reads back as int64 max."""

import json
import urllib.request
import uuid

from conftest import PY_GROUP
from resonate_mesh._gen.resonate.mesh.v1 import promise_service_pb2 as ps
from resonate_mesh._gen.resonate.mesh.v1 import records_pb2 as rec

INT64_MAX = 2**63 - 1


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(client, promise_id, timeout_at, param=b"", tags=None):
    t = client.transport
    return t.call(t.promises.Create, "PromiseService.Create", ps.PromiseServiceCreateRequest(
        id=promise_id, timeout_at=timeout_at, param=rec.Value(data=param), tags=tags or {}), promise_id)


def test_a_timeout_at_of_int64_max_is_accepted_over_grpc_and_read_back_exactly(client):
    promise_id = uid("never")
    assert create(client, promise_id, INT64_MAX).promise.timeout_at == INT64_MAX
    record = client.promises.get(promise_id)
    assert (record.state, record.timeout_at) == ("pending", INT64_MAX)


def test_a_timeout_at_from_2_pow_53_on_means_never_and_reads_back_as_int64_max(client):
    promise_id = uid("far")
    assert create(client, promise_id, 2**53).promise.timeout_at == INT64_MAX
    assert client.promises.get(promise_id).timeout_at == INT64_MAX


def test_a_timeout_at_of_int64_max_is_accepted_on_the_json_envelope_and_written_back_exactly(node_url):
    promise_id = uid("never-json")

    def post(kind, data):
        body = json.dumps({"kind": kind, "head": {"corrId": "c1", "version": "2026-04-01"}, "data": data}).encode()
        request = urllib.request.Request(f"{node_url}/", data=body, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as res:
            return res.status, res.read().decode()

    status, text = post("promise.create", {"id": promise_id, "timeoutAt": INT64_MAX})
    assert status == 200 and f'"timeoutAt":{INT64_MAX}' in text
    _, text = post("promise.get", {"id": promise_id})
    # Python's json reads integers exactly: the answer holds int64 max, not a rounded 2^63.
    assert json.loads(text)["data"]["promise"]["timeoutAt"] == INT64_MAX


def test_a_python_workflow_started_with_a_never_timeout_reads_it_from_ctx_and_its_children_run(client, py_worker, ts_worker):
    promise_id = uid("never-flow")
    invocation = json.dumps({"func": "pyTimeoutAt", "args": [], "version": 1}).encode()
    tags = {"resonate:origin": promise_id, "resonate:branch": promise_id, "resonate:parent": promise_id,
            "resonate:scope": "global", "resonate:target": f"poll://any@{PY_GROUP}"}
    create(client, promise_id, INT64_MAX, invocation, tags)
    got = client.get(promise_id).result(60)
    assert got == {"timeoutAt": INT64_MAX, "step": "ran", "rpc": 16}
