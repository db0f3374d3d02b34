"""The codec writes exactly what the TypeScript SDK's codec (sdk/src/codec.ts) writes."""

import json
import math
from datetime import datetime, timezone

import pytest

from resonate_mesh import RemoteError, ResonateError
from resonate_mesh import codec


def wire(value):
    return json.loads(codec.encode(value))


def test_integers_within_2_pow_53_are_json_numbers():
    assert wire(2**53 - 1) == 2**53 - 1
    assert wire(-(2**53 - 1)) == -(2**53 - 1)


def test_integers_beyond_2_pow_53_are_tagged_bigints_with_a_decimal_string():
    assert wire(2**53) == {"__type": "bigint", "value": str(2**53)}
    assert wire(-(2**70)) == {"__type": "bigint", "value": str(-(2**70))}


def test_a_tagged_bigint_of_any_size_reads_as_an_int():
    assert codec.decode(b'{"__type":"bigint","value":"5"}') == 5
    assert codec.decode(b'{"__type":"bigint","value":"-123456789012345678901234567890"}') == -123456789012345678901234567890


def test_unicode_is_utf8_json():
    assert codec.encode("héllo ✓ 🌍") == '"héllo ✓ 🌍"'.encode("utf-8")


def test_special_floats_use_the_typescript_tags():
    assert wire(math.inf) == "__INF__"
    assert wire(-math.inf) == "__NEG_INF__"
    assert wire(math.nan) == {"__type": "number", "value": "NaN"}
    assert wire(-0.0) == {"__type": "number", "value": "-0"}
    assert math.isnan(codec.decode(codec.encode(math.nan)))


def test_a_dict_with_its_own_type_key_is_wrapped_so_it_is_not_read_as_a_tag():
    assert wire({"__type": "bigint", "value": "1"}) == {"__type": "object", "value": {"__type": "bigint", "value": "1"}}
    assert codec.decode(codec.encode({"__type": "bigint", "value": "1"})) == {"__type": "bigint", "value": "1"}


def test_sets_maps_bytes_and_dates_use_the_typescript_tags():
    assert wire({1, 2}) == {"__type": "set", "values": [1, 2]}
    assert wire({1: "a"}) == {"__type": "map", "entries": [[1, "a"]]}
    assert wire(b"\x00\xff") == {"__type": "bytes", "value": "AP8="}
    when = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert wire(when) == {"__type": "date", "value": "2024-01-02T03:04:05.678Z"}
    assert codec.decode(codec.encode(when)) == when


def test_undefined_and_empty_data_read_as_none():
    assert codec.decode(b"") is None
    assert codec.decode(b'{"__type":"undefined"}') is None


def test_an_exception_is_stored_with_name_message_and_stack():
    stored = wire(ValueError("bad amount"))
    assert stored["__type"] == "error"
    assert stored["name"] == "ValueError"
    assert stored["message"] == "bad amount"
    assert "stack" in stored


def test_an_error_reads_back_with_its_name_and_message_and_as_the_builtin_when_there_is_one():
    err = codec.decode(b'{"__type":"error","name":"TypeError","message":"x is not a function","stack":null}')
    assert isinstance(err, RemoteError) and isinstance(err, TypeError)
    assert (err.name, err.message) == ("TypeError", "x is not a function")
    custom = codec.decode(b'{"__type":"error","name":"PaymentDeclined","message":"no","stack":null,"props":{"code":42}}')
    assert (custom.name, custom.message, custom.code) == ("PaymentDeclined", "no", 42)


def test_an_object_the_codec_cannot_store_is_refused_with_its_path():
    with pytest.raises(ResonateError) as info:
        codec.encode({"order": [1, object()]}, "args[0]")
    assert info.value.code == "NOT_SERIALIZABLE"
    assert 'args[0]["order"][1]' in str(info.value)
