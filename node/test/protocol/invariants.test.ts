// Property tests: random sequences of operations, timer transitions and clock
// advances over a small id space keep the protocol's invariants.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { originOf } from "../../src/protocol/ids.ts";
import { dueAt } from "../../src/protocol/timers.ts";
import { transition } from "../../src/protocol/transition.ts";
import { Tag, type Request, type RequestOf, type Response, type StoredPromise } from "../../src/protocol/types.ts";
import { World } from "./harness.ts";

const ROOTS = ["a", "b"];
const IDS = ["a", "a.1", "a.2", "b", "b.1"];
const PIDS = ["w1", "w2"];
const TARGET = "poll://any@g";

const id = fc.constantFrom(...IDS);
const pid = fc.constantFrom(...PIDS);
const ttl = fc.constantFrom(1_000, 10_000);
/** A version: usually the task's current one, so real transitions happen; sometimes a stale guess. */
const version = fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(3) });

type Op =
  | { op: "create"; id: string; targeted: boolean; timer: boolean; timeout: number; delay: boolean; settled: boolean }
  | { op: "settle"; id: string; state: "resolved" | "rejected" | "rejected_canceled" }
  | { op: "callback"; awaited: string; awaiter: string }
  | { op: "listener"; id: string }
  | { op: "taskCreate"; id: string; pid: string; ttl: number; timeout: number }
  | { op: "acquire"; id: string; version: number; pid: string; ttl: number }
  | { op: "release" | "fulfill" | "fenceCreate" | "fenceSettle"; id: string; version: number; child: string }
  | { op: "suspend"; id: string; version: number; awaited: string[] }
  | { op: "heartbeat"; pid: string; ids: string[] }
  | { op: "halt" | "continue" | "get" | "taskGet"; id: string }
  | { op: "schedule"; remove: boolean }
  | { op: "advance"; ms: number }
  | { op: "timers" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("create" as const), id, targeted: fc.boolean(), timer: fc.boolean(), timeout: fc.constantFrom(-100, 500, 5_000, 60_000), delay: fc.boolean(), settled: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("settle" as const), id, state: fc.constantFrom("resolved" as const, "rejected" as const, "rejected_canceled" as const) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("callback" as const), awaited: id, awaiter: id }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("listener" as const), id }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("taskCreate" as const), id, pid, ttl, timeout: fc.constantFrom(-1, 5_000, 60_000) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("acquire" as const), id, version, pid, ttl }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom("release" as const, "fulfill" as const, "fenceCreate" as const, "fenceSettle" as const), id, version, child: id }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("suspend" as const), id, version, awaited: fc.uniqueArray(id, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("heartbeat" as const), pid, ids: fc.uniqueArray(id, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom("halt" as const, "continue" as const, "get" as const, "taskGet" as const), id }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("schedule" as const), remove: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.constantFrom(1, 400, 2_000, 15_000, 40_000) }) },
  { weight: 3, arbitrary: fc.constant({ op: "timers" as const }) },
);

function currentVersion(w: World, taskId: string, v: number): number {
  return v === -1 ? (w.tasks.get(taskId)?.version ?? 0) : v;
}

function toRequest(w: World, o: Op): Request | undefined {
  const now = w.now;
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
      return { kind: "task.acquire", data: { id: o.id, version: currentVersion(w, o.id, o.version), pid: o.pid, ttl: o.ttl } };
    case "release":
      return { kind: "task.release", data: { id: o.id, version: currentVersion(w, o.id, o.version) } };
    case "fulfill":
      return {
        kind: "task.fulfill",
        data: { id: o.id, version: currentVersion(w, o.id, o.version), action: { kind: "promise.settle", data: { id: o.id, state: "resolved" } } },
      };
    case "fenceCreate":
    case "fenceSettle": {
      const action: RequestOf<"promise.create"> | RequestOf<"promise.settle"> =
        o.op === "fenceCreate"
          ? { kind: "promise.create", data: { id: o.child, timeoutAt: now + 3_000, tags: { [Tag.target]: TARGET } } }
          : { kind: "promise.settle", data: { id: o.child, state: "rejected" } };
      return { kind: "task.fence", data: { id: o.id, version: currentVersion(w, o.id, o.version), action } };
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
          version: currentVersion(w, o.id, o.version),
          actions: awaited.map((a) => ({ kind: "promise.register_callback" as const, data: { awaited: a, awaiter: o.id } })),
        },
      };
    }
    case "heartbeat":
      return { kind: "task.heartbeat", data: { pid: o.pid, tasks: o.ids.map((i) => ({ id: i, version: currentVersion(w, i, -1) })) } };
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

/** Fire every timer that is due, as the timer loop would, in a stable order. */
function runTimers(w: World): void {
  for (const p of [...w.promises.values()]) if ((dueAt("promise", p) ?? Infinity) <= w.now) w.timeout(p.id);
  for (const t of [...w.tasks.values()]) {
    const due = dueAt("task", t) ?? Infinity;
    if (due > w.now) continue;
    if (t.state === "acquired") w.expire(t.id);
    else w.retry(t.id);
  }
  for (const s of [...w.schedules.values()]) if (s.nextRunAt <= w.now) w.fire(s.id);
}

const STATUSES: Record<string, number[]> = {
  "promise.get": [200, 404],
  "promise.create": [200],
  "promise.settle": [200, 404],
  // 400 only where the generator may pair ids of different origins or a promise with itself.
  "promise.register_callback": [200, 400, 404, 422],
  "promise.register_listener": [200, 404],
  "task.get": [200, 404],
  "task.create": [200, 409, 422],
  "task.acquire": [200, 404, 409],
  "task.release": [200, 404, 409],
  "task.suspend": [200, 300, 404, 409, 422],
  "task.fulfill": [200, 404, 409],
  "task.fence": [200, 400, 404, 409],
  "task.heartbeat": [200],
  "task.halt": [200, 404, 409],
  "task.continue": [200, 404, 409],
  "schedule.create": [200],
  "schedule.delete": [200, 404],
};

interface Seen {
  settled: Map<string, StoredPromise>;
  versions: Map<string, number>;
}

function checkInvariants(w: World, seen: Seen): void {
  for (const p of w.promises.values()) {
    const task = w.tasks.get(p.id);
    // A promise has a task iff it is targeted.
    expect(task !== undefined, `task of ${p.id}`).toBe(p.tags[Tag.target] !== undefined);
    if (p.state !== "pending") {
      // A settled promise never changes.
      const before = seen.settled.get(p.id);
      if (before !== undefined) expect(p, `settled ${p.id} changed`).toEqual(before);
      else seen.settled.set(p.id, p);
      // Callbacks and listeners are empty once settled.
      expect(p.callbacks).toEqual([]);
      expect(p.listeners).toEqual([]);
      expect(p.settledAt).toBeGreaterThanOrEqual(p.createdAt);
      // The task of a settled promise is fulfilled.
      if (task !== undefined) expect(task.state, `task of settled ${p.id}`).toBe("fulfilled");
    }
    // A timed-out promise has settledAt == timeoutAt.
    if (p.state === "rejected_timedout") expect(p.settledAt).toBe(p.timeoutAt);
  }
  for (const t of w.tasks.values()) {
    const p = w.promises.get(t.id)!;
    // Versions only grow.
    expect(t.version).toBeGreaterThanOrEqual(seen.versions.get(t.id) ?? 0);
    seen.versions.set(t.id, t.version);
    // At most one holder: an acquired task has exactly one pid and lease; any other has none.
    const holder = [t.pid, t.ttl, t.leaseExpiresAt].filter((x) => x !== undefined).length;
    expect(holder, `holder fields of ${t.id} (${t.state})`).toBe(t.state === "acquired" ? 3 : 0);
    // An acquired task's promise is pending; a fulfilled task's promise is settled.
    if (t.state === "acquired") expect(p.state).toBe("pending");
    if (t.state === "fulfilled") expect(p.state).not.toBe("pending");
    // A pending task waits for a retry unless it belongs to a timer; a timer's task never does.
    if (p.tags[Tag.timer] === "true") expect(t.retryAt).toBeUndefined();
    else expect(t.retryAt !== undefined).toBe(t.state === "pending");
  }
}

function runSequence(ops: Op[]): void {
  const w = new World(1_000_000);
  const seen: Seen = { settled: new Map(), versions: new Map() };
  for (const o of ops) {
    if (o.op === "advance") w.advance(o.ms);
    else if (o.op === "timers") runTimers(w);
    else {
      const request = toRequest(w, o)!;
      const again = transition(w, request, w.now);
      const t = w.run(request);
      // Deterministic: the same input gives the same output.
      expect(t).toEqual(again);
      const response: Response = t.response;
      expect(STATUSES[request.kind], `${request.kind} answered ${response.status}`).toContain(response.status);
      if (response.status >= 400) expect(t.writes.filter((x) => x.type === "schedule")).toEqual([]);
      // Execute goes only to tasks that exist, at their current version, and never for a timer.
      for (const m of t.messages) {
        if (m.kind !== "execute") continue;
        expect(w.tasks.get(m.task.id)?.version).toBe(m.task.version);
        expect(w.promises.get(m.task.id)!.tags[Tag.timer]).toBeUndefined();
      }
    }
    checkInvariants(w, seen);
  }
}

describe("protocol invariants under random operation sequences", () => {
  test("hold after every step", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }), (ops) => runSequence(ops)),
      { numRuns: 400 },
    );
  });

  test("the generator reaches the interesting states (suspended, resumed, timed out, redirected)", () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }), (ops) => {
        const w = new World(1_000_000);
        for (const o of ops) {
          if (o.op === "advance") w.advance(o.ms);
          else if (o.op === "timers") runTimers(w);
          else {
            const r = w.send(toRequest(w, o)!);
            if (r.status === 300) reached.add("redirect");
          }
          for (const t of w.tasks.values()) {
            reached.add(t.state);
            if (t.resumes.length > 0) reached.add("resumed");
          }
          for (const p of w.promises.values()) reached.add(p.state);
        }
      }),
      { numRuns: 200, seed: 42 },
    );
    for (const s of ["suspended", "acquired", "halted", "fulfilled", "resumed", "redirect", "rejected_timedout", "resolved"]) {
      expect(reached, s).toContain(s);
    }
  });
});
