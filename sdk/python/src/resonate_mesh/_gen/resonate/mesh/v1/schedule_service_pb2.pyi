from resonate_mesh._gen.resonate.mesh.v1 import records_pb2 as _records_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScheduleServiceGetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ScheduleServiceGetResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: _records_pb2.Schedule
    def __init__(self, schedule: _Optional[_Union[_records_pb2.Schedule, _Mapping]] = ...) -> None: ...

class ScheduleServiceCreateRequest(_message.Message):
    __slots__ = ("id", "cron", "promise_id", "promise_timeout", "promise_param", "promise_tags")
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
    id: str
    cron: str
    promise_id: str
    promise_timeout: int
    promise_param: _records_pb2.Value
    promise_tags: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., cron: _Optional[str] = ..., promise_id: _Optional[str] = ..., promise_timeout: _Optional[int] = ..., promise_param: _Optional[_Union[_records_pb2.Value, _Mapping]] = ..., promise_tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ScheduleServiceCreateResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: _records_pb2.Schedule
    def __init__(self, schedule: _Optional[_Union[_records_pb2.Schedule, _Mapping]] = ...) -> None: ...

class ScheduleServiceDeleteRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ScheduleServiceDeleteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ScheduleServiceSearchRequest(_message.Message):
    __slots__ = ("tags", "id", "limit", "cursor")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.ScalarMap[str, str]
    id: str
    limit: int
    cursor: str
    def __init__(self, tags: _Optional[_Mapping[str, str]] = ..., id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class ScheduleServiceSearchResponse(_message.Message):
    __slots__ = ("schedules", "cursor")
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[_records_pb2.Schedule]
    cursor: str
    def __init__(self, schedules: _Optional[_Iterable[_Union[_records_pb2.Schedule, _Mapping]]] = ..., cursor: _Optional[str] = ...) -> None: ...
