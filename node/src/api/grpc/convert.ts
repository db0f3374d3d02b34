// Protobuf messages <-> protocol types, in both directions for every request
// kind, so the node (proto request -> protocol request, protocol response ->
// proto response) and clients such as the SDK's gRPC transport (the reverse)
// share one mapping. The only rules enforced here are the ones the protocol
// types cannot express: enum values that exist, required sub-messages, and
// int64 values that fit a JavaScript number. Everything else is the
// protocol's validation, so both adapters (gRPC, JSON envelope) answer alike.
// Points in time take the whole int64 range: the protocol's timeIn says what
// the large ones mean (never), and "never" leaves as INT64_MAX.

import { create } from "@bufbuild/protobuf";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  PromiseService,
  PromiseServiceCreateRequestSchema,
  PromiseServiceCreateResponseSchema,
  PromiseServiceGetRequestSchema,
  PromiseServiceGetResponseSchema,
  PromiseServiceRegisterCallbackRequestSchema,
  PromiseServiceRegisterCallbackResponseSchema,
  PromiseServiceRegisterListenerRequestSchema,
  PromiseServiceRegisterListenerResponseSchema,
  PromiseServiceSearchRequestSchema,
  PromiseServiceSearchResponseSchema,
  PromiseServiceSettleRequestSchema,
  PromiseServiceSettleResponseSchema,
} from "../../gen/resonate/mesh/v1/promise_service_pb.ts";
import type {
  PromiseServiceCreateRequest,
  PromiseServiceCreateResponse,
  PromiseServiceGetRequest,
  PromiseServiceGetResponse,
  PromiseServiceRegisterCallbackRequest,
  PromiseServiceRegisterCallbackResponse,
  PromiseServiceRegisterListenerRequest,
  PromiseServiceRegisterListenerResponse,
  PromiseServiceSearchRequest,
  PromiseServiceSearchResponse,
  PromiseServiceSettleRequest,
  PromiseServiceSettleResponse,
} from "../../gen/resonate/mesh/v1/promise_service_pb.ts";
import {
  PromiseSchema,
  PromiseState as PbPromiseState,
  ScheduleSchema,
  SettleState as PbSettleState,
  TaskRefSchema,
  TaskSchema,
  TaskState as PbTaskState,
  ValueSchema,
} from "../../gen/resonate/mesh/v1/records_pb.ts";
import type { Promise as PbPromise, Schedule as PbSchedule, Task as PbTask, Value as PbValue } from "../../gen/resonate/mesh/v1/records_pb.ts";
import {
  ScheduleService,
  ScheduleServiceCreateRequestSchema,
  ScheduleServiceCreateResponseSchema,
  ScheduleServiceDeleteRequestSchema,
  ScheduleServiceDeleteResponseSchema,
  ScheduleServiceGetRequestSchema,
  ScheduleServiceGetResponseSchema,
  ScheduleServiceSearchRequestSchema,
  ScheduleServiceSearchResponseSchema,
} from "../../gen/resonate/mesh/v1/schedule_service_pb.ts";
import type {
  ScheduleServiceCreateRequest,
  ScheduleServiceCreateResponse,
  ScheduleServiceDeleteRequest,
  ScheduleServiceDeleteResponse,
  ScheduleServiceGetRequest,
  ScheduleServiceGetResponse,
  ScheduleServiceSearchRequest,
  ScheduleServiceSearchResponse,
} from "../../gen/resonate/mesh/v1/schedule_service_pb.ts";
import {
  TaskService,
  TaskServiceAcquireRequestSchema,
  TaskServiceAcquireResponseSchema,
  TaskServiceContinueRequestSchema,
  TaskServiceContinueResponseSchema,
  TaskServiceCreateRequestSchema,
  TaskServiceCreateResponseSchema,
  FencedWriteResultSchema,
  FencedWriteSchema,
  TaskServiceFenceBatchRequestSchema,
  TaskServiceFenceBatchResponseSchema,
  TaskServiceFenceRequestSchema,
  TaskServiceFenceResponseSchema,
  TaskServiceFulfillRequestSchema,
  TaskServiceFulfillResponseSchema,
  TaskServiceGetRequestSchema,
  TaskServiceGetResponseSchema,
  TaskServiceHaltRequestSchema,
  TaskServiceHaltResponseSchema,
  TaskServiceHeartbeatRequestSchema,
  TaskServiceHeartbeatResponseSchema,
  TaskServicePollResponseSchema,
  TaskServiceReleaseRequestSchema,
  TaskServiceReleaseResponseSchema,
  TaskServiceSearchRequestSchema,
  TaskServiceSearchResponseSchema,
  TaskServiceSuspendRequestSchema,
  TaskServiceSuspendResponseSchema,
} from "../../gen/resonate/mesh/v1/task_service_pb.ts";
import type {
  TaskServiceAcquireRequest,
  TaskServiceAcquireResponse,
  TaskServiceContinueRequest,
  TaskServiceContinueResponse,
  TaskServiceCreateRequest,
  TaskServiceCreateResponse,
  FencedWrite,
  FencedWriteResult,
  TaskServiceFenceBatchRequest,
  TaskServiceFenceBatchResponse,
  TaskServiceFenceRequest,
  TaskServiceFenceResponse,
  TaskServiceFulfillRequest,
  TaskServiceFulfillResponse,
  TaskServiceGetRequest,
  TaskServiceGetResponse,
  TaskServiceHaltRequest,
  TaskServiceHaltResponse,
  TaskServiceHeartbeatRequest,
  TaskServiceHeartbeatResponse,
  TaskServicePollResponse,
  TaskServiceReleaseRequest,
  TaskServiceReleaseResponse,
  TaskServiceSearchRequest,
  TaskServiceSearchResponse,
  TaskServiceSuspendRequest,
  TaskServiceSuspendResponse,
} from "../../gen/resonate/mesh/v1/task_service_pb.ts";
import type {
  Kind,
  Message,
  PromiseCreateRequest,
  PromiseRecord,
  PromiseSettleRequest,
  PromiseState,
  ProtocolError,
  RequestOf,
  Response,
  ResponseDataMap,
  ScheduleRecord,
  TaskRecord,
  TaskState,
  Value,
} from "../../protocol/types.ts";
import { timeFromInt64, timeToInt64 } from "../../protocol/validate.ts";

// ---------------------------------------------------------------- errors

/** A request that cannot be mapped onto the protocol types: always INVALID_ARGUMENT. */
export class ConversionError extends Error {
  readonly error: ProtocolError;
  /** `rule` continues the sentence that starts with the field name. */
  constructor(field: string, rule: string) {
    super(`${field} ${rule}`);
    this.name = "ConversionError";
    this.error = { status: 400, code: "INVALID_ARGUMENT", message: `${field} ${rule}`, field };
  }
}

// ---------------------------------------------------------------- scalars and records

const MAX_MS = BigInt(Number.MAX_SAFE_INTEGER);

/** int64 (a count or a duration) -> number, refusing values a JavaScript number cannot hold exactly. */
function toNumber(value: bigint, field: string): number {
  if (value > MAX_MS || value < -MAX_MS) {
    throw new ConversionError(field, `must be between -(2^53 - 1) and 2^53 - 1 (${MAX_MS}), got ${value}`);
  }
  return Number(value);
}

function toBigInt(value: number): bigint {
  return BigInt(Math.trunc(value));
}

export function valueFromProto(value: PbValue | undefined): Value {
  if (value === undefined) return { headers: {}, data: "" };
  return { headers: { ...value.headers }, data: Buffer.from(value.data).toString("base64") };
}

export function valueToProto(value: Partial<Value> | undefined): PbValue {
  return create(ValueSchema, {
    headers: { ...(value?.headers ?? {}) },
    data: value?.data ? Buffer.from(value.data, "base64") : new Uint8Array(0),
  });
}

const promiseStates: Record<PromiseState, PbPromiseState> = {
  pending: PbPromiseState.PENDING,
  resolved: PbPromiseState.RESOLVED,
  rejected: PbPromiseState.REJECTED,
  rejected_canceled: PbPromiseState.REJECTED_CANCELED,
  rejected_timedout: PbPromiseState.REJECTED_TIMEDOUT,
};
const taskStates: Record<TaskState, PbTaskState> = {
  pending: PbTaskState.PENDING,
  acquired: PbTaskState.ACQUIRED,
  suspended: PbTaskState.SUSPENDED,
  halted: PbTaskState.HALTED,
  fulfilled: PbTaskState.FULFILLED,
};
const settleStates = {
  resolved: PbSettleState.RESOLVED,
  rejected: PbSettleState.REJECTED,
  rejected_canceled: PbSettleState.REJECTED_CANCELED,
} as const;
type SettleStateName = keyof typeof settleStates;

function invert<K extends string, V extends number>(map: Record<K, V>): Map<number, K> {
  return new Map(Object.entries(map).map(([k, v]) => [v as number, k as K]));
}
const promiseStateNames = invert(promiseStates);
const taskStateNames = invert(taskStates);
const settleStateNames = invert(settleStates);

function enumName<K>(names: Map<number, K>, value: number, field: string, allowed: string): K {
  const name = names.get(value);
  if (name === undefined) {
    throw new ConversionError(
      field,
      value === 0 ? `must be set to one of ${allowed}, got UNSPECIFIED` : `must be one of ${allowed}, got the unknown value ${value}`,
    );
  }
  return name;
}

/** A filter enum: UNSPECIFIED means "any". */
function optionalEnumName<K>(names: Map<number, K>, value: number, field: string, allowed: string): K | undefined {
  return value === 0 ? undefined : enumName(names, value, field, allowed);
}

const PROMISE_STATES = "PENDING, RESOLVED, REJECTED, REJECTED_CANCELED, REJECTED_TIMEDOUT";
const TASK_STATES = "PENDING, ACQUIRED, SUSPENDED, HALTED, FULFILLED";
const SETTLE_STATES = "RESOLVED, REJECTED, REJECTED_CANCELED";

export function promiseToProto(record: PromiseRecord): PbPromise {
  return create(PromiseSchema, {
    id: record.id,
    state: promiseStates[record.state],
    param: valueToProto(record.param),
    value: valueToProto(record.value),
    tags: { ...record.tags },
    timeoutAt: timeToInt64(record.timeoutAt),
    createdAt: timeToInt64(record.createdAt),
    ...(record.settledAt !== undefined ? { settledAt: timeToInt64(record.settledAt) } : {}),
  });
}

export function promiseFromProto(message: PbPromise): PromiseRecord {
  const record: PromiseRecord = {
    id: message.id,
    state: enumName(promiseStateNames, message.state, "promise.state", PROMISE_STATES),
    param: valueFromProto(message.param),
    value: valueFromProto(message.value),
    tags: { ...message.tags },
    timeoutAt: timeFromInt64(message.timeoutAt),
    createdAt: timeFromInt64(message.createdAt),
  };
  if (message.settledAt !== undefined) record.settledAt = timeFromInt64(message.settledAt);
  return record;
}

export function taskToProto(record: TaskRecord): PbTask {
  return create(TaskSchema, {
    id: record.id,
    state: taskStates[record.state],
    version: toBigInt(record.version),
    resumes: [...record.resumes],
    ...(record.pid !== undefined ? { pid: record.pid } : {}),
    ...(record.ttl !== undefined ? { ttl: toBigInt(record.ttl) } : {}),
  });
}

export function taskFromProto(message: PbTask): TaskRecord {
  const record: TaskRecord = {
    id: message.id,
    state: enumName(taskStateNames, message.state, "task.state", TASK_STATES),
    version: toNumber(message.version, "task.version"),
    resumes: [...message.resumes],
  };
  if (message.pid !== undefined) record.pid = message.pid;
  if (message.ttl !== undefined) record.ttl = toNumber(message.ttl, "task.ttl");
  return record;
}

export function scheduleToProto(record: ScheduleRecord): PbSchedule {
  return create(ScheduleSchema, {
    id: record.id,
    cron: record.cron,
    promiseId: record.promiseId,
    promiseTimeout: toBigInt(record.promiseTimeout),
    promiseParam: valueToProto(record.promiseParam),
    promiseTags: { ...record.promiseTags },
    createdAt: timeToInt64(record.createdAt),
    nextRunAt: timeToInt64(record.nextRunAt),
    ...(record.lastRunAt !== undefined ? { lastRunAt: timeToInt64(record.lastRunAt) } : {}),
  });
}

export function scheduleFromProto(message: PbSchedule): ScheduleRecord {
  const record: ScheduleRecord = {
    id: message.id,
    cron: message.cron,
    promiseId: message.promiseId,
    promiseTimeout: toNumber(message.promiseTimeout, "schedule.promise_timeout"),
    promiseParam: valueFromProto(message.promiseParam),
    promiseTags: { ...message.promiseTags },
    createdAt: timeFromInt64(message.createdAt),
    nextRunAt: timeFromInt64(message.nextRunAt),
  };
  if (message.lastRunAt !== undefined) record.lastRunAt = timeFromInt64(message.lastRunAt);
  return record;
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new ConversionError(field, "is required");
  return value;
}

function nonEmpty(value: string): string | undefined {
  return value === "" ? undefined : value;
}

function tagsOrUndefined(tags: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(tags).length === 0 ? undefined : { ...tags };
}

// ---------------------------------------------------------------- nested actions

function createDataFromProto(message: PromiseServiceCreateRequest, prefix: string): PromiseCreateRequest["data"] {
  const data: PromiseCreateRequest["data"] = {
    id: message.id,
    timeoutAt: timeFromInt64(message.timeoutAt),
    tags: { ...message.tags },
  };
  if (message.param !== undefined) data.param = valueFromProto(message.param);
  if (message.settled !== undefined) {
    const state = enumName(settleStateNames, message.settled.state, `${prefix}settled.state`, "RESOLVED, REJECTED");
    if (state === "rejected_canceled") {
      throw new ConversionError(`${prefix}settled.state`, "must be RESOLVED or REJECTED: a promise cannot be created canceled");
    }
    data.settled = { state, value: valueFromProto(message.settled.value) };
  }
  return data;
}

function createDataToProto(data: PromiseCreateRequest["data"]): PromiseServiceCreateRequest {
  return create(PromiseServiceCreateRequestSchema, {
    id: data.id,
    timeoutAt: timeToInt64(data.timeoutAt),
    tags: { ...(data.tags ?? {}) },
    ...(data.param !== undefined ? { param: valueToProto(data.param) } : {}),
    ...(data.settled !== undefined
      ? { settled: { state: settleStates[data.settled.state], value: valueToProto(data.settled.value) } }
      : {}),
  });
}

function settleDataFromProto(message: PromiseServiceSettleRequest, prefix: string): PromiseSettleRequest["data"] {
  return {
    id: message.id,
    state: enumName(settleStateNames, message.state, `${prefix}state`, SETTLE_STATES) as SettleStateName,
    value: valueFromProto(message.value),
  };
}

function settleDataToProto(data: PromiseSettleRequest["data"]): PromiseServiceSettleRequest {
  return create(PromiseServiceSettleRequestSchema, {
    id: data.id,
    state: settleStates[data.state],
    value: valueToProto(data.value),
  });
}

// ---------------------------------------------------------------- fenced writes of a batch

type FencedAction = PromiseCreateRequest | PromiseSettleRequest;
type FencedAnswer = Response<"promise.create"> | Response<"promise.settle">;

function fencedWriteFromProto(message: FencedWrite, prefix: string): FencedAction {
  switch (message.action.case) {
    case "create":
      return { kind: "promise.create", data: createDataFromProto(message.action.value, `${prefix}create.`) };
    case "settle":
      return { kind: "promise.settle", data: settleDataFromProto(message.action.value, `${prefix}settle.`) };
    default:
      throw new ConversionError(prefix.slice(0, -1), "must set exactly one of create or settle");
  }
}

function fencedWriteToProto(action: FencedAction): FencedWrite {
  return create(FencedWriteSchema, {
    action:
      action.kind === "promise.create"
        ? { case: "create", value: createDataToProto(action.data) }
        : { case: "settle", value: settleDataToProto(action.data) },
  });
}

function fencedResultToProto(answer: FencedAnswer): FencedWriteResult {
  if (!("data" in answer)) {
    const { status, code, message } = answer.error;
    return create(FencedWriteResultSchema, { result: { case: "error", value: { kind: answer.kind, status, code, message } } });
  }
  const promise = promiseToProto(answer.data.promise);
  return create(FencedWriteResultSchema, {
    result:
      answer.kind === "promise.create"
        ? { case: "create", value: create(PromiseServiceCreateResponseSchema, { promise }) }
        : { case: "settle", value: create(PromiseServiceSettleResponseSchema, { promise }) },
  });
}

function fencedResultFromProto(message: FencedWriteResult, prefix: string): FencedAnswer {
  switch (message.result.case) {
    case "create":
      return ok("promise.create", { promise: promiseFromProto(required(message.result.value.promise, `${prefix}create.promise`)) });
    case "settle":
      return ok("promise.settle", { promise: promiseFromProto(required(message.result.value.promise, `${prefix}settle.promise`)) });
    case "error": {
      const { kind, status, code, message: text } = message.result.value;
      if (kind !== "promise.create" && kind !== "promise.settle") {
        throw new ConversionError(`${prefix}error.kind`, `must be promise.create or promise.settle, got ${JSON.stringify(kind)}`);
      }
      const error = { status, code, message: text } as ProtocolError;
      return { kind, status: error.status, error } as FencedAnswer;
    }
    default:
      throw new ConversionError(prefix.slice(0, -1), "is required: the node sent neither create, settle nor error");
  }
}

// ---------------------------------------------------------------- per-kind mapping

/** The protobuf request message of each protocol request kind. */
export interface ProtoRequestMap {
  "promise.get": PromiseServiceGetRequest;
  "promise.create": PromiseServiceCreateRequest;
  "promise.settle": PromiseServiceSettleRequest;
  "promise.register_callback": PromiseServiceRegisterCallbackRequest;
  "promise.register_listener": PromiseServiceRegisterListenerRequest;
  "promise.search": PromiseServiceSearchRequest;
  "task.get": TaskServiceGetRequest;
  "task.create": TaskServiceCreateRequest;
  "task.acquire": TaskServiceAcquireRequest;
  "task.release": TaskServiceReleaseRequest;
  "task.suspend": TaskServiceSuspendRequest;
  "task.fulfill": TaskServiceFulfillRequest;
  "task.fence": TaskServiceFenceRequest;
  "task.fence_batch": TaskServiceFenceBatchRequest;
  "task.heartbeat": TaskServiceHeartbeatRequest;
  "task.halt": TaskServiceHaltRequest;
  "task.continue": TaskServiceContinueRequest;
  "task.search": TaskServiceSearchRequest;
  "schedule.get": ScheduleServiceGetRequest;
  "schedule.create": ScheduleServiceCreateRequest;
  "schedule.delete": ScheduleServiceDeleteRequest;
  "schedule.search": ScheduleServiceSearchRequest;
}

/** The protobuf response message of each protocol request kind. */
export interface ProtoResponseMap {
  "promise.get": PromiseServiceGetResponse;
  "promise.create": PromiseServiceCreateResponse;
  "promise.settle": PromiseServiceSettleResponse;
  "promise.register_callback": PromiseServiceRegisterCallbackResponse;
  "promise.register_listener": PromiseServiceRegisterListenerResponse;
  "promise.search": PromiseServiceSearchResponse;
  "task.get": TaskServiceGetResponse;
  "task.create": TaskServiceCreateResponse;
  "task.acquire": TaskServiceAcquireResponse;
  "task.release": TaskServiceReleaseResponse;
  "task.suspend": TaskServiceSuspendResponse;
  "task.fulfill": TaskServiceFulfillResponse;
  "task.fence": TaskServiceFenceResponse;
  "task.fence_batch": TaskServiceFenceBatchResponse;
  "task.heartbeat": TaskServiceHeartbeatResponse;
  "task.halt": TaskServiceHaltResponse;
  "task.continue": TaskServiceContinueResponse;
  "task.search": TaskServiceSearchResponse;
  "schedule.get": ScheduleServiceGetResponse;
  "schedule.create": ScheduleServiceCreateResponse;
  "schedule.delete": ScheduleServiceDeleteResponse;
  "schedule.search": ScheduleServiceSearchResponse;
}

/** A successful protocol answer (200, or 300 for a suspend redirect). */
export type OkResponse<K extends Kind> = Extract<Response<K>, { data: unknown }>;

interface KindMapping<K extends Kind> {
  service: DescService;
  method: DescMethod;
  /** Server side: the protobuf request as a protocol request (throws ConversionError). */
  request: (message: ProtoRequestMap[K]) => RequestOf<K>["data"];
  /** Client side: a protocol request as the protobuf request. */
  requestToProto: (data: RequestOf<K>["data"]) => ProtoRequestMap[K];
  /** Server side: a successful protocol answer as the protobuf response. */
  response: (response: OkResponse<K>) => ProtoResponseMap[K];
  /** Client side: the protobuf response as a successful protocol answer. */
  responseFromProto: (message: ProtoResponseMap[K]) => OkResponse<K>;
}

function ok<K extends Kind>(kind: K, data: ResponseDataMap[K], status: 200 | 300 = 200): OkResponse<K> {
  return { kind, status, data } as OkResponse<K>;
}

function page(cursor: string | undefined): { cursor?: string } {
  return cursor ? { cursor } : {};
}

const mappings: { [K in Kind]: KindMapping<K> } = {
  "promise.get": {
    service: PromiseService,
    method: PromiseService.method.get,
    request: (m) => ({ id: m.id }),
    requestToProto: (d) => create(PromiseServiceGetRequestSchema, { id: d.id }),
    response: (r) => create(PromiseServiceGetResponseSchema, { promise: promiseToProto(r.data.promise) }),
    responseFromProto: (m) => ok("promise.get", { promise: promiseFromProto(required(m.promise, "promise")) }),
  },
  "promise.create": {
    service: PromiseService,
    method: PromiseService.method.create,
    request: (m) => createDataFromProto(m, ""),
    requestToProto: createDataToProto,
    response: (r) => create(PromiseServiceCreateResponseSchema, { promise: promiseToProto(r.data.promise) }),
    responseFromProto: (m) => ok("promise.create", { promise: promiseFromProto(required(m.promise, "promise")) }),
  },
  "promise.settle": {
    service: PromiseService,
    method: PromiseService.method.settle,
    request: (m) => settleDataFromProto(m, ""),
    requestToProto: settleDataToProto,
    response: (r) => create(PromiseServiceSettleResponseSchema, { promise: promiseToProto(r.data.promise) }),
    responseFromProto: (m) => ok("promise.settle", { promise: promiseFromProto(required(m.promise, "promise")) }),
  },
  "promise.register_callback": {
    service: PromiseService,
    method: PromiseService.method.registerCallback,
    request: (m) => ({ awaited: m.awaited, awaiter: m.awaiter }),
    requestToProto: (d) => create(PromiseServiceRegisterCallbackRequestSchema, { awaited: d.awaited, awaiter: d.awaiter }),
    response: (r) => create(PromiseServiceRegisterCallbackResponseSchema, { promise: promiseToProto(r.data.promise) }),
    responseFromProto: (m) =>
      ok("promise.register_callback", { promise: promiseFromProto(required(m.promise, "promise")) }),
  },
  "promise.register_listener": {
    service: PromiseService,
    method: PromiseService.method.registerListener,
    request: (m) => ({ awaited: m.awaited, address: m.address }),
    requestToProto: (d) => create(PromiseServiceRegisterListenerRequestSchema, { awaited: d.awaited, address: d.address }),
    response: (r) => create(PromiseServiceRegisterListenerResponseSchema, { promise: promiseToProto(r.data.promise) }),
    responseFromProto: (m) =>
      ok("promise.register_listener", { promise: promiseFromProto(required(m.promise, "promise")) }),
  },
  "promise.search": {
    service: PromiseService,
    method: PromiseService.method.search,
    request: (m) => {
      const data: RequestOf<"promise.search">["data"] = {};
      const state = optionalEnumName(promiseStateNames, m.state, "state", PROMISE_STATES);
      if (state !== undefined) data.state = state;
      const tags = tagsOrUndefined(m.tags);
      if (tags !== undefined) data.tags = tags;
      if (m.id !== "") data.id = m.id;
      if (m.limit !== 0) data.limit = m.limit;
      if (m.cursor !== "") data.cursor = m.cursor;
      return data;
    },
    requestToProto: (d) =>
      create(PromiseServiceSearchRequestSchema, {
        state: d.state === undefined ? PbPromiseState.UNSPECIFIED : promiseStates[d.state],
        tags: { ...(d.tags ?? {}) },
        id: d.id ?? "",
        limit: d.limit ?? 0,
        cursor: d.cursor ?? "",
      }),
    response: (r) =>
      create(PromiseServiceSearchResponseSchema, {
        promises: r.data.promises.map(promiseToProto),
        cursor: r.data.cursor ?? "",
      }),
    responseFromProto: (m) =>
      ok("promise.search", { promises: m.promises.map(promiseFromProto), ...page(nonEmpty(m.cursor)) }),
  },
  "task.get": {
    service: TaskService,
    method: TaskService.method.get,
    request: (m) => ({ id: m.id }),
    requestToProto: (d) => create(TaskServiceGetRequestSchema, { id: d.id }),
    response: (r) => create(TaskServiceGetResponseSchema, { task: taskToProto(r.data.task) }),
    responseFromProto: (m) => ok("task.get", { task: taskFromProto(required(m.task, "task")) }),
  },
  "task.create": {
    service: TaskService,
    method: TaskService.method.create,
    request: (m) => ({
      pid: m.pid,
      ttl: toNumber(m.ttl, "ttl"),
      action: { kind: "promise.create", data: createDataFromProto(required(m.action, "action"), "action.") },
    }),
    requestToProto: (d) =>
      create(TaskServiceCreateRequestSchema, {
        pid: d.pid,
        ttl: toBigInt(d.ttl),
        action: createDataToProto(d.action.data),
      }),
    response: (r) =>
      create(TaskServiceCreateResponseSchema, {
        task: taskToProto(r.data.task),
        promise: promiseToProto(r.data.promise),
        preload: r.data.preload.map(promiseToProto),
      }),
    responseFromProto: (m) =>
      ok("task.create", {
        task: taskFromProto(required(m.task, "task")),
        promise: promiseFromProto(required(m.promise, "promise")),
        preload: m.preload.map(promiseFromProto),
      }),
  },
  "task.acquire": {
    service: TaskService,
    method: TaskService.method.acquire,
    request: (m) => ({ id: m.id, version: toNumber(m.version, "version"), pid: m.pid, ttl: toNumber(m.ttl, "ttl") }),
    requestToProto: (d) =>
      create(TaskServiceAcquireRequestSchema, { id: d.id, version: toBigInt(d.version), pid: d.pid, ttl: toBigInt(d.ttl) }),
    response: (r) =>
      create(TaskServiceAcquireResponseSchema, {
        task: taskToProto(r.data.task),
        promise: promiseToProto(r.data.promise),
        preload: r.data.preload.map(promiseToProto),
      }),
    responseFromProto: (m) =>
      ok("task.acquire", {
        task: taskFromProto(required(m.task, "task")),
        promise: promiseFromProto(required(m.promise, "promise")),
        preload: m.preload.map(promiseFromProto),
      }),
  },
  "task.release": {
    service: TaskService,
    method: TaskService.method.release,
    request: (m) => ({ id: m.id, version: toNumber(m.version, "version") }),
    requestToProto: (d) => create(TaskServiceReleaseRequestSchema, { id: d.id, version: toBigInt(d.version) }),
    response: () => create(TaskServiceReleaseResponseSchema, {}),
    responseFromProto: () => ok("task.release", {}),
  },
  "task.suspend": {
    service: TaskService,
    method: TaskService.method.suspend,
    request: (m) => ({
      id: m.id,
      version: toNumber(m.version, "version"),
      actions: m.actions.map((a) => ({
        kind: "promise.register_callback" as const,
        data: { awaited: a.awaited, awaiter: a.awaiter },
      })),
    }),
    requestToProto: (d) =>
      create(TaskServiceSuspendRequestSchema, {
        id: d.id,
        version: toBigInt(d.version),
        actions: d.actions.map((a) => ({ awaited: a.data.awaited, awaiter: a.data.awaiter })),
      }),
    response: (r) =>
      create(TaskServiceSuspendResponseSchema, {
        redirect: r.status === 300,
        preload: (r.data.preload ?? []).map(promiseToProto),
      }),
    responseFromProto: (m) =>
      m.redirect
        ? ok("task.suspend", { preload: m.preload.map(promiseFromProto) }, 300)
        : ok("task.suspend", {}),
  },
  "task.fulfill": {
    service: TaskService,
    method: TaskService.method.fulfill,
    request: (m) => ({
      id: m.id,
      version: toNumber(m.version, "version"),
      action: { kind: "promise.settle", data: settleDataFromProto(required(m.action, "action"), "action.") },
      ...(m.actions.length > 0 ? { actions: m.actions.map((a, i) => fencedWriteFromProto(a, `actions[${i}].`)) } : {}),
    }),
    requestToProto: (d) =>
      create(TaskServiceFulfillRequestSchema, {
        id: d.id,
        version: toBigInt(d.version),
        action: settleDataToProto(d.action.data),
        actions: (d.actions ?? []).map(fencedWriteToProto),
      }),
    response: (r) =>
      create(TaskServiceFulfillResponseSchema, {
        promise: promiseToProto(r.data.promise),
        results: (r.data.actions ?? []).map(fencedResultToProto),
      }),
    responseFromProto: (m) => {
      const promise = promiseFromProto(required(m.promise, "promise"));
      if (m.results.length === 0) return ok("task.fulfill", { promise });
      return ok("task.fulfill", { promise, actions: m.results.map((result, i) => fencedResultFromProto(result, `results[${i}].`)) });
    },
  },
  "task.fence": {
    service: TaskService,
    method: TaskService.method.fence,
    request: (m) => {
      const version = toNumber(m.version, "version");
      switch (m.action.case) {
        case "create":
          return { id: m.id, version, action: { kind: "promise.create", data: createDataFromProto(m.action.value, "create.") } };
        case "settle":
          return { id: m.id, version, action: { kind: "promise.settle", data: settleDataFromProto(m.action.value, "settle.") } };
        default:
          throw new ConversionError("action", "is required: set exactly one of create or settle");
      }
    },
    requestToProto: (d) =>
      create(TaskServiceFenceRequestSchema, {
        id: d.id,
        version: toBigInt(d.version),
        action:
          d.action.kind === "promise.create"
            ? { case: "create", value: createDataToProto(d.action.data) }
            : { case: "settle", value: settleDataToProto(d.action.data) },
      }),
    response: (r) => {
      const inner = r.data.action;
      // Inner failures never reach here: the handler answers them as the call's status (see unwrapFence).
      if (!("data" in inner)) throw new Error(`fence inner ${inner.kind} failed: ${inner.error.message}`);
      const promise = promiseToProto(inner.data.promise);
      return create(TaskServiceFenceResponseSchema, {
        result:
          inner.kind === "promise.create"
            ? { case: "create", value: create(PromiseServiceCreateResponseSchema, { promise }) }
            : { case: "settle", value: create(PromiseServiceSettleResponseSchema, { promise }) },
        preload: r.data.preload.map(promiseToProto),
      });
    },
    responseFromProto: (m) => {
      const preload = m.preload.map(promiseFromProto);
      switch (m.result.case) {
        case "create":
          return ok("task.fence", {
            action: ok("promise.create", { promise: promiseFromProto(required(m.result.value.promise, "create.promise")) }),
            preload,
          });
        case "settle":
          return ok("task.fence", {
            action: ok("promise.settle", { promise: promiseFromProto(required(m.result.value.promise, "settle.promise")) }),
            preload,
          });
        default:
          throw new ConversionError("result", "is required: the node sent neither create nor settle");
      }
    },
  },
  "task.fence_batch": {
    service: TaskService,
    method: TaskService.method.fenceBatch,
    request: (m) => ({
      id: m.id,
      version: toNumber(m.version, "version"),
      actions: m.actions.map((a, i) => fencedWriteFromProto(a, `actions[${i}].`)),
    }),
    requestToProto: (d) =>
      create(TaskServiceFenceBatchRequestSchema, {
        id: d.id,
        version: toBigInt(d.version),
        actions: d.actions.map(fencedWriteToProto),
      }),
    response: (r) => create(TaskServiceFenceBatchResponseSchema, { results: r.data.actions.map(fencedResultToProto) }),
    responseFromProto: (m) =>
      ok("task.fence_batch", { actions: m.results.map((result, i) => fencedResultFromProto(result, `results[${i}].`)) }),
  },
  "task.heartbeat": {
    service: TaskService,
    method: TaskService.method.heartbeat,
    request: (m) => ({
      pid: m.pid,
      tasks: m.tasks.map((t, i) => ({ id: t.id, version: toNumber(t.version, `tasks[${i}].version`) })),
    }),
    requestToProto: (d) =>
      create(TaskServiceHeartbeatRequestSchema, {
        pid: d.pid,
        tasks: d.tasks.map((t) => create(TaskRefSchema, { id: t.id, version: toBigInt(t.version) })),
      }),
    response: () => create(TaskServiceHeartbeatResponseSchema, {}),
    responseFromProto: () => ok("task.heartbeat", {}),
  },
  "task.halt": {
    service: TaskService,
    method: TaskService.method.halt,
    request: (m) => ({ id: m.id }),
    requestToProto: (d) => create(TaskServiceHaltRequestSchema, { id: d.id }),
    response: () => create(TaskServiceHaltResponseSchema, {}),
    responseFromProto: () => ok("task.halt", {}),
  },
  "task.continue": {
    service: TaskService,
    method: TaskService.method.continue,
    request: (m) => ({ id: m.id }),
    requestToProto: (d) => create(TaskServiceContinueRequestSchema, { id: d.id }),
    response: () => create(TaskServiceContinueResponseSchema, {}),
    responseFromProto: () => ok("task.continue", {}),
  },
  "task.search": {
    service: TaskService,
    method: TaskService.method.search,
    request: (m) => {
      const data: RequestOf<"task.search">["data"] = {};
      const state = optionalEnumName(taskStateNames, m.state, "state", TASK_STATES);
      if (state !== undefined) data.state = state;
      if (m.id !== "") data.id = m.id;
      if (m.limit !== 0) data.limit = m.limit;
      if (m.cursor !== "") data.cursor = m.cursor;
      return data;
    },
    requestToProto: (d) =>
      create(TaskServiceSearchRequestSchema, {
        state: d.state === undefined ? PbTaskState.UNSPECIFIED : taskStates[d.state],
        id: d.id ?? "",
        limit: d.limit ?? 0,
        cursor: d.cursor ?? "",
      }),
    response: (r) =>
      create(TaskServiceSearchResponseSchema, { tasks: r.data.tasks.map(taskToProto), cursor: r.data.cursor ?? "" }),
    responseFromProto: (m) => ok("task.search", { tasks: m.tasks.map(taskFromProto), ...page(nonEmpty(m.cursor)) }),
  },
  "schedule.get": {
    service: ScheduleService,
    method: ScheduleService.method.get,
    request: (m) => ({ id: m.id }),
    requestToProto: (d) => create(ScheduleServiceGetRequestSchema, { id: d.id }),
    response: (r) => create(ScheduleServiceGetResponseSchema, { schedule: scheduleToProto(r.data.schedule) }),
    responseFromProto: (m) => ok("schedule.get", { schedule: scheduleFromProto(required(m.schedule, "schedule")) }),
  },
  "schedule.create": {
    service: ScheduleService,
    method: ScheduleService.method.create,
    request: (m) => {
      const data: RequestOf<"schedule.create">["data"] = {
        id: m.id,
        cron: m.cron,
        promiseId: m.promiseId,
        promiseTimeout: toNumber(m.promiseTimeout, "promise_timeout"),
        promiseTags: { ...m.promiseTags },
      };
      if (m.promiseParam !== undefined) data.promiseParam = valueFromProto(m.promiseParam);
      return data;
    },
    requestToProto: (d) =>
      create(ScheduleServiceCreateRequestSchema, {
        id: d.id,
        cron: d.cron,
        promiseId: d.promiseId,
        promiseTimeout: toBigInt(d.promiseTimeout),
        promiseTags: { ...(d.promiseTags ?? {}) },
        ...(d.promiseParam !== undefined ? { promiseParam: valueToProto(d.promiseParam) } : {}),
      }),
    response: (r) => create(ScheduleServiceCreateResponseSchema, { schedule: scheduleToProto(r.data.schedule) }),
    responseFromProto: (m) => ok("schedule.create", { schedule: scheduleFromProto(required(m.schedule, "schedule")) }),
  },
  "schedule.delete": {
    service: ScheduleService,
    method: ScheduleService.method.delete,
    request: (m) => ({ id: m.id }),
    requestToProto: (d) => create(ScheduleServiceDeleteRequestSchema, { id: d.id }),
    response: () => create(ScheduleServiceDeleteResponseSchema, {}),
    responseFromProto: () => ok("schedule.delete", {}),
  },
  "schedule.search": {
    service: ScheduleService,
    method: ScheduleService.method.search,
    request: (m) => {
      const data: RequestOf<"schedule.search">["data"] = {};
      const tags = tagsOrUndefined(m.tags);
      if (tags !== undefined) data.tags = tags;
      if (m.id !== "") data.id = m.id;
      if (m.limit !== 0) data.limit = m.limit;
      if (m.cursor !== "") data.cursor = m.cursor;
      return data;
    },
    requestToProto: (d) =>
      create(ScheduleServiceSearchRequestSchema, {
        tags: { ...(d.tags ?? {}) },
        id: d.id ?? "",
        limit: d.limit ?? 0,
        cursor: d.cursor ?? "",
      }),
    response: (r) =>
      create(ScheduleServiceSearchResponseSchema, {
        schedules: r.data.schedules.map(scheduleToProto),
        cursor: r.data.cursor ?? "",
      }),
    responseFromProto: (m) =>
      ok("schedule.search", { schedules: m.schedules.map(scheduleFromProto), ...page(nonEmpty(m.cursor)) }),
  },
};

// ---------------------------------------------------------------- public API

/** Every protocol request kind that has a unary RPC. */
export const kinds = Object.keys(mappings) as Kind[];

/** Which service and method carry a protocol request kind. */
export function rpcOf(kind: Kind): { service: DescService; method: DescMethod } {
  const { service, method } = mappings[kind];
  return { service, method };
}

/** Server side: a protobuf request as the protocol request of `kind`. Throws ConversionError (INVALID_ARGUMENT). */
export function toProtocolRequest<K extends Kind>(kind: K, message: ProtoRequestMap[K]): RequestOf<K> {
  return { kind, data: mappings[kind].request(message) } as unknown as RequestOf<K>;
}

/** Server side: a successful protocol answer as the protobuf response. */
export function fromProtocolResponse<K extends Kind>(response: OkResponse<K>): ProtoResponseMap[K] {
  return (mappings[response.kind] as KindMapping<K>).response(response);
}

/** Client side: a protocol request as the protobuf request of its RPC. */
export function fromProtocolRequest<K extends Kind>(request: RequestOf<K>): ProtoRequestMap[K] {
  return (mappings[request.kind as K] as KindMapping<K>).requestToProto(request.data as RequestOf<K>["data"]);
}

/** Client side: the protobuf response of `kind`'s RPC as a successful protocol answer. */
export function toProtocolResponse<K extends Kind>(kind: K, message: ProtoResponseMap[K]): OkResponse<K> {
  return mappings[kind].responseFromProto(message);
}

/**
 * A fence whose inner create or settle failed answers 200 in the protocol
 * (the failure sits inside); over gRPC the call itself fails with the inner
 * error, so clients see one status. Returns that error, if any.
 */
export function fenceInnerError(response: OkResponse<"task.fence">): ProtocolError | undefined {
  const inner = response.data.action;
  return "error" in inner ? inner.error : undefined;
}

/** A dispatcher message as the Poll stream's protobuf message. */
export function messageToProto(message: Message): TaskServicePollResponse {
  return message.kind === "execute"
    ? create(TaskServicePollResponseSchema, {
        message: {
          case: "execute",
          value: { task: create(TaskRefSchema, { id: message.task.id, version: toBigInt(message.task.version) }) },
        },
      })
    : create(TaskServicePollResponseSchema, {
        message: { case: "unblock", value: { promise: promiseToProto(message.promise) } },
      });
}

/** Client side: a Poll stream message as the protocol message (`address` is the worker's own inbox). */
export function messageFromProto(message: TaskServicePollResponse, address: string): Message | undefined {
  switch (message.message.case) {
    case "execute": {
      const task = required(message.message.value.task, "execute.task");
      return { kind: "execute", address, task: { id: task.id, version: toNumber(task.version, "execute.task.version") } };
    }
    case "unblock":
      return {
        kind: "unblock",
        address,
        promise: promiseFromProto(required(message.message.value.promise, "unblock.promise")),
      };
    default:
      // A message kind newer than this client: ignore it rather than fail the stream.
      return undefined;
  }
}

// Per-kind shorthands for clients that build one request type (the CLI).
export const promiseCreateToProto = (data: RequestOf<"promise.create">["data"]) => mappings["promise.create"].requestToProto(data);
export const promiseSettleToProto = (data: RequestOf<"promise.settle">["data"]) => mappings["promise.settle"].requestToProto(data);
export const promiseSearchToProto = (data: RequestOf<"promise.search">["data"]) => mappings["promise.search"].requestToProto(data);
export const taskSearchToProto = (data: RequestOf<"task.search">["data"]) => mappings["task.search"].requestToProto(data);
export const scheduleCreateToProto = (data: RequestOf<"schedule.create">["data"]) => mappings["schedule.create"].requestToProto(data);
export const scheduleSearchToProto = (data: RequestOf<"schedule.search">["data"]) => mappings["schedule.search"].requestToProto(data);

// ---------------------------------------------------------------- error fields

function snake(identifier: string): string {
  return identifier.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * The protocol names fields as JSON envelope paths (`data.action.data.timeoutAt`);
 * over gRPC the same field is `action.timeout_at`. Tag keys in brackets stay as they are.
 */
export function protoFieldPath(kind: Kind, field: string, message?: ProtoRequestMap[Kind]): string {
  let path = field === "data" ? "request" : field.replace(/^data\./, "");
  if (kind === "task.fence") {
    const fenceCase = (message as TaskServiceFenceRequest | undefined)?.action.case ?? "action";
    path = path.replace(/^action\.data(?=\.|$)/, fenceCase);
  } else if (kind === "task.fence_batch" || (kind === "task.fulfill" && /^actions\[/.test(path))) {
    // data.actions[i].data.x -> actions[i].create.x (or .settle.x), the FencedWrite's oneof case.
    const batch = message as TaskServiceFenceBatchRequest | TaskServiceFulfillRequest | undefined;
    path = path.replace(/^actions\[(\d+)\]\.data(?=\.|$)/, (_m, i: string) => `actions[${i}].${batch?.actions[Number(i)]?.action.case ?? "action"}`);
  } else {
    path = path.replace(/^action\.data(?=\.|$)/, "action");
  }
  path = path.replace(/^(actions\[\d+\])\.data(?=\.|$)/, "$1");
  return path.replace(/("[^"]*")|([A-Za-z_]+)/g, (_m, quoted: string | undefined, ident: string | undefined) =>
    quoted !== undefined ? quoted : snake(ident!),
  );
}

/** A protocol error as gRPC clients should read it: field paths in protobuf names. */
export function localizeError(kind: Kind, error: ProtocolError, message?: ProtoRequestMap[Kind]): ProtocolError {
  if (error.field === undefined) return error;
  const field = protoFieldPath(kind, error.field, message);
  const text = error.message.startsWith(error.field) ? field + error.message.slice(error.field.length) : error.message;
  return { ...error, field, message: text };
}
