import { describe, expect, test } from "vitest";
import { Tag } from "../../src/protocol/types.ts";
import { HOUR, TARGET, World, b64, errorOf, req } from "./harness.ts";

describe("promise.create", () => {
  test("create makes a pending promise with createdAt = now and empty value", () => {
    const w = new World();
    const p = w.create("p", { param: { headers: { h: "1" }, data: b64("x") } });
    expect(p).toEqual({
      id: "p",
      state: "pending",
      param: { headers: { h: "1" }, data: b64("x") },
      value: { headers: {}, data: "" },
      tags: {},
      timeoutAt: w.now + HOUR,
      createdAt: w.now,
    });
  });

  test("create is idempotent by id: an existing id answers 200 with the existing record, ignoring the new fields", () => {
    const w = new World();
    const first = w.create("p", { tags: { a: "1" } });
    w.advance(10);
    const t = w.run(req.create("p", { timeoutAt: w.now + 5, tags: { b: "2" } }));
    expect(t.response.status).toBe(200);
    expect("data" in t.response && t.response.data.promise).toEqual(first);
    expect(t.writes).toEqual([]);
  });

  test("create of an untargeted promise makes no task and sends nothing", () => {
    const w = new World();
    const t = w.run(req.create("p", { timeoutAt: w.now + HOUR }));
    expect(w.tasks.size).toBe(0);
    expect(t.messages).toEqual([]);
  });

  test("create of a targeted promise makes a pending task v0 with retryAt = now + retry interval and sends execute", () => {
    const w = new World();
    const t = w.run(req.create("p", { timeoutAt: w.now + HOUR, tags: { [Tag.target]: TARGET } }));
    expect(w.tasks.get("p")).toEqual({
      id: "p",
      state: "pending",
      version: 0,
      resumes: [],
      address: TARGET,
      retryAt: w.now + 30_000,
      createdAt: w.now,
    });
    expect(t.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "p", version: 0 } }]);
  });

  test("the retry interval comes from the config", () => {
    const w = new World(1_000_000, { retryIntervalMs: 5_000 });
    w.createTargeted("p");
    expect(w.tasks.get("p")!.retryAt).toBe(w.now + 5_000);
  });

  test("resonate:delay defers the first execute: retryAt = delay and nothing is sent now", () => {
    const w = new World();
    const delay = w.now + 60_000;
    const t = w.run(req.create("p", { timeoutAt: w.now + HOUR, tags: { [Tag.target]: TARGET, [Tag.delay]: String(delay) } }));
    expect(t.messages).toEqual([]);
    expect(w.tasks.get("p")).toMatchObject({ state: "pending", version: 0, retryAt: delay });
  });

  test("a resonate:delay already past dispatches at once", () => {
    const w = new World();
    const t = w.run(req.create("p", { timeoutAt: w.now + HOUR, tags: { [Tag.target]: TARGET, [Tag.delay]: String(w.now - 1) } }));
    expect(t.messages).toHaveLength(1);
  });

  test("the task of a timer promise is created but never dispatched: no execute and no retryAt", () => {
    const w = new World();
    const t = w.run(req.create("sleep", { timeoutAt: w.now + 1000, tags: { [Tag.target]: TARGET, [Tag.timer]: "true" } }));
    expect(t.messages).toEqual([]);
    expect(w.tasks.get("sleep")).toMatchObject({ state: "pending", version: 0 });
    expect(w.tasks.get("sleep")!.retryAt).toBeUndefined();
  });

  test("create with now >= timeoutAt makes it already timed out with createdAt = settledAt = timeoutAt", () => {
    const w = new World();
    const p = w.create("p", { timeoutAt: w.now });
    expect(p).toMatchObject({ state: "rejected_timedout", createdAt: w.now, settledAt: w.now, timeoutAt: w.now });
    const q = w.create("q", { timeoutAt: w.now - 500 });
    expect(q).toMatchObject({ state: "rejected_timedout", createdAt: w.now - 500, settledAt: w.now - 500 });
  });

  test("a timer promise created past its deadline is created resolved", () => {
    const w = new World();
    expect(w.create("t", { timeoutAt: w.now - 1, tags: { [Tag.timer]: "true" } }).state).toBe("resolved");
  });

  test("a targeted promise created past its deadline gets its task fulfilled at v0, and nothing is sent", () => {
    const w = new World();
    const t = w.run(req.create("p", { timeoutAt: w.now - 1, tags: { [Tag.target]: TARGET } }));
    expect(w.tasks.get("p")).toMatchObject({ state: "fulfilled", version: 0 });
    expect(t.messages).toEqual([]);
  });

  test("create with `settled` makes it already settled with createdAt = settledAt = now", () => {
    const w = new World();
    const p = w.create("p", { settled: { state: "resolved", value: { headers: {}, data: b64("42") } } });
    expect(p).toMatchObject({ state: "resolved", value: { headers: {}, data: b64("42") }, createdAt: w.now, settledAt: w.now });
  });

  test("create with `settled` on an existing id returns the existing record unchanged", () => {
    const w = new World();
    w.create("p");
    expect(w.create("p", { settled: { state: "rejected" } }).state).toBe("pending");
  });

  test("create with `settled` past the deadline is timed out: the deadline wins", () => {
    const w = new World();
    expect(w.create("p", { timeoutAt: w.now - 1, settled: { state: "resolved" } }).state).toBe("rejected_timedout");
  });

  test("create with `settled` together with resonate:target answers 400", () => {
    const w = new World();
    const r = w.send(req.create("p", { timeoutAt: w.now + HOUR, tags: { [Tag.target]: TARGET }, settled: { state: "resolved" } }));
    expect(errorOf(r)).toMatchObject({ status: 400, code: "INVALID_ARGUMENT", field: "data.settled" });
    expect(w.promises.size).toBe(0);
  });
});

describe("promise.get", () => {
  test("get of a missing promise answers 404 PROMISE_NOT_FOUND", () => {
    const w = new World();
    expect(errorOf(w.send(req.get("nope")))).toMatchObject({ status: 404, code: "PROMISE_NOT_FOUND" });
  });

  test("get returns the record without callbacks or listeners", () => {
    const w = new World();
    w.create("p");
    w.ok(req.listener("p", "poll://uni@g/1"));
    const p = w.ok(req.get("p")).promise;
    expect(p).not.toHaveProperty("callbacks");
    expect(p).not.toHaveProperty("listeners");
  });

  test("get of a pending promise past its deadline settles it lazily: rejected_timedout with settledAt = timeoutAt", () => {
    const w = new World();
    const timeoutAt = w.now + 100;
    w.create("p", { timeoutAt });
    w.advance(500);
    const t = w.run(req.get("p"));
    expect("data" in t.response && t.response.data.promise).toMatchObject({ state: "rejected_timedout", settledAt: timeoutAt });
    expect(w.promises.get("p")).toMatchObject({ state: "rejected_timedout", settledAt: timeoutAt });
  });

  test("a lazily timed-out timer promise is resolved", () => {
    const w = new World();
    w.create("t", { timeoutAt: w.now + 100, tags: { [Tag.timer]: "true" } });
    w.advance(100);
    expect(w.ok(req.get("t")).promise).toMatchObject({ state: "resolved", settledAt: w.now });
  });

  test("get exactly at timeoutAt already sees it timed out", () => {
    const w = new World();
    w.create("p", { timeoutAt: w.now + 100 });
    w.advance(99);
    expect(w.ok(req.get("p")).promise.state).toBe("pending");
    w.advance(1);
    expect(w.ok(req.get("p")).promise.state).toBe("rejected_timedout");
  });

  test("a lazy timeout on read fires the settlement triggers", () => {
    const w = new World();
    w.create("p", { timeoutAt: w.now + 100 });
    w.ok(req.listener("p", "poll://uni@g/1"));
    w.advance(100);
    const t = w.run(req.get("p"));
    expect(t.messages).toEqual([{ kind: "unblock", address: "poll://uni@g/1", promise: expect.objectContaining({ id: "p", state: "rejected_timedout" }) }]);
  });

  test("get of a settled promise writes nothing", () => {
    const w = new World();
    w.create("p");
    w.ok(req.settle("p"));
    expect(w.run(req.get("p")).writes).toEqual([]);
  });
});

describe("promise.settle", () => {
  test("settle of a missing promise answers 404 PROMISE_NOT_FOUND", () => {
    const w = new World();
    expect(errorOf(w.send(req.settle("nope")))).toMatchObject({ status: 404, code: "PROMISE_NOT_FOUND" });
  });

  test("settle sets state, value and settledAt = now", () => {
    const w = new World();
    w.create("p");
    w.advance(7);
    const p = w.ok(req.settle("p", "rejected", b64("err"))).promise;
    expect(p).toMatchObject({ state: "rejected", value: { headers: {}, data: b64("err") }, settledAt: w.now });
  });

  test("settle of a settled promise answers 200 with the existing record unchanged", () => {
    const w = new World();
    w.create("p");
    const first = w.ok(req.settle("p", "resolved", b64("1"))).promise;
    w.advance(5);
    const t = w.run(req.settle("p", "rejected", b64("2")));
    expect(t.response.status).toBe(200);
    expect("data" in t.response && t.response.data.promise).toEqual(first);
    expect(t.writes).toEqual([]);
  });

  test("settle of a promise past its deadline answers 200 with the timed-out record", () => {
    const w = new World();
    w.create("p", { timeoutAt: w.now + 10 });
    w.advance(10);
    expect(w.ok(req.settle("p", "resolved")).promise).toMatchObject({ state: "rejected_timedout", settledAt: w.now });
  });

  test("settle may cancel: rejected_canceled", () => {
    const w = new World();
    w.create("p");
    expect(w.ok(req.settle("p", "rejected_canceled")).promise.state).toBe("rejected_canceled");
  });

  test("settle fulfils the promise's own task", () => {
    const w = new World();
    w.createTargeted("p");
    w.ok(req.settle("p"));
    expect(w.tasks.get("p")).toMatchObject({ state: "fulfilled", version: 0, resumes: [] });
    expect(w.tasks.get("p")!.retryAt).toBeUndefined();
  });

  test("settle of a promise whose task is acquired fulfils the task and clears its holder", () => {
    const w = new World();
    w.acquired("p");
    w.ok(req.settle("p"));
    const t = w.tasks.get("p")!;
    expect(t).toMatchObject({ state: "fulfilled", version: 1 });
    expect(t.pid).toBeUndefined();
    expect(t.leaseExpiresAt).toBeUndefined();
  });

  test("settle sends one unblock with the public record to each listener, then clears the listeners", () => {
    const w = new World();
    w.create("p");
    w.ok(req.listener("p", "poll://uni@a/1"));
    w.ok(req.listener("p", "poll://uni@b/2"));
    const t = w.run(req.settle("p", "resolved", b64("v")));
    const promise = w.ok(req.get("p")).promise;
    expect(t.messages).toEqual([
      { kind: "unblock", address: "poll://uni@a/1", promise },
      { kind: "unblock", address: "poll://uni@b/2", promise },
    ]);
    expect(w.promises.get("p")!.listeners).toEqual([]);
  });

  test("settle wakes a suspended awaiter: pending, resumes = [awaited], retryAt, execute at its version", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.ok(req.suspend("a", 1, ["a.1"]));
    const t = w.run(req.settle("a.1"));
    expect(w.tasks.get("a")).toMatchObject({ state: "pending", version: 1, resumes: ["a.1"], retryAt: w.now + 30_000 });
    expect(t.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "a", version: 1 } }]);
    expect(w.promises.get("a.1")!.callbacks).toEqual([]);
  });

  test("settle records a resume on an acquired awaiter without dispatching it", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    const t = w.run(req.settle("a.1"));
    expect(w.tasks.get("a")).toMatchObject({ state: "acquired", resumes: ["a.1"] });
    expect(t.messages).toEqual([]);
  });

  test("settle records a resume on a pending awaiter", () => {
    const w = new World();
    w.createTargeted("a");
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    w.ok(req.settle("a.1"));
    expect(w.tasks.get("a")).toMatchObject({ state: "pending", resumes: ["a.1"] });
  });

  test("settle records a resume on a halted awaiter and leaves it halted", () => {
    const w = new World();
    w.createTargeted("a");
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    w.ok(req.halt("a"));
    w.ok(req.settle("a.1"));
    expect(w.tasks.get("a")).toMatchObject({ state: "halted", resumes: ["a.1"] });
  });

  test("settle skips an awaiter that is no longer pending", () => {
    const w = new World();
    w.createTargeted("a");
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    w.ok(req.settle("a"));
    const t = w.run(req.settle("a.1"));
    expect(w.tasks.get("a")).toMatchObject({ state: "fulfilled", resumes: [] });
    expect(t.messages).toEqual([]);
  });

  test("settle skips an awaiter past its deadline (which times out instead of resuming)", () => {
    const w = new World();
    w.createTargeted("a", {}, w.now + 100);
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    w.advance(100);
    const t = w.run(req.settle("a.1"));
    expect(w.promises.get("a")!.state).toBe("rejected_timedout");
    expect(w.tasks.get("a")!.state).toBe("fulfilled");
    expect(t.messages.filter((m) => m.kind === "execute")).toEqual([]);
  });

  test("settlement cascades: a timed-out awaiter fires its own listeners", () => {
    const w = new World();
    w.createTargeted("a", {}, w.now + 100);
    w.ok(req.listener("a", "poll://uni@g/1"));
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    w.advance(100);
    const t = w.run(req.settle("a.1"));
    expect(t.messages).toContainEqual(expect.objectContaining({ kind: "unblock", address: "poll://uni@g/1" }));
  });
});

describe("promise.register_callback", () => {
  test("register_callback of a missing awaited answers 404 PROMISE_NOT_FOUND", () => {
    const w = new World();
    w.createTargeted("a");
    expect(errorOf(w.send(req.callback("a.1", "a")))).toMatchObject({ status: 404, code: "PROMISE_NOT_FOUND" });
  });

  test("register_callback with a missing awaiter answers 422 AWAITER_NOT_FOUND", () => {
    const w = new World();
    w.create("a.1");
    expect(errorOf(w.send(req.callback("a.1", "a")))).toMatchObject({ status: 422, code: "AWAITER_NOT_FOUND" });
  });

  test("register_callback with an untargeted awaiter answers 422 AWAITER_NOT_TARGETED", () => {
    const w = new World();
    w.create("a");
    w.create("a.1");
    expect(errorOf(w.send(req.callback("a.1", "a")))).toMatchObject({ status: 422, code: "AWAITER_NOT_TARGETED" });
  });

  test("register_callback with awaited == awaiter answers 400", () => {
    const w = new World();
    w.createTargeted("a");
    expect(errorOf(w.send(req.callback("a", "a")))).toMatchObject({ status: 400, field: "data.awaited" });
  });

  test("register_callback across origins answers 400 when requireSameOrigin is on", () => {
    const w = new World(1_000_000, { requireSameOrigin: true });
    w.createTargeted("a");
    w.create("b.1");
    expect(errorOf(w.send(req.callback("b.1", "a")))).toMatchObject({ status: 400, code: "INVALID_ARGUMENT" });
  });

  test("register_callback across origins is allowed by default", () => {
    const w = new World();
    w.createTargeted("a");
    w.create("approval");
    w.ok(req.callback("approval", "a"));
    expect(w.promises.get("approval")!.callbacks).toEqual(["a"]);
  });

  test("register_callback accepts ':' children of a dotted root (SDK 0.11.5 ids)", () => {
    const w = new World();
    w.createTargeted("my.app.wf");
    w.create("my.app.wf:0");
    w.ok(req.callback("my.app.wf:0", "my.app.wf"));
  });

  test("register_callback with both pending adds the awaiter to the callbacks once", () => {
    const w = new World();
    w.createTargeted("a");
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    const t = w.run(req.callback("a.1", "a"));
    expect(w.promises.get("a.1")!.callbacks).toEqual(["a"]);
    expect(t.writes).toEqual([]);
  });

  test("register_callback answers with the awaited promise", () => {
    const w = new World();
    w.createTargeted("a");
    const awaited = w.create("a.1");
    expect(w.ok(req.callback("a.1", "a")).promise).toEqual(awaited);
  });

  test("register_callback on a settled awaited resumes a suspended awaiter at once: pending and execute", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.create("a.2");
    w.ok(req.suspend("a", 1, ["a.1"]));
    w.ok(req.settle("a.2"));
    const t = w.run(req.callback("a.2", "a"));
    expect(w.tasks.get("a")).toMatchObject({ state: "pending", resumes: ["a.2"] });
    expect(t.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "a", version: 1 } }]);
    expect(w.promises.get("a.2")!.callbacks).toEqual([]);
  });

  test("register_callback on a settled awaited adds a resume to a pending or acquired awaiter", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.ok(req.settle("a.1"));
    w.ok(req.callback("a.1", "a"));
    expect(w.tasks.get("a")).toMatchObject({ state: "acquired", resumes: ["a.1"] });
  });
});

describe("promise.register_listener", () => {
  test("register_listener of a missing promise answers 404", () => {
    const w = new World();
    expect(errorOf(w.send(req.listener("p", "poll://uni@g/1")))).toMatchObject({ status: 404, code: "PROMISE_NOT_FOUND" });
  });

  test("register_listener on a pending promise adds the address once", () => {
    const w = new World();
    w.create("p");
    w.ok(req.listener("p", "poll://uni@g/1"));
    w.ok(req.listener("p", "poll://uni@g/1"));
    expect(w.promises.get("p")!.listeners).toEqual(["poll://uni@g/1"]);
  });

  test("register_listener on a settled promise registers nothing and returns the record", () => {
    const w = new World();
    w.create("p");
    w.ok(req.settle("p"));
    const t = w.run(req.listener("p", "poll://uni@g/1"));
    expect(t.writes).toEqual([]);
    expect("data" in t.response && t.response.data.promise.state).toBe("resolved");
  });

  test("register_listener with a bad address answers 400", () => {
    const w = new World();
    w.create("p");
    expect(errorOf(w.send(req.listener("p", "ftp://x")))).toMatchObject({ status: 400, field: "data.address" });
  });
});
