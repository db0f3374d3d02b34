// Settlement and what it causes: the promise's own task is fulfilled, every
// awaiter registered as a callback is woken, every listener gets one unblock.
// Also the one way a task is (re)dispatched, so the timer-promise rule lives
// in one place.

import { emptyValue, isTimer, patch, projectPromise, timeoutState } from "./records.ts";
import type { Tx } from "./tx.ts";
import type { PromiseRecord, PromiseState, StoredPromise, StoredTask, Value } from "./types.ts";

/** Settle a pending promise and fire its triggers; returns the settled record. */
export function settle(tx: Tx, promise: StoredPromise, state: PromiseState, value: Value, settledAt: number): StoredPromise {
  const settled = tx.putPromise({ ...promise, state, value, settledAt, callbacks: [], listeners: [] });
  // Written before the triggers run, so an awaiter chain that leads back here sees it settled.
  const task = tx.storedTask(settled.id);
  if (task !== undefined) fulfil(tx, task);
  for (const awaiter of promise.callbacks) wake(tx, awaiter, settled.id);
  const view = projectPromise(settled, tx.now);
  for (const address of promise.listeners) tx.send({ kind: "unblock", address, promise: view });
  return settled;
}

/** Settle a pending promise whose deadline passed: settledAt is the deadline, not now. */
export function timeOut(tx: Tx, promise: StoredPromise): StoredPromise {
  return settle(tx, promise, timeoutState(promise), emptyValue(), promise.timeoutAt);
}

export function fulfil(tx: Tx, task: StoredTask): StoredTask {
  if (task.state === "fulfilled") return task;
  return tx.putTask(
    patch(task, {
      state: "fulfilled",
      resumes: [],
      pid: undefined,
      ttl: undefined,
      leaseExpiresAt: undefined,
      retryAt: undefined,
    }),
  );
}

/** A task whose promise is settled is fulfilled (finishing a half-applied settlement). */
export function repairTask(tx: Tx, task: StoredTask, promise: PromiseRecord): StoredTask {
  return promise.state !== "pending" && task.state !== "fulfilled" ? fulfil(tx, task) : task;
}

/**
 * Make a task pending and send `execute` to its address, to be sent again at
 * `retryAt` until acquired. The task of a timer promise is never dispatched:
 * a worker would drop it, and the timeout is what completes it.
 */
export function dispatch(tx: Tx, task: StoredTask, promise: PromiseRecord, changes: Partial<StoredTask> = {}): StoredTask {
  const timer = isTimer(promise);
  const next = tx.putTask(
    patch(task, {
      ...changes,
      state: "pending",
      pid: undefined,
      ttl: undefined,
      leaseExpiresAt: undefined,
      retryAt: timer ? undefined : tx.now + tx.config.retryIntervalMs,
    }),
  );
  if (!timer) tx.send({ kind: "execute", address: next.address, task: { id: next.id, version: next.version } });
  return next;
}

/** Resume the awaiter here, or through the outbox when its call tree lives in another partition. */
export function wake(tx: Tx, awaiterId: string, awaited: string): void {
  if (tx.local(awaiterId)) resume(tx, awaiterId, awaited);
  else tx.defer({ kind: "resume", awaiter: awaiterId, awaited });
}

/** Register `awaiterId` as a callback of the pending `awaited` (through the outbox when it lives elsewhere). */
export function addCallback(tx: Tx, awaited: StoredPromise, awaiterId: string): void {
  if (awaited.callbacks.includes(awaiterId)) return;
  const put = () => tx.putPromise({ ...awaited, callbacks: [...awaited.callbacks, awaiterId] });
  if (tx.local(awaited.id)) put();
  else tx.abroad({ kind: "callback", awaited: awaited.id, awaiter: awaiterId }, put);
}

/** Record that `awaited` settled on the task of `awaiterId`, waking it if it is suspended. */
export function resume(tx: Tx, awaiterId: string, awaited: string): void {
  const awaiter = tx.promise(awaiterId);
  if (awaiter === undefined || awaiter.state !== "pending") return;
  const task = tx.task(awaiterId);
  if (task === undefined) return;
  switch (task.state) {
    case "suspended":
      dispatch(tx, task, awaiter, { resumes: [awaited] });
      return;
    case "pending":
    case "acquired":
    case "halted":
      addResume(tx, task, awaited);
      return;
    case "fulfilled":
      return;
  }
}

export function addResume(tx: Tx, task: StoredTask, awaited: string): StoredTask {
  if (task.resumes.includes(awaited)) return task;
  return tx.putTask({ ...task, resumes: [...task.resumes, awaited] });
}
