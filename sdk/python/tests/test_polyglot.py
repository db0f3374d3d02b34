"""Python and TypeScript workers call each other by name through a real node."""

import uuid

import pytest

from conftest import PY_GROUP, TS_GROUP
from resonate_mesh import RemoteError

TIMEOUT = 60


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_a_typescript_workflow_calls_a_python_function_with_ctx_rpc(client, ts_worker, py_worker):
    assert client.rpc(uid("ts-calls-py"), "tsCallsPy", 21, target=TS_GROUP).result(TIMEOUT) == 42


def test_a_python_workflow_calls_a_typescript_function_with_ctx_rpc_and_a_target(client, ts_worker, py_worker):
    assert client.rpc(uid("py-calls-ts"), "pyCallsTs", "tsDouble", 8, target=PY_GROUP).result(TIMEOUT) == 16


VALUES = {
    "unicode": "héllo wörld ✓ 🌍 日本語",
    "largest exact number": 2**53 - 1,
    "big int": 2**64 + 1,
    "negative big int": -(2**70),
    "nested": {"a": [1, {"b": None, "c": [True, False]}], "d": {"e": "f", "g": 1.5}},
    "none": None,
}


@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
def test_a_value_sent_from_python_to_typescript_and_back_is_unchanged(client, ts_worker, py_worker, value):
    back = client.rpc(uid("echo"), "pyCallsTs", "tsEcho", value, target=PY_GROUP).result(TIMEOUT)
    assert back == value and type(back) is type(value)


def test_typescript_reads_python_ints_beyond_2_pow_53_as_bigint_and_smaller_ones_as_numbers(client, ts_worker, py_worker):
    kinds = client.rpc(uid("kind"), "pyCallsTs", "tsKind", [2**53 - 1, 2**53, None, "s"], target=PY_GROUP).result(TIMEOUT)
    assert kinds == ["number", "bigint", "null", "string"]


def test_a_value_sent_from_typescript_to_python_and_back_is_unchanged(client, ts_worker, py_worker):
    value = {"text": "ünïcode ✓", "big": 2**60, "list": [None, 1, "x"]}
    got = client.rpc(uid("ts-echo-py"), "tsEchoesThroughPy", value, target=TS_GROUP).result(TIMEOUT)
    assert got["back"] == value
    assert got["kind"] == {"text": "string", "big": "bigint", "list": ["null", "number", "string"]}


def test_a_typescript_error_reaches_python_with_its_name_and_message(client, ts_worker, py_worker):
    with pytest.raises(RemoteError) as info:
        client.rpc(uid("ts-throws"), "pyCallsTs", "tsThrow", "TypeError", "bad input", target=PY_GROUP).result(TIMEOUT)
    assert (info.value.name, info.value.message) == ("TypeError", "bad input")
    assert isinstance(info.value, TypeError)


def test_a_typescript_error_with_a_custom_name_keeps_it_in_python(client, ts_worker, py_worker):
    with pytest.raises(RemoteError) as info:
        client.rpc(uid("ts-custom"), "pyCallsTs", "tsThrow", "PaymentDeclined", "card expired", target=PY_GROUP).result(TIMEOUT)
    assert (info.value.name, info.value.message) == ("PaymentDeclined", "card expired")


def test_a_python_error_reaches_typescript_as_an_error_with_its_name_and_message(client, ts_worker, py_worker):
    got = client.rpc(uid("ts-catches"), "tsCatchesPy", "nope", target=TS_GROUP).result(TIMEOUT)
    assert got == {"name": "ValueError", "message": "nope", "isError": True, "code": None}


def test_a_python_workflow_fans_out_to_typescript_with_spawn_and_gathers_the_results_in_order(client, ts_worker, py_worker):
    assert client.rpc(uid("fan-out"), "pyFansOutToTs", [1, 2, 3, 4], target=PY_GROUP).result(TIMEOUT) == [2, 4, 6, 8]
