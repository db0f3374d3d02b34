// The random operation generator of the protocol property tests, shared by
// the invariants test (over the in-memory World) and the engine differential
// test (memory vs JetStream, test/mesh): operations over a small id space,
// each turned into a protocol request at a given time.

import fc from "fast-check";
import { originOf } from "../../src/protocol/ids.ts";
import { Tag, type FencedWrite, type Request, type RequestOf } from "../../src/protocol/types.ts";

const ROOTS = ["a", "b"];
export const IDS = ["a", "a.1", "a.2", "b", "b.1"];
const PIDS = ["w1", "w2"];
const TARGET = "poll://any@g";

const id = fc.constantFrom(...IDS);
const pid = fc.constantFrom(...PIDS);
const ttl = fc.constantFrom(1_000, 10_000);
/** A version: usually the task's current one, so real transitions happen; sometimes a stale guess. */
const version = fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(3) });

export type Op =
  | { op: "create"; id: string; targeted: boolean; timer: boolean; timeout: number; delay: boolean; settled: boolean }
  | { op: "settle"; id: string; state: "resolved" | "rejected" | "rejected_canceled" }
  | { op: "callback"; awaited: string; awaiter: string }
  | { op: "listener"; id: string }
  | { op: "taskCreate"; id: string; pid: string; ttl: number; timeout: number }
  | { op: "acquire"; id: string; version: number; pid: string; ttl: number }
  | { op: "release" | "fulfill" | "fenceCreate" | "fenceSettle"; id: string; version: number; child: string }
  | { op: "fulfillWrites"; id: string; version: number; child: string; settleChild: boolean }
  | { op: "suspend"; id: string; version: number; awaited: string[] }
  | { op: "heartbeat"; pid: string; ids: string[] }
  | { op: "halt" | "continue" | "get" | "taskGet"; id: string }
  | { op: "schedule"; remove: boolean }
  | { op: "advance"; ms: number }
  | { op: "timers" };

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("create" as const), id, targeted: fc.boolean(), timer: fc.boolean(), timeout: fc.constantFrom(-100, 500, 5_000, 60_000), delay: fc.boolean(), settled: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("settle" as const), id, state: fc.constantFrom("resolved" as const, "rejected" as const, "rejected_canceled" as const) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("callback" as const), awaited: id, awaiter: id }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("listener" as const), id }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("taskCreate" as const), id, pid, ttl, timeout: fc.constantFrom(-1, 5_000, 60_000) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("acquire" as const), id, version, pid, ttl }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom("release" as const, "fulfill" as const, "fenceCreate" as const, "fenceSettle" as const), id, version, child: id }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("fulfillWrites" as const), id, version, child: id, settleChild: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("suspend" as const), id, version, awaited: fc.uniqueArray(id, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("heartbeat" as const), pid, ids: fc.uniqueArray(id, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom("halt" as const, "continue" as const, "get" as const, "taskGet" as const), id }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("schedule" as const), remove: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.constantFrom(1, 400, 2_000, 15_000, 40_000) }) },
  { weight: 3, arbitrary: fc.constant({ op: "timers" as const }) },
);

/** The version a request names: -1 asks for the task's current one (read through `versionOf`). */
type VersionOf = (taskId: string) => number | undefined;

/**
 * The request an operation stands for at time `now`; undefined for the
 * operations that are not requests (advance, timers).
 */
export function toRequest(o: Op, now: number, versionOf: VersionOf): Request | undefined {
  const currentVersion = (taskId: string, v: number): number => (v === -1 ? (versionOf(taskId) ?? 0) : v);
  switch (o.op) {
    case "create": {
      const tags: Record<string, string> = {};
      if (o.targeted) tags[Tag.target] = TARGET;
      if (o.timer) tags[Tag.timer] = "true";
      if (o.delay && o.targeted && o.timeout > 1_000) tags[Tag.delay] = String(now + 1_000);
      tags[Tag.branch] = ROOTS.includes(o.id) ? o.id : o.id.slice(0, 1);
      const settled = o.settled && !o.targeted ? { state: "resolved" as const } : undefined;
      return { kind: "promise.create", data: { id: o.id, timeoutAt: Math.max(0, now + o.timeout), tags, ...(settled ? { settled } : {}) } };
    }
    case "settle":
      return { kind: "promise.settle", data: { id: o.id, state: o.state } };
    case "callback":
      return { kind: "promise.register_callback", data: { awaited: o.awaited, awaiter: o.awaiter } };
    case "listener":
      return { kind: "promise.register_listener", data: { awaited: o.id, address: "poll://uni@c/1" } };
    case "taskCreate":
      return {
        kind: "task.create",
        data: { pid: o.pid, ttl: o.ttl, action: { kind: "promise.create", data: { id: o.id, timeoutAt: Math.max(0, now + o.timeout), tags: { [Tag.target]: TARGET } } } },
      };
    case "acquire":
      return { kind: "task.acquire", data: { id: o.id, version: currentVersion(o.id, o.version), pid: o.pid, ttl: o.ttl } };
    case "release":
      return { kind: "task.release", data: { id: o.id, version: currentVersion(o.id, o.version) } };
    case "fulfill":
      return {
        kind: "task.fulfill",
        data: { id: o.id, version: currentVersion(o.id, o.version), action: { kind: "promise.settle", data: { id: o.id, state: "resolved" } } },
      };
    case "fulfillWrites": {
      // A worker's last step rides its fulfill (our extension): the step's promise created, maybe settled, then the root settled.
      // Well-formed: a write never names the task's own promise (validation has its own tests).
      const child = o.child !== o.id ? o.child : IDS.find((i) => i !== o.id)!;
      const actions: FencedWrite[] = [{ kind: "promise.create", data: { id: child, timeoutAt: now + 3_000, tags: { [Tag.target]: TARGET } } }];
      if (o.settleChild) actions.push({ kind: "promise.settle", data: { id: child, state: "resolved" } });
      return {
        kind: "task.fulfill",
        data: { id: o.id, version: currentVersion(o.id, o.version), action: { kind: "promise.settle", data: { id: o.id, state: "resolved" } }, actions },
      };
    }
    case "fenceCreate":
    case "fenceSettle": {
      const action: RequestOf<"promise.create"> | RequestOf<"promise.settle"> =
        o.op === "fenceCreate"
          ? { kind: "promise.create", data: { id: o.child, timeoutAt: now + 3_000, tags: { [Tag.target]: TARGET } } }
          : { kind: "promise.settle", data: { id: o.child, state: "rejected" } };
      return { kind: "task.fence", data: { id: o.id, version: currentVersion(o.id, o.version), action } };
    }
    case "suspend": {
      // Mostly well-formed: same origin, not itself (validation has its own tests).
      const valid = (a: string) => a !== o.id && originOf(a) === originOf(o.id);
      const awaited = o.awaited.filter(valid);
      if (awaited.length === 0) awaited.push(IDS.find(valid)!);
      return {
        kind: "task.suspend",
        data: {
          id: o.id,
          version: currentVersion(o.id, o.version),
          actions: awaited.map((a) => ({ kind: "promise.register_callback" as const, data: { awaited: a, awaiter: o.id } })),
        },
      };
    }
    case "heartbeat":
      return { kind: "task.heartbeat", data: { pid: o.pid, tasks: o.ids.map((i) => ({ id: i, version: currentVersion(i, -1) })) } };
    case "halt":
      return { kind: "task.halt", data: { id: o.id } };
    case "continue":
      return { kind: "task.continue", data: { id: o.id } };
    case "get":
      return { kind: "promise.get", data: { id: o.id } };
    case "taskGet":
      return { kind: "task.get", data: { id: o.id } };
    case "schedule":
      return o.remove
        ? { kind: "schedule.delete", data: { id: "s" } }
        : { kind: "schedule.create", data: { id: "s", cron: "*/20 * * * * *", promiseId: "a.{{.timestamp}}", promiseTimeout: 30_000, promiseTags: { [Tag.target]: TARGET } } };
    default:
      return undefined;
  }
}

