// Small pure helpers over records: their public views and the facts derived
// from their tags.

import {
  Tag,
  type PromiseRecord,
  type PromiseState,
  type StoredTask,
  type TaskRecord,
  type Value,
} from "./types.ts";

export function emptyValue(): Value {
  return { headers: {}, data: "" };
}

/** A copy of a (validated) wire value with both fields present. */
export function normalizeValue(value: Partial<Value> | undefined): Value {
  return { headers: { ...(value?.headers ?? {}) }, data: value?.data ?? "" };
}

export function isTimer(promise: { tags: Record<string, string> }): boolean {
  return promise.tags[Tag.timer] === "true";
}

export function targetOf(promise: { tags: Record<string, string> }): string | undefined {
  return promise.tags[Tag.target];
}

/** The state a pending promise takes when its deadline passes. */
export function timeoutState(promise: { tags: Record<string, string> }): PromiseState {
  return isTimer(promise) ? "resolved" : "rejected_timedout";
}

/** True when a pending promise is due to time out at `now`. */
export function isPastTimeout(promise: PromiseRecord, now: number): boolean {
  return promise.state === "pending" && now >= promise.timeoutAt;
}

/** The branch whose promises form a task's preload. */
export function branchOf(promise: PromiseRecord): string {
  return promise.tags[Tag.branch] ?? promise.id;
}

/**
 * The promise as clients see it at `now`: a pending promise past its deadline
 * shows as timed out (lazy timeout), and who waits on it is not shown.
 */
export function projectPromise(stored: PromiseRecord, now: number): PromiseRecord {
  const timedOut = isPastTimeout(stored, now);
  const record: PromiseRecord = {
    id: stored.id,
    state: timedOut ? timeoutState(stored) : stored.state,
    param: normalizeValue(stored.param),
    value: timedOut ? emptyValue() : normalizeValue(stored.value),
    tags: { ...stored.tags },
    timeoutAt: stored.timeoutAt,
    createdAt: stored.createdAt,
  };
  const settledAt = timedOut ? stored.timeoutAt : stored.settledAt;
  if (settledAt !== undefined && record.state !== "pending") record.settledAt = settledAt;
  return record;
}

/**
 * The task as clients see it. Its effective state is fulfilled whenever its
 * promise is settled (pass the projected promise, or `now` with the stored
 * one, so a lazy timeout counts); pid and ttl show only while acquired.
 */
export function publicTask(stored: StoredTask, promise?: PromiseRecord, now?: number): TaskRecord {
  const view = promise !== undefined && now !== undefined ? projectPromise(promise, now) : promise;
  const fulfilled = stored.state === "fulfilled" || (view !== undefined && view.state !== "pending");
  const record: TaskRecord = {
    id: stored.id,
    state: fulfilled ? "fulfilled" : stored.state,
    version: stored.version,
    resumes: fulfilled ? [] : [...stored.resumes],
  };
  if (record.state === "acquired") {
    if (stored.pid !== undefined) record.pid = stored.pid;
    if (stored.ttl !== undefined) record.ttl = stored.ttl;
  }
  return record;
}

/** A copy of `record` with `patch` applied; keys patched to undefined are removed. */
export function patch<T extends object>(record: T, changes: { [P in keyof T]?: T[P] | undefined }): T {
  const next = { ...record } as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete next[key];
    else next[key] = value;
  }
  return next as T;
}
