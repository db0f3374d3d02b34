from resonate_mesh._gen.resonate.mesh.v1 import promise_service_pb2 as _promise_service_pb2
from resonate_mesh._gen.resonate.mesh.v1 import records_pb2 as _records_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskServiceCreateRequest(_message.Message):
    __slots__ = ("pid", "ttl", "action")
    PID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    pid: str
    ttl: int
    action: _promise_service_pb2.PromiseServiceCreateRequest
    def __init__(self, pid: _Optional[str] = ..., ttl: _Optional[int] = ..., action: _Optional[_Union[_promise_service_pb2.PromiseServiceCreateRequest, _Mapping]] = ...) -> None: ...

class TaskServiceCreateResponse(_message.Message):
    __slots__ = ("task", "promise", "preload")
    TASK_FIELD_NUMBER: _ClassVar[int]
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    PRELOAD_FIELD_NUMBER: _ClassVar[int]
    task: _records_pb2.Task
    promise: _records_pb2.Promise
    preload: _containers.RepeatedCompositeFieldContainer[_records_pb2.Promise]
    def __init__(self, task: _Optional[_Union[_records_pb2.Task, _Mapping]] = ..., promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ..., preload: _Optional[_Iterable[_Union[_records_pb2.Promise, _Mapping]]] = ...) -> None: ...

class TaskServiceAcquireRequest(_message.Message):
    __slots__ = ("id", "version", "pid", "ttl")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    pid: str
    ttl: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., pid: _Optional[str] = ..., ttl: _Optional[int] = ...) -> None: ...

class TaskServiceAcquireResponse(_message.Message):
    __slots__ = ("task", "promise", "preload")
    TASK_FIELD_NUMBER: _ClassVar[int]
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    PRELOAD_FIELD_NUMBER: _ClassVar[int]
    task: _records_pb2.Task
    promise: _records_pb2.Promise
    preload: _containers.RepeatedCompositeFieldContainer[_records_pb2.Promise]
    def __init__(self, task: _Optional[_Union[_records_pb2.Task, _Mapping]] = ..., promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ..., preload: _Optional[_Iterable[_Union[_records_pb2.Promise, _Mapping]]] = ...) -> None: ...

class TaskServiceSuspendRequest(_message.Message):
    __slots__ = ("id", "version", "actions")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    actions: _containers.RepeatedCompositeFieldContainer[_promise_service_pb2.PromiseServiceRegisterCallbackRequest]
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., actions: _Optional[_Iterable[_Union[_promise_service_pb2.PromiseServiceRegisterCallbackRequest, _Mapping]]] = ...) -> None: ...

class TaskServiceSuspendResponse(_message.Message):
    __slots__ = ("redirect", "preload")
    REDIRECT_FIELD_NUMBER: _ClassVar[int]
    PRELOAD_FIELD_NUMBER: _ClassVar[int]
    redirect: bool
    preload: _containers.RepeatedCompositeFieldContainer[_records_pb2.Promise]
    def __init__(self, redirect: _Optional[bool] = ..., preload: _Optional[_Iterable[_Union[_records_pb2.Promise, _Mapping]]] = ...) -> None: ...

class TaskServiceFulfillRequest(_message.Message):
    __slots__ = ("id", "version", "action", "actions")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    action: _promise_service_pb2.PromiseServiceSettleRequest
    actions: _containers.RepeatedCompositeFieldContainer[FencedWrite]
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., action: _Optional[_Union[_promise_service_pb2.PromiseServiceSettleRequest, _Mapping]] = ..., actions: _Optional[_Iterable[_Union[FencedWrite, _Mapping]]] = ...) -> None: ...

class TaskServiceFulfillResponse(_message.Message):
    __slots__ = ("promise", "results")
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    promise: _records_pb2.Promise
    results: _containers.RepeatedCompositeFieldContainer[FencedWriteResult]
    def __init__(self, promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ..., results: _Optional[_Iterable[_Union[FencedWriteResult, _Mapping]]] = ...) -> None: ...

class TaskServiceReleaseRequest(_message.Message):
    __slots__ = ("id", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class TaskServiceReleaseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TaskServiceFenceRequest(_message.Message):
    __slots__ = ("id", "version", "create", "settle")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_FIELD_NUMBER: _ClassVar[int]
    SETTLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    create: _promise_service_pb2.PromiseServiceCreateRequest
    settle: _promise_service_pb2.PromiseServiceSettleRequest
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., create: _Optional[_Union[_promise_service_pb2.PromiseServiceCreateRequest, _Mapping]] = ..., settle: _Optional[_Union[_promise_service_pb2.PromiseServiceSettleRequest, _Mapping]] = ...) -> None: ...

class TaskServiceFenceResponse(_message.Message):
    __slots__ = ("create", "settle", "preload")
    CREATE_FIELD_NUMBER: _ClassVar[int]
    SETTLE_FIELD_NUMBER: _ClassVar[int]
    PRELOAD_FIELD_NUMBER: _ClassVar[int]
    create: _promise_service_pb2.PromiseServiceCreateResponse
    settle: _promise_service_pb2.PromiseServiceSettleResponse
    preload: _containers.RepeatedCompositeFieldContainer[_records_pb2.Promise]
    def __init__(self, create: _Optional[_Union[_promise_service_pb2.PromiseServiceCreateResponse, _Mapping]] = ..., settle: _Optional[_Union[_promise_service_pb2.PromiseServiceSettleResponse, _Mapping]] = ..., preload: _Optional[_Iterable[_Union[_records_pb2.Promise, _Mapping]]] = ...) -> None: ...

class TaskServiceFenceBatchRequest(_message.Message):
    __slots__ = ("id", "version", "actions")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    actions: _containers.RepeatedCompositeFieldContainer[FencedWrite]
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., actions: _Optional[_Iterable[_Union[FencedWrite, _Mapping]]] = ...) -> None: ...

class FencedWrite(_message.Message):
    __slots__ = ("create", "settle")
    CREATE_FIELD_NUMBER: _ClassVar[int]
    SETTLE_FIELD_NUMBER: _ClassVar[int]
    create: _promise_service_pb2.PromiseServiceCreateRequest
    settle: _promise_service_pb2.PromiseServiceSettleRequest
    def __init__(self, create: _Optional[_Union[_promise_service_pb2.PromiseServiceCreateRequest, _Mapping]] = ..., settle: _Optional[_Union[_promise_service_pb2.PromiseServiceSettleRequest, _Mapping]] = ...) -> None: ...

class TaskServiceFenceBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[FencedWriteResult]
    def __init__(self, results: _Optional[_Iterable[_Union[FencedWriteResult, _Mapping]]] = ...) -> None: ...

class FencedWriteResult(_message.Message):
    __slots__ = ("create", "settle", "error")
    CREATE_FIELD_NUMBER: _ClassVar[int]
    SETTLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    create: _promise_service_pb2.PromiseServiceCreateResponse
    settle: _promise_service_pb2.PromiseServiceSettleResponse
    error: FencedWriteError
    def __init__(self, create: _Optional[_Union[_promise_service_pb2.PromiseServiceCreateResponse, _Mapping]] = ..., settle: _Optional[_Union[_promise_service_pb2.PromiseServiceSettleResponse, _Mapping]] = ..., error: _Optional[_Union[FencedWriteError, _Mapping]] = ...) -> None: ...

class FencedWriteError(_message.Message):
    __slots__ = ("kind", "status", "code", "message")
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    status: int
    code: str
    message: str
    def __init__(self, kind: _Optional[str] = ..., status: _Optional[int] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class TaskServiceHeartbeatRequest(_message.Message):
    __slots__ = ("pid", "tasks")
    PID_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    pid: str
    tasks: _containers.RepeatedCompositeFieldContainer[_records_pb2.TaskRef]
    def __init__(self, pid: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[_records_pb2.TaskRef, _Mapping]]] = ...) -> None: ...

class TaskServiceHeartbeatResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TaskServiceGetRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TaskServiceGetResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _records_pb2.Task
    def __init__(self, task: _Optional[_Union[_records_pb2.Task, _Mapping]] = ...) -> None: ...

class TaskServiceHaltRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TaskServiceHaltResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TaskServiceContinueRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TaskServiceContinueResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TaskServiceSearchRequest(_message.Message):
    __slots__ = ("state", "id", "limit", "cursor")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    state: _records_pb2.TaskState
    id: str
    limit: int
    cursor: str
    def __init__(self, state: _Optional[_Union[_records_pb2.TaskState, str]] = ..., id: _Optional[str] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class TaskServiceSearchResponse(_message.Message):
    __slots__ = ("tasks", "cursor")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_records_pb2.Task]
    cursor: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[_records_pb2.Task, _Mapping]]] = ..., cursor: _Optional[str] = ...) -> None: ...

class TaskServicePollRequest(_message.Message):
    __slots__ = ("group", "pid")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    group: str
    pid: str
    def __init__(self, group: _Optional[str] = ..., pid: _Optional[str] = ...) -> None: ...

class TaskServicePollResponse(_message.Message):
    __slots__ = ("execute", "unblock")
    EXECUTE_FIELD_NUMBER: _ClassVar[int]
    UNBLOCK_FIELD_NUMBER: _ClassVar[int]
    execute: Execute
    unblock: Unblock
    def __init__(self, execute: _Optional[_Union[Execute, _Mapping]] = ..., unblock: _Optional[_Union[Unblock, _Mapping]] = ...) -> None: ...

class Execute(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _records_pb2.TaskRef
    def __init__(self, task: _Optional[_Union[_records_pb2.TaskRef, _Mapping]] = ...) -> None: ...

class Unblock(_message.Message):
    __slots__ = ("promise",)
    PROMISE_FIELD_NUMBER: _ClassVar[int]
    promise: _records_pb2.Promise
    def __init__(self, promise: _Optional[_Union[_records_pb2.Promise, _Mapping]] = ...) -> None: ...
