import { describe, expect, test } from "vitest";
import { dueAt } from "../../src/protocol/timers.ts";
import { Tag } from "../../src/protocol/types.ts";
import { HOUR, TARGET, World, errorOf, req } from "./harness.ts";

const NONE = { writes: [], messages: [] };

describe("timeoutPromise", () => {
  test("a pending promise past its deadline is rejected_timedout with settledAt = timeoutAt", () => {
    const w = new World();
    const timeoutAt = w.now + 100;
    w.createTargeted("p", {}, timeoutAt);
    w.advance(1_000);
    w.timeout("p");
    expect(w.promises.get("p")).toMatchObject({ state: "rejected_timedout", settledAt: timeoutAt });
    expect(w.tasks.get("p")!.state).toBe("fulfilled");
  });

  test("a timer promise is resolved at its deadline and wakes its suspended awaiter", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1", { timeoutAt: w.now + 100, tags: { [Tag.target]: TARGET, [Tag.timer]: "true" } });
    w.ok(req.suspend("a", 1, ["a.1"]));
    w.advance(100);
    const e = w.timeout("a.1");
    expect(w.promises.get("a.1")).toMatchObject({ state: "resolved", settledAt: w.now });
    expect(w.tasks.get("a")).toMatchObject({ state: "pending", resumes: ["a.1"] });
    expect(e.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "a", version: 1 } }]);
  });

  test("before the deadline, or once settled, it is a no-op", () => {
    const w = new World();
    w.createTargeted("p", {}, w.now + 100);
    w.advance(99);
    expect(w.timeout("p")).toEqual(NONE);
    w.ok(req.settle("p"));
    w.advance(10);
    expect(w.timeout("p")).toEqual(NONE);
    expect(w.timeout("missing")).toEqual(NONE);
  });
});

describe("expireLease", () => {
  test("an acquired task whose lease ended returns to pending at the same version and is dispatched", () => {
    const w = new World();
    w.acquired("p", "w1", 10_000);
    w.advance(10_000);
    const e = w.expire("p");
    const t = w.tasks.get("p")!;
    expect(t).toMatchObject({ state: "pending", version: 1, retryAt: w.now + 30_000 });
    expect(t.pid).toBeUndefined();
    expect(t.ttl).toBeUndefined();
    expect(e.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "p", version: 1 } }]);
  });

  test("the old holder is fenced out after its lease expired: its fulfill answers 409", () => {
    const w = new World();
    w.acquired("p", "w1", 10_000);
    w.advance(10_000);
    w.expire("p");
    expect(errorOf(w.send(req.fulfill("p", 1)))).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
  });

  test("a lease extended by heartbeat is not expired: no-op", () => {
    const w = new World();
    w.acquired("p", "w1", 10_000);
    w.advance(5_000);
    w.ok(req.heartbeat("w1", [{ id: "p", version: 1 }]));
    w.advance(5_000);
    expect(w.expire("p")).toEqual(NONE);
    expect(w.tasks.get("p")!.state).toBe("acquired");
  });

  test("a task that is not acquired is a no-op", () => {
    const w = new World();
    w.createTargeted("p");
    w.advance(HOUR / 2);
    expect(w.expire("p")).toEqual(NONE);
  });

  test("a lease expiring after the promise's deadline fulfils the task instead of dispatching it", () => {
    const w = new World();
    w.createTargeted("p", {}, w.now + 1_000);
    w.ok(req.acquire("p", 0, "w1", 10_000));
    w.advance(10_000);
    const e = w.expire("p");
    expect(w.tasks.get("p")!.state).toBe("fulfilled");
    expect(e.messages).toEqual([]);
  });
});

describe("retryTask", () => {
  test("a pending task not acquired by its retry time gets execute again and retryAt = now + interval", () => {
    const w = new World();
    w.createTargeted("p");
    w.advance(30_000);
    const e = w.retry("p");
    expect(e.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "p", version: 0 } }]);
    expect(w.tasks.get("p")!.retryAt).toBe(w.now + 30_000);
  });

  test("a delayed task is first dispatched at its delay", () => {
    const w = new World();
    w.create("p", { tags: { [Tag.target]: TARGET, [Tag.delay]: String(w.now + 5_000) } });
    w.advance(4_999);
    expect(w.retry("p")).toEqual(NONE);
    w.advance(1);
    expect(w.retry("p").messages).toHaveLength(1);
  });

  test("before retryAt, or once acquired, it is a no-op", () => {
    const w = new World();
    w.createTargeted("p");
    w.advance(29_999);
    expect(w.retry("p")).toEqual(NONE);
    w.ok(req.acquire("p", 0));
    w.advance(10);
    expect(w.retry("p")).toEqual(NONE);
  });
});

describe("dueAt", () => {
  test("a pending targeted promise is due at its timeoutAt", () => {
    const w = new World();
    const p = w.createTargeted("p");
    expect(dueAt("promise", p)).toBe(p.timeoutAt);
  });

  test("a pending timer promise is due at its timeoutAt even without a target", () => {
    const w = new World();
    const p = w.create("t", { tags: { [Tag.timer]: "true" } });
    expect(dueAt("promise", p)).toBe(p.timeoutAt);
  });

  test("an untargeted promise, or a settled one, has no timer", () => {
    const w = new World();
    expect(dueAt("promise", w.create("p"))).toBeUndefined();
    w.createTargeted("q");
    expect(dueAt("promise", w.ok(req.settle("q")).promise)).toBeUndefined();
  });

  test("an untargeted promise that something awaits (callback or listener) is due at its timeoutAt", () => {
    const w = new World();
    w.createTargeted("wf");
    w.create("approval");
    w.ok(req.callback("approval", "wf"));
    expect(dueAt("promise", w.promises.get("approval")!)).toBe(w.promises.get("approval")!.timeoutAt);
    w.create("report");
    w.ok(req.listener("report", "poll://uni@clients/c1"));
    expect(dueAt("promise", w.promises.get("report")!)).toBe(w.promises.get("report")!.timeoutAt);
  });

  test("an acquired task is due at its lease end, a pending one at its retry time, others never", () => {
    const w = new World();
    w.createTargeted("p");
    expect(dueAt("task", w.tasks.get("p")!)).toBe(w.now + 30_000);
    w.ok(req.acquire("p", 0, "w1", 5_000));
    expect(dueAt("task", w.tasks.get("p")!)).toBe(w.now + 5_000);
    w.ok(req.halt("p"));
    expect(dueAt("task", w.tasks.get("p")!)).toBeUndefined();
  });

  test("the task of a timer promise is never due", () => {
    const w = new World();
    w.create("t", { tags: { [Tag.target]: TARGET, [Tag.timer]: "true" } });
    expect(dueAt("task", w.tasks.get("t")!)).toBeUndefined();
  });

  test("a schedule is due at its nextRunAt", () => {
    const w = new World();
    const s = w.ok(req.scheduleCreate("s", "* * * * *")).schedule;
    expect(dueAt("schedule", s)).toBe(s.nextRunAt);
  });
});
