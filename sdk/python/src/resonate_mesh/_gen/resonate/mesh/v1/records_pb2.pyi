from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PromiseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROMISE_STATE_UNSPECIFIED: _ClassVar[PromiseState]
    PROMISE_STATE_PENDING: _ClassVar[PromiseState]
    PROMISE_STATE_RESOLVED: _ClassVar[PromiseState]
    PROMISE_STATE_REJECTED: _ClassVar[PromiseState]
    PROMISE_STATE_REJECTED_CANCELED: _ClassVar[PromiseState]
    PROMISE_STATE_REJECTED_TIMEDOUT: _ClassVar[PromiseState]

class SettleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SETTLE_STATE_UNSPECIFIED: _ClassVar[SettleState]
    SETTLE_STATE_RESOLVED: _ClassVar[SettleState]
    SETTLE_STATE_REJECTED: _ClassVar[SettleState]
    SETTLE_STATE_REJECTED_CANCELED: _ClassVar[SettleState]

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    TASK_STATE_PENDING: _ClassVar[TaskState]
    TASK_STATE_ACQUIRED: _ClassVar[TaskState]
    TASK_STATE_SUSPENDED: _ClassVar[TaskState]
    TASK_STATE_HALTED: _ClassVar[TaskState]
    TASK_STATE_FULFILLED: _ClassVar[TaskState]
PROMISE_STATE_UNSPECIFIED: PromiseState
PROMISE_STATE_PENDING: PromiseState
PROMISE_STATE_RESOLVED: PromiseState
PROMISE_STATE_REJECTED: PromiseState
PROMISE_STATE_REJECTED_CANCELED: PromiseState
PROMISE_STATE_REJECTED_TIMEDOUT: PromiseState
SETTLE_STATE_UNSPECIFIED: SettleState
SETTLE_STATE_RESOLVED: SettleState
SETTLE_STATE_REJECTED: SettleState
SETTLE_STATE_REJECTED_CANCELED: SettleState
TASK_STATE_UNSPECIFIED: TaskState
TASK_STATE_PENDING: TaskState
TASK_STATE_ACQUIRED: TaskState
TASK_STATE_SUSPENDED: TaskState
TASK_STATE_HALTED: TaskState
TASK_STATE_FULFILLED: TaskState

class Value(_message.Message):
    __slots__ = ("headers", "data")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    headers: _containers.ScalarMap[str, str]
    data: bytes
    def __init__(self, headers: _Optional[_Mapping[str, str]] = ..., data: _Optional[bytes] = ...) -> None: ...

class Promise(_message.Message):
    __slots__ = ("id", "state", "param", "value", "tags", "timeout_at", "created_at", "settled_at")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SETTLED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: PromiseState
    param: Value
    value: Value
    tags: _containers.ScalarMap[str, str]
    timeout_at: int
    created_at: int
    settled_at: int
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[PromiseState, str]] = ..., param: _Optional[_Union[Value, _Mapping]] = ..., value: _Optional[_Union[Value, _Mapping]] = ..., tags: _Optional[_Mapping[str, str]] = ..., timeout_at: _Optional[int] = ..., created_at: _Optional[int] = ..., settled_at: _Optional[int] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "state", "version", "resumes", "pid", "ttl")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RESUMES_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: TaskState
    version: int
    resumes: _containers.RepeatedScalarFieldContainer[str]
    pid: str
    ttl: int
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., version: _Optional[int] = ..., resumes: _Optional[_Iterable[str]] = ..., pid: _Optional[str] = ..., ttl: _Optional[int] = ...) -> None: ...

class TaskRef(_message.Message):
    __slots__ = ("id", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("id", "cron", "promise_id", "promise_timeout", "promise_param", "promise_tags", "created_at", "next_run_at", "last_run_at")
    class PromiseTagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    PROMISE_ID_FIELD_NUMBER: _ClassVar[int]
    PROMISE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PROMISE_PARAM_FIELD_NUMBER: _ClassVar[int]
    PROMISE_TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    cron: str
    promise_id: str
    promise_timeout: int
    promise_param: Value
    promise_tags: _containers.ScalarMap[str, str]
    created_at: int
    next_run_at: int
    last_run_at: int
    def __init__(self, id: _Optional[str] = ..., cron: _Optional[str] = ..., promise_id: _Optional[str] = ..., promise_timeout: _Optional[int] = ..., promise_param: _Optional[_Union[Value, _Mapping]] = ..., promise_tags: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[int] = ..., next_run_at: _Optional[int] = ..., last_run_at: _Optional[int] = ...) -> None: ...
