// Property tests: random sequences of operations, timer transitions and clock
// advances over a small id space keep the protocol's invariants.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { dueAt } from "../../src/protocol/timers.ts";
import { transition } from "../../src/protocol/transition.ts";
import { Tag, type Request, type Response, type StoredPromise } from "../../src/protocol/types.ts";
import { opArb, toRequest as generatedRequest, type Op } from "./generator.ts";
import { World } from "./harness.ts";

/** The generator's request for `o`, with versions read from the world. */
function toRequest(w: World, o: Op): Request | undefined {
  return generatedRequest(o, w.now, (taskId) => w.tasks.get(taskId)?.version);
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
