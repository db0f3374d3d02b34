// The JSON wire records of the Resonate protocol 2026-04-01, exactly as the
// official TypeScript SDK's validators (`isPromiseRecord`, `isTaskRecord`,
// `isScheduleRecord`, `isMessage`) accept them. Our internal records carry
// more (callbacks, listeners, timers, routing); the wire must never see that,
// and the SDK rejects a whole answer when one optional object is `null`.
// Points in time are JSON numbers; "never" is written as 9223372036854775807
// (a bigint here, written by json.ts's stringifyJson), which int64 readers hold.

import type { Message, PromiseRecord, ScheduleRecord, TaskRecord, Value } from "../../protocol/types.ts";
import { timeToJson } from "../../protocol/validate.ts";

/** Ms since the epoch; INT64_MAX (as a bigint) for never. */
export type WireTime = number | bigint;

export interface WireValue {
  headers: Record<string, string>;
  data: string;
}

export interface WirePromise {
  id: string;
  state: PromiseRecord["state"];
  param: WireValue;
  value: WireValue;
  tags: Record<string, string>;
  timeoutAt: WireTime;
  createdAt: WireTime;
  settledAt?: WireTime;
}

export interface WireTask {
  id: string;
  state: TaskRecord["state"];
  version: number;
  /** The Resonate server sends a count; the SDK never reads the ids. */
  resumes: number;
  pid?: string;
  ttl?: number;
}

export interface WireSchedule {
  id: string;
  cron: string;
  promiseId: string;
  promiseTimeout: number;
  promiseParam: WireValue;
  promiseTags: Record<string, string>;
  createdAt: WireTime;
  nextRunAt: WireTime;
  lastRunAt?: WireTime;
}

export type WireMessage =
  | { kind: "execute"; head: { serverUrl?: string }; data: { task: { id: string; version: number } } }
  | { kind: "unblock"; head: Record<string, never>; data: { promise: WirePromise } };

export function toWireValue(value: Partial<Value> | undefined | null): WireValue {
  return { headers: { ...(value?.headers ?? {}) }, data: value?.data ?? "" };
}

export function toWirePromise(p: PromiseRecord): WirePromise {
  const wire: WirePromise = {
    id: p.id,
    state: p.state,
    param: toWireValue(p.param),
    value: toWireValue(p.value),
    tags: { ...(p.tags ?? {}) },
    timeoutAt: timeToJson(p.timeoutAt),
    createdAt: timeToJson(p.createdAt),
  };
  if (typeof p.settledAt === "number") wire.settledAt = timeToJson(p.settledAt);
  return wire;
}

export function toWireTask(t: TaskRecord): WireTask {
  const wire: WireTask = {
    id: t.id,
    state: t.state,
    version: t.version,
    resumes: Array.isArray(t.resumes) ? t.resumes.length : 0,
  };
  // pid and ttl describe the lease; they mean nothing outside one.
  if (t.state === "acquired") {
    if (typeof t.pid === "string") wire.pid = t.pid;
    if (typeof t.ttl === "number") wire.ttl = t.ttl;
  }
  return wire;
}

export function toWireSchedule(s: ScheduleRecord): WireSchedule {
  const wire: WireSchedule = {
    id: s.id,
    cron: s.cron,
    promiseId: s.promiseId,
    promiseTimeout: s.promiseTimeout,
    promiseParam: toWireValue(s.promiseParam),
    promiseTags: { ...(s.promiseTags ?? {}) },
    createdAt: timeToJson(s.createdAt),
    nextRunAt: timeToJson(s.nextRunAt),
  };
  if (typeof s.lastRunAt === "number") wire.lastRunAt = timeToJson(s.lastRunAt);
  return wire;
}

export function toWireMessage(message: Message, serverUrl?: string): WireMessage {
  if (message.kind === "execute") {
    return {
      kind: "execute",
      head: serverUrl === undefined ? {} : { serverUrl },
      data: { task: { id: message.task.id, version: message.task.version } },
    };
  }
  return { kind: "unblock", head: {}, data: { promise: toWirePromise(message.promise) } };
}
