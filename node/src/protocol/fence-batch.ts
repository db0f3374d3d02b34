// task.fence_batch, our extension: several fenced writes (promise creates and
// settles) of one task in one call. Why: a worker whose steps start in the
// same turn of its event loop, or complete together, would otherwise pay one
// round trip and one store commit per step.
//
// The rules, so that a batch is exactly its writes sent one by one as
// task.fence calls, minus the round trips:
// - the whole request is validated first; one bad action refuses the batch
//   (400, the field named `data.actions[i]...`) and nothing is written;
// - the fence (task acquired at `version`) is checked once: when it fails the
//   batch fails with its status and nothing is written. Checking once equals
//   checking before each write because no fenced write can move the task:
//   a write never names the task's own promise (validation), and creating or
//   settling another promise at most records a resume on it;
// - the actions run in order in one transition, each seeing the ones before
//   it (create then settle of one id works), and each gets the answer its
//   task.fence would have carried: a settle of a missing promise is a 404 in
//   its slot, not a failure of the batch;
// - all writes commit together (one compare-and-set), so a crash or a lost
//   race leaves either the whole batch or none of it.
//
// task.fulfill may carry the same writes as its `actions` (tasks.ts): they
// are a batch applied by the same rules, right before the settlement and in
// its commit, so a worker's last steps and its result cost one round trip.

import { promiseCreate, promiseSettle } from "./promises.ts";
import { fail, ok } from "./responses.ts";
import { held, isError } from "./tasks.ts";
import type { Tx } from "./tx.ts";
import type { FencedAnswer, FencedWrite, RequestOf, Response } from "./types.ts";

/** Most actions one batch may carry: bounds one commit's size. */
export const MAX_FENCE_BATCH = 1000;

export function taskFenceBatch(tx: Tx, data: RequestOf<"task.fence_batch">["data"]): Response<"task.fence_batch"> {
  const kind = "task.fence_batch";
  const fence = held(tx, data.id, data.version);
  if (isError(fence)) return fail(kind, fence);
  return ok(kind, { actions: applyFencedWrites(tx, data.actions) });
}

/** The writes of a batch whose fence held, in order, each seeing the ones before it; one answer each. */
export function applyFencedWrites(tx: Tx, actions: readonly FencedWrite[]): FencedAnswer[] {
  return actions.map((action) =>
    action.kind === "promise.create" ? promiseCreate(tx, action.data) : promiseSettle(tx, action.data),
  );
}
