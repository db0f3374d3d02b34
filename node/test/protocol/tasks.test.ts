import { describe, expect, test } from "vitest";
import { Tag } from "../../src/protocol/types.ts";
import { HOUR, TARGET, World, b64, errorOf, req } from "./harness.ts";

describe("task.get", () => {
  test("get of an unknown task answers 404 TASK_NOT_FOUND", () => {
    const w = new World();
    w.create("p");
    expect(errorOf(w.send(req.taskGet("p")))).toMatchObject({ status: 404, code: "TASK_NOT_FOUND" });
  });

  test("get shows pid and ttl only while acquired", () => {
    const w = new World();
    w.createTargeted("p");
    expect(w.ok(req.taskGet("p")).task).toEqual({ id: "p", state: "pending", version: 0, resumes: [] });
    w.ok(req.acquire("p", 0, "w1", 5000));
    expect(w.ok(req.taskGet("p")).task).toEqual({ id: "p", state: "acquired", version: 1, resumes: [], pid: "w1", ttl: 5000 });
  });

  test("get of a task whose promise passed its deadline shows it fulfilled (lazy timeout)", () => {
    const w = new World();
    w.acquired("p");
    w.advance(HOUR);
    expect(w.ok(req.taskGet("p")).task).toEqual({ id: "p", state: "fulfilled", version: 1, resumes: [] });
    expect(w.promises.get("p")!.state).toBe("rejected_timedout");
  });
});

describe("task.create", () => {
  test("create makes the promise and its task acquired v1 by the caller, with a lease, and sends nothing", () => {
    const w = new World();
    const t = w.run(req.taskCreate("p", "w1", 10_000, w.now + HOUR));
    expect(t.response.status).toBe(200);
    expect("data" in t.response && t.response.data.task).toEqual({ id: "p", state: "acquired", version: 1, resumes: [], pid: "w1", ttl: 10_000 });
    expect(w.tasks.get("p")).toMatchObject({ leaseExpiresAt: w.now + 10_000, address: TARGET });
    expect(w.promises.get("p")!.state).toBe("pending");
    expect(t.messages).toEqual([]);
  });

  test("create returns the preload: the promises of its branch without itself", () => {
    const w = new World();
    w.create("p.0", { tags: { [Tag.branch]: "p" } });
    const data = w.ok(req.taskCreate("p", "w1", 10_000, w.now + HOUR, { [Tag.target]: TARGET, [Tag.branch]: "p" }));
    expect(data.preload.map((p) => p.id)).toEqual(["p.0"]);
  });

  test("create of an existing pending task acquires it (version + 1)", () => {
    const w = new World();
    w.createTargeted("p");
    const data = w.ok(req.taskCreate("p", "w1", 10_000, w.now + HOUR));
    expect(data.task).toMatchObject({ state: "acquired", version: 1, pid: "w1" });
  });

  test("create on a settled promise answers 200 with the task fulfilled", () => {
    const w = new World();
    w.createTargeted("p");
    w.ok(req.settle("p", "resolved", b64("1")));
    const data = w.ok(req.taskCreate("p", "w1", 10_000, w.now + HOUR));
    expect(data.task.state).toBe("fulfilled");
    expect(data.promise.state).toBe("resolved");
  });

  test("create past the deadline answers 200 with a timed-out promise and its task fulfilled v0", () => {
    const w = new World();
    const data = w.ok(req.taskCreate("p", "w1", 10_000, w.now - 1));
    expect(data.task).toEqual({ id: "p", state: "fulfilled", version: 0, resumes: [] });
    expect(data.promise.state).toBe("rejected_timedout");
  });

  test.each(["acquired", "suspended", "halted"] as const)("create of an existing %s task answers 409 TASK_ALREADY_EXISTS", (state) => {
    const w = new World();
    w.acquired("p");
    if (state === "suspended") {
      w.create("p.1");
      w.ok(req.suspend("p", 1, ["p.1"]));
    }
    if (state === "halted") w.ok(req.halt("p"));
    const e = errorOf(w.send(req.taskCreate("p", "w2", 10_000, w.now + HOUR)));
    expect(e).toMatchObject({ status: 409, code: "TASK_ALREADY_EXISTS" });
    expect(e.message).toContain(state);
  });

  test("create on a promise that exists without a task answers 422 PROMISE_WITHOUT_TASK", () => {
    const w = new World();
    w.create("p");
    expect(errorOf(w.send(req.taskCreate("p", "w1", 10_000, w.now + HOUR)))).toMatchObject({ status: 422, code: "PROMISE_WITHOUT_TASK" });
  });

  test("create with resonate:delay answers 400", () => {
    const w = new World();
    const r = w.send(req.taskCreate("p", "w1", 10_000, w.now + HOUR, { [Tag.target]: TARGET, [Tag.delay]: String(w.now + 5) }));
    expect(errorOf(r)).toMatchObject({ status: 400, field: `data.action.data.tags["${Tag.delay}"]` });
    expect(w.promises.size).toBe(0);
  });

  test("create without resonate:target answers 400", () => {
    const w = new World();
    const r = w.send(req.taskCreate("p", "w1", 10_000, w.now + HOUR, {}));
    expect(errorOf(r)).toMatchObject({ status: 400, field: `data.action.data.tags["${Tag.target}"]` });
  });
});

describe("task.acquire", () => {
  test("acquire of an unknown task answers 404 TASK_NOT_FOUND", () => {
    const w = new World();
    expect(errorOf(w.send(req.acquire("p", 0)))).toMatchObject({ status: 404, code: "TASK_NOT_FOUND" });
  });

  test("acquire of a pending task: acquired, version + 1, pid, ttl, lease = now + ttl, retry cleared", () => {
    const w = new World();
    w.createTargeted("p");
    w.ok(req.acquire("p", 0, "w1", 7000));
    const t = w.tasks.get("p")!;
    expect(t).toMatchObject({ state: "acquired", version: 1, pid: "w1", ttl: 7000, leaseExpiresAt: w.now + 7000 });
    expect(t.retryAt).toBeUndefined();
  });

  test("acquire answers with the task, its promise and the preload", () => {
    const w = new World();
    w.createTargeted("p", { [Tag.branch]: "p" });
    w.create("p.0", { tags: { [Tag.branch]: "p" } });
    w.create("p.1", { tags: { [Tag.branch]: "p" } });
    w.ok(req.settle("p.0", "resolved", b64("1")));
    const data = w.ok(req.acquire("p", 0));
    expect(data.task).toMatchObject({ id: "p", state: "acquired", version: 1 });
    expect(data.promise.id).toBe("p");
    expect(data.preload.map((p) => [p.id, p.state])).toEqual([["p.0", "resolved"], ["p.1", "pending"]]);
  });

  test("the preload of an untagged task promise is the branch named by its id", () => {
    const w = new World();
    w.createTargeted("p");
    w.create("p.0", { tags: { [Tag.branch]: "p" } });
    expect(w.ok(req.acquire("p", 0)).preload.map((p) => p.id)).toEqual(["p.0"]);
  });

  test("the preload shows lazily timed-out promises as timed out", () => {
    const w = new World();
    w.createTargeted("p");
    w.create("p.0", { timeoutAt: w.now + 10, tags: { [Tag.branch]: "p" } });
    w.advance(10);
    expect(w.ok(req.acquire("p", 0)).preload[0]).toMatchObject({ state: "rejected_timedout", settledAt: w.now });
  });

  test("acquire clears the resumes", () => {
    const w = new World();
    w.createTargeted("a");
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    w.ok(req.settle("a.1"));
    expect(w.tasks.get("a")!.resumes).toEqual(["a.1"]);
    w.ok(req.acquire("a", 0));
    expect(w.tasks.get("a")!.resumes).toEqual([]);
  });

  test("acquire of a task at a stale version answers 409 TASK_VERSION_MISMATCH naming the current version", () => {
    const w = new World();
    w.acquired("p");
    w.ok(req.release("p", 1));
    const e = errorOf(w.send(req.acquire("p", 0)));
    expect(e).toMatchObject({ status: 409, code: "TASK_VERSION_MISMATCH" });
    expect(e.message).toContain("version 1");
  });

  test("acquire of a task that is not pending answers 409 TASK_STATE_CONFLICT naming its state", () => {
    const w = new World();
    w.acquired("p");
    const e = errorOf(w.send(req.acquire("p", 1)));
    expect(e).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
    expect(e.message).toContain("acquired");
  });

  test("acquire of a task whose promise passed its deadline answers 409: it is fulfilled", () => {
    const w = new World();
    w.createTargeted("p", {}, w.now + 10);
    w.advance(10);
    expect(errorOf(w.send(req.acquire("p", 0)))).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
    expect(w.tasks.get("p")!.state).toBe("fulfilled");
  });

  test("a duplicate execute is harmless: the second acquire at the same version answers 409", () => {
    const w = new World();
    w.createTargeted("p");
    w.ok(req.acquire("p", 0, "w1"));
    expect(w.send(req.acquire("p", 0, "w2")).status).toBe(409);
    expect(w.tasks.get("p")!.pid).toBe("w1");
  });
});

describe("task.release", () => {
  test("release returns the task to pending at the same version, clears the holder and dispatches it", () => {
    const w = new World();
    w.acquired("p");
    const t = w.run(req.release("p", 1));
    const task = w.tasks.get("p")!;
    expect(task).toMatchObject({ state: "pending", version: 1, retryAt: w.now + 30_000 });
    expect(task.pid).toBeUndefined();
    expect(task.ttl).toBeUndefined();
    expect(task.leaseExpiresAt).toBeUndefined();
    expect(t.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "p", version: 1 } }]);
  });

  test("release at the wrong version answers 409 TASK_VERSION_MISMATCH", () => {
    const w = new World();
    w.acquired("p");
    expect(errorOf(w.send(req.release("p", 0)))).toMatchObject({ status: 409, code: "TASK_VERSION_MISMATCH" });
  });

  test("release of a task that is not acquired answers 409 TASK_STATE_CONFLICT", () => {
    const w = new World();
    w.createTargeted("p");
    expect(errorOf(w.send(req.release("p", 0)))).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
  });

  test("release of an unknown task answers 404", () => {
    const w = new World();
    expect(errorOf(w.send(req.release("p", 0)))).toMatchObject({ status: 404, code: "TASK_NOT_FOUND" });
  });
});

describe("task.suspend", () => {
  test("suspend with every awaited pending registers callbacks, suspends the task, clears the holder, answers 200 {}", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.create("a.2");
    const t = w.run(req.suspend("a", 1, ["a.1", "a.2"]));
    expect(t.response).toEqual({ kind: "task.suspend", status: 200, data: {} });
    const task = w.tasks.get("a")!;
    expect(task).toMatchObject({ state: "suspended", version: 1 });
    expect(task.pid).toBeUndefined();
    expect(task.leaseExpiresAt).toBeUndefined();
    expect(w.promises.get("a.1")!.callbacks).toEqual(["a"]);
    expect(w.promises.get("a.2")!.callbacks).toEqual(["a"]);
    expect(t.messages).toEqual([]);
  });

  test("suspend with an awaited already settled answers 300 with the preload, keeps the task acquired and registers nothing", () => {
    const w = new World();
    w.acquired("a", "p1", 60_000, { [Tag.branch]: "a" });
    w.create("a.1", { tags: { [Tag.branch]: "a" } });
    w.create("a.2", { tags: { [Tag.branch]: "a" } });
    w.ok(req.settle("a.1", "resolved", b64("1")));
    const t = w.run(req.suspend("a", 1, ["a.1", "a.2"]));
    expect(t.response.status).toBe(300);
    expect("data" in t.response && t.response.data.preload!.map((p) => [p.id, p.state])).toEqual([["a.1", "resolved"], ["a.2", "pending"]]);
    expect(w.tasks.get("a")).toMatchObject({ state: "acquired", version: 1, pid: "p1" });
    expect(w.promises.get("a.2")!.callbacks).toEqual([]);
  });

  test("a redirected suspend clears the resumes", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.ok(req.callback("a.1", "a"));
    w.ok(req.settle("a.1"));
    expect(w.tasks.get("a")!.resumes).toEqual(["a.1"]);
    expect(w.send(req.suspend("a", 1, ["a.1"])).status).toBe(300);
    expect(w.tasks.get("a")!.resumes).toEqual([]);
  });

  test("suspend on an awaited that passed its deadline redirects (lazy timeout)", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1", { timeoutAt: w.now + 5 });
    w.advance(5);
    expect(w.send(req.suspend("a", 1, ["a.1"])).status).toBe(300);
  });

  test("suspend with a missing awaited answers 422 AWAITED_NOT_FOUND", () => {
    const w = new World();
    w.acquired("a");
    expect(errorOf(w.send(req.suspend("a", 1, ["a.9"])))).toMatchObject({ status: 422, code: "AWAITED_NOT_FOUND" });
    expect(w.tasks.get("a")!.state).toBe("acquired");
  });

  test("suspend at a stale version answers 409 TASK_VERSION_MISMATCH", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    expect(errorOf(w.send(req.suspend("a", 0, ["a.1"])))).toMatchObject({ status: 409, code: "TASK_VERSION_MISMATCH" });
  });

  test("suspend of a task that is not acquired answers 409 TASK_STATE_CONFLICT", () => {
    const w = new World();
    w.createTargeted("a");
    w.create("a.1");
    expect(errorOf(w.send(req.suspend("a", 0, ["a.1"])))).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
  });

  test("suspend with an action whose awaiter is not the task answers 400", () => {
    const w = new World();
    w.acquired("a");
    const r = w.send({
      kind: "task.suspend",
      data: { id: "a", version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: "a.1", awaiter: "a.2" } }] },
    });
    expect(errorOf(r)).toMatchObject({ status: 400, field: "data.actions[0].data.awaiter" });
  });

  test("suspend awaiting the task itself answers 400", () => {
    const w = new World();
    w.acquired("a");
    expect(errorOf(w.send(req.suspend("a", 1, ["a"])))).toMatchObject({ status: 400, field: "data.actions[0].data.awaited" });
  });

  test("a suspended task resumes when an awaited settles and is acquired at the next version", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.ok(req.suspend("a", 1, ["a.1"]));
    w.ok(req.settle("a.1"));
    expect(w.ok(req.acquire("a", 1)).task.version).toBe(2);
  });
});

describe("task.fulfill", () => {
  test("fulfill settles the promise, fulfils the task and answers with the promise", () => {
    const w = new World();
    w.acquired("p");
    const data = w.ok(req.fulfill("p", 1, "resolved", b64("done")));
    expect(data.promise).toMatchObject({ state: "resolved", value: { data: b64("done") }, settledAt: w.now });
    expect(w.tasks.get("p")).toMatchObject({ state: "fulfilled", version: 1 });
  });

  test("fulfill fires the settlement triggers", () => {
    const w = new World();
    w.acquired("p");
    w.ok(req.listener("p", "poll://uni@c/1"));
    const t = w.run(req.fulfill("p", 1));
    expect(t.messages).toEqual([expect.objectContaining({ kind: "unblock", address: "poll://uni@c/1" })]);
  });

  test("fulfill at a stale version answers 409 TASK_VERSION_MISMATCH and settles nothing", () => {
    const w = new World();
    w.acquired("p");
    w.ok(req.release("p", 1));
    w.ok(req.acquire("p", 1, "w2"));
    expect(errorOf(w.send(req.fulfill("p", 1)))).toMatchObject({ status: 409, code: "TASK_VERSION_MISMATCH" });
    expect(w.promises.get("p")!.state).toBe("pending");
  });

  test("fulfill of a pending task answers 409 TASK_STATE_CONFLICT", () => {
    const w = new World();
    w.createTargeted("p");
    expect(errorOf(w.send(req.fulfill("p", 0)))).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
  });

  test("fulfill after the promise was settled by someone else answers 200 with the existing record; the task stays fulfilled", () => {
    const w = new World();
    w.acquired("p");
    w.ok(req.settle("p", "rejected_canceled"));
    const data = w.ok(req.fulfill("p", 1, "resolved"));
    expect(data.promise.state).toBe("rejected_canceled");
    expect(w.tasks.get("p")!.state).toBe("fulfilled");
  });

  test("a repeated fulfill at the same version answers 200 unchanged", () => {
    const w = new World();
    w.acquired("p");
    const first = w.ok(req.fulfill("p", 1, "resolved", b64("1"))).promise;
    const t = w.run(req.fulfill("p", 1, "rejected", b64("2")));
    expect("data" in t.response && t.response.data.promise).toEqual(first);
    expect(t.writes).toEqual([]);
  });

  test("fulfill whose action names another promise answers 400", () => {
    const w = new World();
    w.acquired("p");
    const r = w.send({
      kind: "task.fulfill",
      data: { id: "p", version: 1, action: { kind: "promise.settle", data: { id: "q", state: "resolved" } } },
    });
    expect(errorOf(r)).toMatchObject({ status: 400, field: "data.action.data.id" });
  });
});

describe("task.fence", () => {
  test("a fenced create runs exactly as a standalone create and answers {action} with an empty preload", () => {
    const w = new World();
    w.acquired("p", "w1", 60_000, { [Tag.branch]: "p" });
    const t = w.run(req.fence("p", 1, req.create("p.0", { timeoutAt: w.now + HOUR, tags: { [Tag.branch]: "p" } })));
    expect(t.response.status).toBe(200);
    const data = "data" in t.response ? t.response.data : undefined;
    expect(data!.action).toEqual({ kind: "promise.create", status: 200, data: { promise: w.ok(req.get("p.0")).promise } });
    expect(data!.preload).toEqual([]);
  });

  test("a fenced create of a targeted child creates its task and sends its execute", () => {
    const w = new World();
    w.acquired("p");
    const t = w.run(req.fence("p", 1, req.create("p.0", { timeoutAt: w.now + HOUR, tags: { [Tag.target]: "poll://any@other" } })));
    expect(w.tasks.get("p.0")).toMatchObject({ state: "pending", version: 0 });
    expect(t.messages).toEqual([{ kind: "execute", address: "poll://any@other", task: { id: "p.0", version: 0 } }]);
  });

  test("a fenced settle runs exactly as a standalone settle", () => {
    const w = new World();
    w.acquired("p");
    w.create("p.0");
    const data = w.ok(req.fence("p", 1, req.settle("p.0", "resolved", b64("x"))));
    expect(data.action).toMatchObject({ kind: "promise.settle", status: 200, data: { promise: { state: "resolved" } } });
  });

  test("a fenced settle of a missing promise answers 200 with the inner 404", () => {
    const w = new World();
    w.acquired("p");
    const data = w.ok(req.fence("p", 1, req.settle("p.9")));
    expect(data.action).toMatchObject({ status: 404, error: { code: "PROMISE_NOT_FOUND" } });
  });

  test("fence at a stale version answers 409 and runs nothing", () => {
    const w = new World();
    w.acquired("p");
    const t = w.run(req.fence("p", 0, req.create("p.0", { timeoutAt: w.now + HOUR })));
    expect(errorOf(t.response)).toMatchObject({ status: 409, code: "TASK_VERSION_MISMATCH" });
    expect(w.promises.has("p.0")).toBe(false);
  });

  test("fence of a task that is not acquired answers 409 TASK_STATE_CONFLICT", () => {
    const w = new World();
    w.createTargeted("p");
    expect(errorOf(w.send(req.fence("p", 0, req.create("p.0", { timeoutAt: w.now + HOUR }))))).toMatchObject({
      status: 409,
      code: "TASK_STATE_CONFLICT",
    });
  });

  test("fence whose action is on the task's own promise answers 400", () => {
    const w = new World();
    w.acquired("p");
    expect(errorOf(w.send(req.fence("p", 1, req.settle("p"))))).toMatchObject({ status: 400, field: "data.action.data.id" });
  });
});

describe("task.heartbeat", () => {
  test("heartbeat extends the lease of each entry acquired at that version by that pid to now + ttl", () => {
    const w = new World();
    w.acquired("a", "w1", 10_000);
    w.advance(5_000);
    w.ok(req.heartbeat("w1", [{ id: "a", version: 1 }]));
    expect(w.tasks.get("a")!.leaseExpiresAt).toBe(w.now + 10_000);
  });

  test("heartbeat silently ignores entries of another pid, another version, or not acquired", () => {
    const w = new World();
    w.acquired("a", "w1", 10_000);
    w.acquired("b", "w2", 10_000);
    w.createTargeted("c");
    const leaseA = w.tasks.get("a")!.leaseExpiresAt;
    w.advance(1_000);
    const t = w.run(req.heartbeat("w1", [{ id: "a", version: 2 }, { id: "b", version: 1 }, { id: "c", version: 0 }, { id: "zz", version: 0 }]));
    expect(t.response).toEqual({ kind: "task.heartbeat", status: 200, data: {} });
    expect(t.writes).toEqual([]);
    expect(w.tasks.get("a")!.leaseExpiresAt).toBe(leaseA);
  });

  test("heartbeat accepts tasks of several origins in one call", () => {
    const w = new World();
    w.acquired("a", "w1", 10_000);
    w.acquired("b", "w1", 10_000);
    w.advance(1_000);
    w.ok(req.heartbeat("w1", [{ id: "a", version: 1 }, { id: "b", version: 1 }]));
    expect(w.tasks.get("a")!.leaseExpiresAt).toBe(w.now + 10_000);
    expect(w.tasks.get("b")!.leaseExpiresAt).toBe(w.now + 10_000);
  });

  test("heartbeat with no tasks answers 400", () => {
    const w = new World();
    expect(errorOf(w.send(req.heartbeat("w1", [])))).toMatchObject({ status: 400, field: "data.tasks" });
  });
});

describe("task.halt and task.continue", () => {
  test.each(["pending", "acquired", "suspended"] as const)("halt of a %s task makes it halted and clears holder and timers", (state) => {
    const w = new World();
    w.createTargeted("a");
    if (state !== "pending") w.ok(req.acquire("a", 0));
    if (state === "suspended") {
      w.create("a.1");
      w.ok(req.suspend("a", 1, ["a.1"]));
    }
    w.ok(req.halt("a"));
    const t = w.tasks.get("a")!;
    expect(t.state).toBe("halted");
    for (const key of ["pid", "ttl", "leaseExpiresAt", "retryAt"] as const) expect(t[key]).toBeUndefined();
  });

  test("halt of a halted task answers 200 and writes nothing", () => {
    const w = new World();
    w.createTargeted("a");
    w.ok(req.halt("a"));
    const t = w.run(req.halt("a"));
    expect(t.response.status).toBe(200);
    expect(t.writes).toEqual([]);
  });

  test("halt of a fulfilled task answers 409 TASK_STATE_CONFLICT", () => {
    const w = new World();
    w.createTargeted("a");
    w.ok(req.settle("a"));
    expect(errorOf(w.send(req.halt("a")))).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
  });

  test("halt of an unknown task answers 404", () => {
    const w = new World();
    expect(errorOf(w.send(req.halt("a")))).toMatchObject({ status: 404 });
  });

  test("a halted holder can no longer fulfil: 409", () => {
    const w = new World();
    w.acquired("a");
    w.ok(req.halt("a"));
    expect(errorOf(w.send(req.fulfill("a", 1)))).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
  });

  test("continue of a halted task makes it pending at the same version, sets retryAt and dispatches it", () => {
    const w = new World();
    w.acquired("a");
    w.ok(req.halt("a"));
    const t = w.run(req.continue("a"));
    expect(w.tasks.get("a")).toMatchObject({ state: "pending", version: 1, retryAt: w.now + 30_000 });
    expect(t.messages).toEqual([{ kind: "execute", address: TARGET, task: { id: "a", version: 1 } }]);
  });

  test("continue of a task that is not halted answers 409 TASK_STATE_CONFLICT", () => {
    const w = new World();
    w.createTargeted("a");
    expect(errorOf(w.send(req.continue("a")))).toMatchObject({ status: 409, code: "TASK_STATE_CONFLICT" });
  });

  test("continue of an unknown task answers 404", () => {
    const w = new World();
    expect(errorOf(w.send(req.continue("a")))).toMatchObject({ status: 404 });
  });
});

describe("effective state and edge cases", () => {
  test("a task left unfulfilled by a half-applied settlement is fulfilled on the next read", () => {
    const w = new World();
    w.createTargeted("p");
    // As if a crash committed the promise's settlement but not its task's.
    w.promises.set("p", { ...w.promises.get("p")!, state: "resolved", settledAt: w.now });
    const t = w.run(req.taskGet("p"));
    expect("data" in t.response && t.response.data.task.state).toBe("fulfilled");
    expect(w.tasks.get("p")).toMatchObject({ state: "fulfilled", version: 0 });
    expect(w.tasks.get("p")!.retryAt).toBeUndefined();
  });

  test("a timer promise's task with resonate:delay still gets no retry time", () => {
    const w = new World();
    w.create("t", { tags: { [Tag.target]: TARGET, [Tag.timer]: "true", [Tag.delay]: String(w.now + 10) } });
    expect(w.tasks.get("t")!.retryAt).toBeUndefined();
  });

  test("a suspend naming one awaited twice registers the callback once", () => {
    const w = new World();
    w.acquired("a");
    w.create("a.1");
    w.ok(req.suspend("a", 1, ["a.1", "a.1"]));
    expect(w.promises.get("a.1")!.callbacks).toEqual(["a"]);
  });
});
