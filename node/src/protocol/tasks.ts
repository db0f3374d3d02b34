// task.get, task.create, task.acquire, task.release, task.suspend,
// task.fulfill, task.fence, task.heartbeat, task.halt, task.continue.

import { applyFencedWrites } from "./fence-batch.ts";
import { createPromise, promiseCreate, promiseSettle } from "./promises.ts";
import { normalizeValue, patch, projectPromise, publicTask } from "./records.ts";
import { errors, fail, ok } from "./responses.ts";
import { addCallback, dispatch, fulfil, settle } from "./settle.ts";
import type { Tx } from "./tx.ts";
import type { Kind, ProtocolError, RequestOf, Response, StoredPromise, StoredTask } from "./types.ts";

type DataOf<K extends Kind> = RequestOf<K>["data"];

interface Loaded {
  task: StoredTask;
  promise: StoredPromise;
}

/** The task and its promise, in effective state; undefined when there is no such task. */
function load(tx: Tx, id: string): Loaded | undefined {
  const task = tx.task(id);
  const promise = task === undefined ? undefined : tx.storedPromise(id);
  return task === undefined || promise === undefined ? undefined : { task, promise };
}

/** The task must be acquired at `version`: the fence every holder operation passes. */
export function held(tx: Tx, id: string, version: number): Loaded | ProtocolError {
  const loaded = load(tx, id);
  if (loaded === undefined) return errors.taskNotFound(id);
  const { task } = loaded;
  if (task.state !== "acquired") return errors.taskState(id, task.state, "acquired");
  if (task.version !== version) return errors.taskVersion(id, task.version, version);
  return loaded;
}

export function isError(x: Loaded | ProtocolError): x is ProtocolError {
  return "status" in x;
}

function acquire(tx: Tx, task: StoredTask, pid: string, ttl: number): StoredTask {
  return tx.putTask(
    patch(task, {
      state: "acquired",
      version: task.version + 1,
      pid,
      ttl,
      leaseExpiresAt: tx.now + ttl,
      resumes: [],
      retryAt: undefined,
    }),
  );
}

/** The answer of acquire and create: the task, its promise and the preload. */
function acquiredAnswer(tx: Tx, task: StoredTask, promise: StoredPromise) {
  return { task: publicTask(task, projectPromise(promise, tx.now)), promise: projectPromise(promise, tx.now), preload: tx.preload(promise) };
}

export function taskGet(tx: Tx, data: DataOf<"task.get">): Response<"task.get"> {
  const loaded = load(tx, data.id);
  if (loaded === undefined) return fail("task.get", errors.taskNotFound(data.id));
  return ok("task.get", { task: publicTask(loaded.task, projectPromise(loaded.promise, tx.now)) });
}

export function taskCreate(tx: Tx, data: DataOf<"task.create">): Response<"task.create"> {
  const kind = "task.create";
  const id = data.action.data.id;
  const { promise, created } = createPromise(tx, data.action.data, { holder: { pid: data.pid, ttl: data.ttl } });
  const task = tx.task(id);
  if (task === undefined) return fail(kind, errors.promiseWithoutTask(id));
  if (created || task.state === "fulfilled") return ok(kind, acquiredAnswer(tx, task, tx.storedPromise(id)!));
  if (task.state === "pending") return ok(kind, acquiredAnswer(tx, acquire(tx, task, data.pid, data.ttl), promise));
  return fail(kind, errors.taskExists(id, task.state));
}

export function taskAcquire(tx: Tx, data: DataOf<"task.acquire">): Response<"task.acquire"> {
  const kind = "task.acquire";
  const loaded = load(tx, data.id);
  if (loaded === undefined) return fail(kind, errors.taskNotFound(data.id));
  const { task, promise } = loaded;
  if (task.state !== "pending") return fail(kind, errors.taskState(data.id, task.state, "pending"));
  if (task.version !== data.version) return fail(kind, errors.taskVersion(data.id, task.version, data.version));
  return ok(kind, acquiredAnswer(tx, acquire(tx, task, data.pid, data.ttl), promise));
}

export function taskRelease(tx: Tx, data: DataOf<"task.release">): Response<"task.release"> {
  const loaded = held(tx, data.id, data.version);
  if (isError(loaded)) return fail("task.release", loaded);
  dispatch(tx, loaded.task, loaded.promise);
  return ok("task.release", {});
}

export function taskSuspend(tx: Tx, data: DataOf<"task.suspend">): Response<"task.suspend"> {
  const kind = "task.suspend";
  const loaded = held(tx, data.id, data.version);
  if (isError(loaded)) return fail(kind, loaded);
  const { task, promise } = loaded;

  const ids = [...new Set(data.actions.map((a) => a.data.awaited))];
  const awaited: StoredPromise[] = [];
  for (const id of ids) {
    const p = tx.promise(id);
    if (p === undefined) return fail(kind, errors.awaitedNotFound(id));
    awaited.push(p);
  }

  // The task must be read again: reading the awaited may have timed them out and resumed it.
  const current = tx.storedTask(task.id)!;
  if (awaited.some((p) => p.state !== "pending")) {
    // Redirect: something it waits for is already there; keep running, nothing registered.
    if (current.resumes.length > 0) tx.putTask({ ...current, resumes: [] });
    return ok(kind, { preload: tx.preload(promise) }, 300);
  }
  for (const { id } of awaited) addCallback(tx, tx.storedPromise(id)!, task.id);
  tx.putTask(
    patch(current, { state: "suspended", pid: undefined, ttl: undefined, leaseExpiresAt: undefined, retryAt: undefined }),
  );
  return ok(kind, {});
}

export function taskFulfill(tx: Tx, data: DataOf<"task.fulfill">): Response<"task.fulfill"> {
  const kind = "task.fulfill";
  if (data.actions !== undefined && data.actions.length > 0) return fulfillWithWrites(tx, data);
  const loaded = load(tx, data.id);
  if (loaded === undefined) return fail(kind, errors.taskNotFound(data.id));
  const { task, promise } = loaded;
  if (task.state !== "acquired" && task.state !== "fulfilled") {
    return fail(kind, errors.taskState(data.id, task.state, "acquired"));
  }
  if (task.version !== data.version) return fail(kind, errors.taskVersion(data.id, task.version, data.version));
  // A fulfilled task at the same version: the promise settled meanwhile, or this is a retry.
  const settled =
    promise.state === "pending"
      ? settle(tx, promise, data.action.data.state, normalizeValue(data.action.data.value), tx.now)
      : promise;
  fulfil(tx, tx.storedTask(data.id)!);
  return ok(kind, { promise: projectPromise(settled, tx.now) });
}

/**
 * task.fulfill carrying fenced writes (our extension): exactly task.fence_batch
 * then task.fulfill, in one transition. So the fence is the batch's (acquired
 * at `version`; a task fulfilled already refuses, as the batch would), the
 * writes run in order (fence-batch.ts), then the root settles; one commit.
 * A node whose store prefers one commit per record unit runs the two
 * requests one after the other instead (mesh/node.ts fulfillInTwo).
 */
function fulfillWithWrites(tx: Tx, data: DataOf<"task.fulfill">): Response<"task.fulfill"> {
  const kind = "task.fulfill";
  const loaded = held(tx, data.id, data.version);
  if (isError(loaded)) return fail(kind, loaded);
  const actions = applyFencedWrites(tx, data.actions!);
  // The writes may have timed out or resumed nothing of the root, but read it again all the same.
  const promise = tx.storedPromise(data.id)!;
  const settled =
    promise.state === "pending"
      ? settle(tx, promise, data.action.data.state, normalizeValue(data.action.data.value), tx.now)
      : promise;
  fulfil(tx, tx.storedTask(data.id)!);
  return ok(kind, { promise: projectPromise(settled, tx.now), actions });
}

export function taskFence(tx: Tx, data: DataOf<"task.fence">): Response<"task.fence"> {
  const kind = "task.fence";
  const loaded = held(tx, data.id, data.version);
  if (isError(loaded)) return fail(kind, loaded);
  const action =
    data.action.kind === "promise.create" ? promiseCreate(tx, data.action.data) : promiseSettle(tx, data.action.data);
  // The preload stays empty: workers replay from the acquire's preload, and
  // re-reading the branch on every fenced step made fan-outs quadratic.
  return ok(kind, { action, preload: [] });
}

export function taskHeartbeat(tx: Tx, data: DataOf<"task.heartbeat">): Response<"task.heartbeat"> {
  for (const ref of data.tasks) {
    const task = tx.task(ref.id);
    if (task === undefined || task.state !== "acquired" || task.version !== ref.version || task.pid !== data.pid) continue;
    const extend = () => tx.putTask({ ...task, leaseExpiresAt: tx.now + task.ttl! });
    // Tasks of several call trees in one call: each partition's owner extends its own.
    if (tx.local(ref.id)) extend();
    else tx.abroad({ kind: "extend", id: ref.id, version: ref.version, pid: data.pid }, extend);
  }
  return ok("task.heartbeat", {});
}

export function taskHalt(tx: Tx, data: DataOf<"task.halt">): Response<"task.halt"> {
  const loaded = load(tx, data.id);
  if (loaded === undefined) return fail("task.halt", errors.taskNotFound(data.id));
  const { task } = loaded;
  if (task.state === "fulfilled") return fail("task.halt", errors.taskState(data.id, "fulfilled", "not fulfilled"));
  if (task.state !== "halted") {
    tx.putTask(
      patch(task, { state: "halted", pid: undefined, ttl: undefined, leaseExpiresAt: undefined, retryAt: undefined }),
    );
  }
  return ok("task.halt", {});
}

export function taskContinue(tx: Tx, data: DataOf<"task.continue">): Response<"task.continue"> {
  const loaded = load(tx, data.id);
  if (loaded === undefined) return fail("task.continue", errors.taskNotFound(data.id));
  if (loaded.task.state !== "halted") {
    return fail("task.continue", errors.taskState(data.id, loaded.task.state, "halted"));
  }
  dispatch(tx, loaded.task, loaded.promise);
  return ok("task.continue", {});
}
