// The protocol as one pure function: (records, request, now) -> (new records,
// response, messages). Validates first; a bad request answers 400 and writes
// nothing. Deterministic and free of side effects, so an engine may run it
// again after the snapshot threw to load a missing record.

import { defaultProtocolConfig, resolveConfig, type ProtocolConfig } from "./config.ts";
import {
  promiseCreate,
  promiseGet,
  promiseSettle,
  registerCallback,
  registerListener,
} from "./promises.ts";
import { taskFenceBatch } from "./fence-batch.ts";
import { fail, protocolError } from "./responses.ts";
import { scheduleCreate, scheduleDelete, scheduleGet } from "./schedules.ts";
import {
  taskAcquire,
  taskContinue,
  taskCreate,
  taskFence,
  taskFulfill,
  taskGet,
  taskHalt,
  taskHeartbeat,
  taskRelease,
  taskSuspend,
} from "./tasks.ts";
import type { Locality } from "./outbox.ts";
import { Tx } from "./tx.ts";
import type { Kind, RequestOf, Response, Snapshot, Transition } from "./types.ts";
import { validateRequest } from "./validate.ts";

/** The kinds served from a store listing (see search.ts), not by `transition`. */
export type SearchKind = "promise.search" | "task.search" | "schedule.search";
export type TransitionKind = Exclude<Kind, SearchKind>;

type Handler = (tx: Tx, data: never) => Response;

const handlers: Record<TransitionKind, Handler> = {
  "promise.get": promiseGet,
  "promise.create": promiseCreate,
  "promise.settle": promiseSettle,
  "promise.register_callback": registerCallback,
  "promise.register_listener": registerListener,
  "task.get": taskGet,
  "task.create": taskCreate,
  "task.acquire": taskAcquire,
  "task.release": taskRelease,
  "task.suspend": taskSuspend,
  "task.fulfill": taskFulfill,
  "task.fence": taskFence,
  "task.fence_batch": taskFenceBatch,
  "task.heartbeat": taskHeartbeat,
  "task.halt": taskHalt,
  "task.continue": taskContinue,
  "schedule.get": scheduleGet,
  "schedule.create": scheduleCreate,
  "schedule.delete": scheduleDelete,
};

// The node passes the same config object on every call: resolve it once, so the
// validation cache (keyed by config) hits and no copy is made per request.
const resolvedConfigs = new WeakMap<Partial<ProtocolConfig>, ProtocolConfig>();
function resolved(config: Partial<ProtocolConfig> | undefined): ProtocolConfig {
  if (config === undefined) return resolveConfig(undefined);
  let cfg = resolvedConfigs.get(config);
  if (cfg === undefined) {
    // A config that already has every field (the node's own) is used as it is.
    const complete = Object.keys(defaultProtocolConfig).every((key) => key in config);
    resolvedConfigs.set(config, (cfg = complete ? (config as ProtocolConfig) : resolveConfig(config)));
  }
  return cfg;
}

export function transition<K extends Kind>(
  snapshot: Snapshot,
  request: RequestOf<K>,
  now: number,
  config?: Partial<ProtocolConfig>,
  locality?: Locality,
): Transition<K> {
  const cfg = resolved(config);
  const problem = validateRequest(request, cfg);
  if (problem !== undefined) {
    const kind = (typeof request?.kind === "string" ? request.kind : "") as K;
    return { response: fail(kind, problem), writes: [], messages: [] };
  }
  const kind = request.kind as K;
  const handler = (handlers as Partial<Record<Kind, Handler>>)[kind];
  if (handler === undefined) {
    const error = protocolError(
      500,
      "INTERNAL",
      `${kind} is served from a store listing with the helpers of protocol/search.ts, not by transition()`,
    );
    return { response: fail(kind, error), writes: [], messages: [] };
  }
  const tx = new Tx(snapshot, now, cfg, locality);
  const response = handler(tx, request.data as never) as Response<K>;
  return { response, writes: tx.writes, messages: tx.messages, effects: tx.effects };
}
