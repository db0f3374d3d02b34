// The records, requests, responses and effects of the Resonate protocol
// (version 2026-04-01), as plain data. Every engine, adapter and the SDK speak
// these types; the wire formats (Protobuf, JSON envelope) are mapped onto them
// at the edges in `api/`.

import type { Effect } from "./outbox.ts";

export const PROTOCOL_VERSION = "2026-04-01";

// ---------------------------------------------------------------- records

export type PromiseState =
  | "pending"
  | "resolved"
  | "rejected"
  | "rejected_canceled"
  | "rejected_timedout";

/** A payload: `data` is base64 (as on the JSON wire), headers are free-form. */
export interface Value {
  headers: Record<string, string>;
  data: string;
}

/** A durable promise as clients see it. */
export interface PromiseRecord {
  id: string;
  state: PromiseState;
  param: Value;
  value: Value;
  tags: Record<string, string>;
  timeoutAt: number;
  createdAt: number;
  settledAt?: number;
}

/** A durable promise as the store keeps it: who waits on it. */
export interface StoredPromise extends PromiseRecord {
  /** Ids of awaiter promises whose tasks resume when this one settles. */
  callbacks: string[];
  /** Addresses that receive one `unblock` when this one settles. */
  listeners: string[];
}

export type TaskState = "pending" | "acquired" | "suspended" | "halted" | "fulfilled";

/** A task as clients see it. `pid` and `ttl` only while acquired. */
export interface TaskRecord {
  id: string;
  state: TaskState;
  version: number;
  /** Ids of awaited promises that settled since the task last ran. */
  resumes: string[];
  pid?: string;
  ttl?: number;
}

/** A task as the store keeps it: routing and its timers. */
export interface StoredTask extends TaskRecord {
  /** The promise's `resonate:target`, where `execute` goes. */
  address: string;
  /** Acquired: when the lease ends and the task returns to pending. */
  leaseExpiresAt?: number;
  /** Pending: when `execute` is (re)sent. */
  retryAt?: number;
  createdAt: number;
}

export interface ScheduleRecord {
  id: string;
  cron: string;
  /** Template with `{{.id}}` and `{{.timestamp}}`. */
  promiseId: string;
  /** Relative timeout (ms) of each promise the schedule creates. */
  promiseTimeout: number;
  promiseParam: Value;
  promiseTags: Record<string, string>;
  createdAt: number;
  nextRunAt: number;
  lastRunAt?: number;
}

// ---------------------------------------------------------------- requests

export interface PromiseCreateData {
  id: string;
  timeoutAt: number;
  param?: Value;
  tags?: Record<string, string>;
  /**
   * Our extension: create the promise already settled, so a local step that
   * completed is recorded in one call. Ignored when the id exists (create is
   * idempotent by id); not allowed together with `resonate:target`.
   */
  settled?: { state: "resolved" | "rejected"; value?: Value };
}
export interface PromiseSettleData {
  id: string;
  state: "resolved" | "rejected" | "rejected_canceled";
  value?: Value;
}
export interface PromiseRegisterCallbackData {
  awaited: string;
  awaiter: string;
}
export interface PromiseRegisterListenerData {
  awaited: string;
  address: string;
}
export interface PromiseSearchData {
  state?: "pending" | "resolved" | "rejected" | "rejected_canceled" | "rejected_timedout";
  tags?: Record<string, string>;
  /** Our extension: an id prefix, or a glob with `*`. */
  id?: string;
  limit?: number;
  cursor?: string;
}
export interface TaskRef {
  id: string;
  version: number;
}

export type PromiseCreateRequest = { kind: "promise.create"; data: PromiseCreateData };
export type PromiseSettleRequest = { kind: "promise.settle"; data: PromiseSettleData };

/** One fenced write (task.fence's action; each of task.fence_batch's and task.fulfill's actions). */
export type FencedWrite = PromiseCreateRequest | PromiseSettleRequest;
/** What one fenced write answers, as its own promise.create / promise.settle would. */
export type FencedAnswer = Response<"promise.create"> | Response<"promise.settle">;

export type Request =
  | { kind: "promise.get"; data: { id: string } }
  | PromiseCreateRequest
  | PromiseSettleRequest
  | { kind: "promise.register_callback"; data: PromiseRegisterCallbackData }
  | { kind: "promise.register_listener"; data: PromiseRegisterListenerData }
  | { kind: "promise.search"; data: PromiseSearchData }
  | { kind: "task.get"; data: { id: string } }
  | { kind: "task.create"; data: { pid: string; ttl: number; action: PromiseCreateRequest } }
  | { kind: "task.acquire"; data: { id: string; version: number; pid: string; ttl: number } }
  | { kind: "task.release"; data: TaskRef }
  | {
      kind: "task.suspend";
      data: TaskRef & { actions: { kind: "promise.register_callback"; data: PromiseRegisterCallbackData }[] };
    }
  /**
   * `actions` is our extension (see fence-batch.ts): fenced writes applied
   * before the settlement, in order, in the same commit, as a
   * task.fence_batch followed by this task.fulfill would be, minus a round trip.
   */
  | { kind: "task.fulfill"; data: TaskRef & { action: PromiseSettleRequest; actions?: FencedWrite[] } }
  | { kind: "task.fence"; data: TaskRef & { action: PromiseCreateRequest | PromiseSettleRequest } }
  /**
   * Our extension (see fence-batch.ts): several fenced writes in one call,
   * the fence checked once, all committed together, answered in order.
   */
  | { kind: "task.fence_batch"; data: TaskRef & { actions: FencedWrite[] } }
  | { kind: "task.heartbeat"; data: { pid: string; tasks: TaskRef[] } }
  | { kind: "task.halt"; data: { id: string } }
  | { kind: "task.continue"; data: { id: string } }
  | { kind: "task.search"; data: { state?: TaskState; id?: string; limit?: number; cursor?: string } }
  | { kind: "schedule.get"; data: { id: string } }
  | {
      kind: "schedule.create";
      data: {
        id: string;
        cron: string;
        promiseId: string;
        promiseTimeout: number;
        promiseParam?: Value;
        promiseTags?: Record<string, string>;
      };
    }
  | { kind: "schedule.delete"; data: { id: string } }
  | { kind: "schedule.search"; data: { tags?: Record<string, string>; id?: string; limit?: number; cursor?: string } };

export type Kind = Request["kind"];
export type RequestOf<K extends Kind> = Extract<Request, { kind: K }>;

/** The `data` of a successful (200, or 300 for suspend) answer, per kind. */
export interface ResponseDataMap {
  "promise.get": { promise: PromiseRecord };
  "promise.create": { promise: PromiseRecord };
  "promise.settle": { promise: PromiseRecord };
  "promise.register_callback": { promise: PromiseRecord };
  "promise.register_listener": { promise: PromiseRecord };
  "promise.search": { promises: PromiseRecord[]; cursor?: string };
  "task.get": { task: TaskRecord };
  "task.create": { task: TaskRecord; promise: PromiseRecord; preload: PromiseRecord[] };
  "task.acquire": { task: TaskRecord; promise: PromiseRecord; preload: PromiseRecord[] };
  "task.release": Record<string, never>;
  /** status 200: suspended, `{}`; status 300: redirect, continue with `preload`. */
  "task.suspend": { preload?: PromiseRecord[] };
  /** `actions`: one answer per request action, in order; present when the request carried actions. */
  "task.fulfill": { promise: PromiseRecord; actions?: FencedAnswer[] };
  "task.fence": {
    action: Response<"promise.create"> | Response<"promise.settle">;
    preload: PromiseRecord[];
  };
  /** One answer per action, in the order of the request's actions. */
  "task.fence_batch": { actions: FencedAnswer[] };
  "task.heartbeat": Record<string, never>;
  "task.halt": Record<string, never>;
  "task.continue": Record<string, never>;
  "task.search": { tasks: TaskRecord[]; cursor?: string };
  "schedule.get": { schedule: ScheduleRecord };
  "schedule.create": { schedule: ScheduleRecord };
  "schedule.delete": Record<string, never>;
  "schedule.search": { schedules: ScheduleRecord[]; cursor?: string };
}

// ---------------------------------------------------------------- responses

export type OkStatus = 200 | 300;
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 422 | 429 | 500 | 501 | 503;
export type Status = OkStatus | ErrorStatus;

/** Stable machine-readable error codes; `message` is the sentence for people. */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "PROMISE_NOT_FOUND"
  | "TASK_NOT_FOUND"
  | "SCHEDULE_NOT_FOUND"
  | "TASK_STATE_CONFLICT"
  | "TASK_VERSION_MISMATCH"
  | "TASK_ALREADY_EXISTS"
  | "AWAITER_NOT_FOUND"
  | "AWAITER_NOT_TARGETED"
  | "PROMISE_WITHOUT_TASK"
  | "AWAITED_NOT_FOUND"
  | "RATE_LIMITED"
  | "UNAVAILABLE"
  /** The node protects itself (memory budget, stream caps): retry later. */
  | "RESOURCE_EXHAUSTED"
  | "INTERNAL";

export interface ProtocolError {
  status: ErrorStatus;
  code: ErrorCode;
  /** One sentence naming the field and the rule, or the state that refused. */
  message: string;
  /** The request field at fault, dotted (`data.action.data.id`), for 400s. */
  field?: string;
}

export type Response<K extends Kind = Kind> =
  | { kind: K; status: OkStatus; data: ResponseDataMap[K] }
  | { kind: K; status: ErrorStatus; error: ProtocolError };

// ---------------------------------------------------------------- effects

/** Messages a transition asks the dispatcher to deliver after it commits. */
export type Message =
  | { kind: "execute"; address: string; task: TaskRef }
  | { kind: "unblock"; address: string; promise: PromiseRecord };

// ---------------------------------------------------------------- transitions

/** The records a transition may read. Engines load them lazily (see mesh/driver). */
export interface Snapshot {
  promise(id: string): StoredPromise | undefined;
  task(id: string): StoredTask | undefined;
  schedule(id: string): ScheduleRecord | undefined;
  /** Every promise whose `resonate:branch` tag is `branch` (the preload). */
  branch(branch: string): StoredPromise[];
  /** Any record by key (outbox entries and receipts, protocol/outbox.ts); engines with partitions provide it. */
  record?(key: string): unknown;
}

export type Write =
  | { type: "promise"; record: StoredPromise }
  | { type: "task"; record: StoredTask }
  | { type: "schedule"; record: ScheduleRecord }
  | { type: "schedule.delete"; id: string }
  /** Outbox bookkeeping (protocol/outbox.ts): an entry or a receipt; value null deletes. */
  | { type: "outbox"; key: string; value: unknown | null };

export interface Transition<K extends Kind = Kind> {
  response: Response<K>;
  /** New versions of records, applied all-or-nothing with compare-and-set. */
  writes: Write[];
  /** Sent only after the writes commit. */
  messages: Message[];
  /** What other partitions' owners must apply (protocol/outbox.ts); committed with the writes as outbox entries. */
  effects?: Effect[];
}

/** Well-known tags. */
export const Tag = {
  target: "resonate:target",
  timer: "resonate:timer",
  delay: "resonate:delay",
  origin: "resonate:origin",
  branch: "resonate:branch",
  parent: "resonate:parent",
  scope: "resonate:scope",
  prefix: "resonate:prefix",
  schedule: "resonate:schedule",
} as const;
