// promise.get, promise.create, promise.settle, promise.register_callback,
// promise.register_listener.

import { emptyValue, isTimer, normalizeValue, projectPromise, targetOf, timeoutState } from "./records.ts";
import { errors, fail, ok } from "./responses.ts";
import { addCallback, addResume, dispatch, settle } from "./settle.ts";
import type { Tx } from "./tx.ts";
import {
  Tag,
  type PromiseCreateData,
  type PromiseRegisterCallbackData,
  type PromiseRegisterListenerData,
  type PromiseSettleData,
  type Response,
  type StoredPromise,
  type StoredTask,
} from "./types.ts";

export function promiseGet(tx: Tx, data: { id: string }): Response<"promise.get"> {
  const promise = tx.promise(data.id);
  if (promise === undefined) return fail("promise.get", errors.promiseNotFound(data.id));
  return ok("promise.get", { promise: projectPromise(promise, tx.now) });
}

export function promiseCreate(tx: Tx, data: PromiseCreateData): Response<"promise.create"> {
  const { promise } = createPromise(tx, data);
  return ok("promise.create", { promise: projectPromise(promise, tx.now) });
}

export interface CreateOptions {
  /** Defaults to now; a schedule passes the scheduled time. */
  createdAt?: number;
  /** task.create: the caller holds the new task (acquired v1) instead of it being dispatched. */
  holder?: { pid: string; ttl: number };
}

/** Create a promise (and its task when targeted), or return the existing one: create is idempotent by id. */
export function createPromise(
  tx: Tx,
  data: PromiseCreateData,
  options: CreateOptions = {},
): { promise: StoredPromise; created: boolean } {
  const existing = tx.promise(data.id);
  if (existing !== undefined) return { promise: existing, created: false };
  if (!tx.local(data.id)) {
    // Another call tree's partition (a schedule's tick, a fenced create of a foreign id): its owner creates it.
    const effect = { kind: "create" as const, data, ...(options.createdAt === undefined ? {} : { createdAt: options.createdAt }) };
    return tx.abroad(effect, () => createNew(tx, data, options));
  }
  return createNew(tx, data, options);
}

function createNew(tx: Tx, data: PromiseCreateData, options: CreateOptions): { promise: StoredPromise; created: boolean } {
  const now = tx.now;
  const createdAt = options.createdAt ?? now;
  const tags = { ...(data.tags ?? {}) };
  const target = targetOf({ tags });
  const base = {
    id: data.id,
    param: normalizeValue(data.param),
    tags,
    timeoutAt: data.timeoutAt,
    callbacks: [],
    listeners: [],
  };

  if (now >= data.timeoutAt) {
    // Born past its deadline: settled at the deadline, as a lazy timeout would.
    const promise = tx.putPromise({
      ...base,
      state: timeoutState({ tags }),
      value: emptyValue(),
      createdAt: Math.min(createdAt, data.timeoutAt),
      settledAt: data.timeoutAt,
    });
    if (target !== undefined) tx.putTask(newTask(promise, target, now, "fulfilled"));
    return { promise, created: true };
  }

  if (data.settled !== undefined) {
    const promise = tx.putPromise({
      ...base,
      state: data.settled.state,
      value: normalizeValue(data.settled.value),
      createdAt,
      settledAt: now,
    });
    return { promise, created: true };
  }

  const promise = tx.putPromise({ ...base, state: "pending", value: emptyValue(), createdAt });
  if (target !== undefined) {
    const task = newTask(promise, target, now, "pending");
    if (options.holder !== undefined) {
      const { pid, ttl } = options.holder;
      tx.putTask({ ...task, state: "acquired", version: 1, pid, ttl, leaseExpiresAt: now + ttl });
      return { promise, created: true };
    }
    const delay = tags[Tag.delay] === undefined ? undefined : Number(tags[Tag.delay]);
    if (delay !== undefined && delay > now && !isTimer(promise)) {
      // resonate:delay defers the first execute: the retry timer sends it.
      tx.putTask({ ...task, retryAt: delay });
    } else {
      dispatch(tx, task, promise);
    }
  }
  return { promise, created: true };
}

function newTask(promise: StoredPromise, address: string, now: number, state: "pending" | "fulfilled"): StoredTask {
  return { id: promise.id, state, version: 0, resumes: [], address, createdAt: now };
}

export function promiseSettle(tx: Tx, data: PromiseSettleData): Response<"promise.settle"> {
  const promise = tx.promise(data.id);
  if (promise === undefined) return fail("promise.settle", errors.promiseNotFound(data.id));
  if (promise.state !== "pending") return ok("promise.settle", { promise: projectPromise(promise, tx.now) });
  const value = normalizeValue(data.value);
  const run = () => settle(tx, promise, data.state, value, tx.now);
  // A fenced settle of another call tree's promise: its owner settles it.
  const settled = tx.local(data.id) ? run() : tx.abroad({ kind: "settle", id: data.id, state: data.state, value }, run);
  return ok("promise.settle", { promise: projectPromise(settled, tx.now) });
}

export function registerCallback(tx: Tx, data: PromiseRegisterCallbackData): Response<"promise.register_callback"> {
  const kind = "promise.register_callback";
  const awaited = tx.promise(data.awaited);
  if (awaited === undefined) return fail(kind, errors.promiseNotFound(data.awaited));
  const awaiter = tx.promise(data.awaiter);
  if (awaiter === undefined) return fail(kind, errors.awaiterNotFound(data.awaiter));
  const task = targetOf(awaiter) === undefined ? undefined : tx.task(data.awaiter);
  if (task === undefined) return fail(kind, errors.awaiterNotTargeted(data.awaiter));

  if (awaiter.state === "pending") {
    if (awaited.state === "pending") {
      addCallback(tx, awaited, awaiter.id);
    } else if (task.state === "suspended") {
      dispatch(tx, task, awaiter, { resumes: [awaited.id] });
    } else if (task.state === "pending" || task.state === "acquired") {
      addResume(tx, task, awaited.id);
    }
  }
  return ok(kind, { promise: projectPromise(tx.storedPromise(awaited.id)!, tx.now) });
}

export function registerListener(tx: Tx, data: PromiseRegisterListenerData): Response<"promise.register_listener"> {
  const kind = "promise.register_listener";
  const awaited = tx.promise(data.awaited);
  if (awaited === undefined) return fail(kind, errors.promiseNotFound(data.awaited));
  if (awaited.state === "pending" && !awaited.listeners.includes(data.address)) {
    if (awaited.listeners.length >= tx.config.maxListenersPerPromise) {
      return fail(kind, {
        status: 429,
        code: "RESOURCE_EXHAUSTED",
        message: `promise "${awaited.id}" already has ${tx.config.maxListenersPerPromise} listeners, the most a promise may have; wait with a listener already registered or watch it`,
      });
    }
    tx.putPromise({ ...awaited, listeners: [...awaited.listeners, data.address] });
  }
  return ok(kind, { promise: projectPromise(awaited, tx.now) });
}
