from resonate_mesh._gen.resonate.mesh.v1 import records_pb2 as _records_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PromiseServiceGetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class PromiseServiceGetResponse(_message.Message):
    __slots__ = ("promise",)
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    promise: _records_pb2.Promise
    def __init__(self, promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ...) -> None: ...

class PromiseServiceCreateRequest(_message.Message):
    __slots__ = ("id", "timeout_at", "param", "tags", "settled")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_AT_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SETTLED_FIELD_NUMBER: _ClassVar[int]
    id: str
    timeout_at: int
    param: _records_pb2.Value
    tags: _containers.ScalarMap[str, str]
    settled: Settlement
    def __init__(self, id: _Optional[str] = ..., timeout_at: _Optional[int] = ..., param: _Optional[_Union[_records_pb2.Value, _Mapping]] = ..., tags: _Optional[_Mapping[str, str]] = ..., settled: _Optional[_Union[Settlement, _Mapping]] = ...) -> None: ...

class Settlement(_message.Message):
    __slots__ = ("state", "value")
    STATE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    state: _records_pb2.SettleState
    value: _records_pb2.Value
    def __init__(self, state: _Optional[_Union[_records_pb2.SettleState, str]] = ..., value: _Optional[_Union[_records_pb2.Value, _Mapping]] = ...) -> None: ...

class PromiseServiceCreateResponse(_message.Message):
    __slots__ = ("promise",)
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    promise: _records_pb2.Promise
    def __init__(self, promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ...) -> None: ...

class PromiseServiceSettleRequest(_message.Message):
    __slots__ = ("id", "state", "value")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: _records_pb2.SettleState
    value: _records_pb2.Value
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[_records_pb2.SettleState, str]] = ..., value: _Optional[_Union[_records_pb2.Value, _Mapping]] = ...) -> None: ...

class PromiseServiceSettleResponse(_message.Message):
    __slots__ = ("promise",)
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    promise: _records_pb2.Promise
    def __init__(self, promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ...) -> None: ...

class PromiseServiceRegisterCallbackRequest(_message.Message):
    __slots__ = ("awaited", "awaiter")
    AWAITED_FIELD_NUMBER: _ClassVar[int]
    AWAITER_FIELD_NUMBER: _ClassVar[int]
    awaited: str
    awaiter: str
    def __init__(self, awaited: _Optional[str] = ..., awaiter: _Optional[str] = ...) -> None: ...

class PromiseServiceRegisterCallbackResponse(_message.Message):
    __slots__ = ("promise",)
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    promise: _records_pb2.Promise
    def __init__(self, promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ...) -> None: ...

class PromiseServiceRegisterListenerRequest(_message.Message):
    __slots__ = ("awaited", "address")
    AWAITED_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    awaited: str
    address: str
    def __init__(self, awaited: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class PromiseServiceRegisterListenerResponse(_message.Message):
    __slots__ = ("promise",)
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    promise: _records_pb2.Promise
    def __init__(self, promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ...) -> None: ...

class PromiseServiceSearchRequest(_message.Message):
    __slots__ = ("state", "tags", "id", "limit", "cursor")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STATE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    state: _records_pb2.PromiseState
    tags: _containers.ScalarMap[str, str]
    id: str
    limit: int
    cursor: str
    def __init__(self, state: _Optional[_Union[_records_pb2.PromiseState, str]] = ..., tags: _Optional[_Mapping[str, str]] = ..., id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class PromiseServiceSearchResponse(_message.Message):
    __slots__ = ("promises", "cursor")
    PROMISES_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    promises: _containers.RepeatedCompositeFieldContainer[_records_pb2.Promise]
    cursor: str
    def __init__(self, promises: _Optional[_Iterable[_Union[_records_pb2.Promise, _Mapping]]] = ..., cursor: _Optional[str] = ...) -> None: ...

class PromiseServiceWatchRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class PromiseServiceWatchResponse(_message.Message):
    __slots__ = ("promise",)
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    promise: _records_pb2.Promise
    def __init__(self, promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ...) -> None: ...
