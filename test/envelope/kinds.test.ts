// Every request kind of the Resonate JSON envelope protocol, sent with fetch
// to a real node: the answer echoes kind and corrId, head.status equals the
// HTTP status, the content type is JSON, records have the wire shape the
// official SDK validates, and failures carry a sentence.

import { isResponse } from "@resonatehq/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, startTestNode, T0, VERSION, type Answer, type TestNode } from "./helpers.ts";

const DAY = 86_400_000;
const LATER = T0 + DAY;
const target = (group = "workers") => ({ "resonate:target": `poll://any@${group}` });

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t.close();
});

function expectAnswer(answer: Answer, kind: string, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.contentType).toBe("application/json");
  expect(answer.body.kind).toBe(kind);
  expect(answer.body.head.status).toBe(status);
  expect(answer.body.head.version).toBe(VERSION);
  // What the official SDK checks before it believes an answer.
  expect(isResponse(answer.body)).toBe(true);
  if (status !== 200 && status !== 300) {
    expect(typeof answer.body.data).toBe("string");
    expect(answer.body.data.length).toBeGreaterThan(10);
  }
}

const create = (id: string, tags: Record<string, string> = {}, data = "") =>
  t.send({ kind: "promise.create", data: { id, timeoutAt: LATER, param: { headers: {}, data }, tags } });
const settle = (id: string, state = "resolved", data = "") =>
  t.send({ kind: "promise.settle", data: { id, state, value: { headers: {}, data } } });
const acquire = (id: string, version: number, pid = "w1", ttl = 60_000) =>
  t.send({ kind: "task.acquire", data: { id, version, pid, ttl } });

describe("promise.create", () => {
  it("answers 200 with the record, echoing kind and corrId, defaults filled", async () => {
    const answer = await t.post(JSON.stringify({ kind: "promise.create", head: { corrId: "abc", version: VERSION }, data: { id: "pc-1", timeoutAt: LATER } }));
    expectAnswer(answer, "promise.create", 200);
    expect(answer.body.head.corrId).toBe("abc");
    expect(answer.body.data.promise).toEqual({
      id: "pc-1",
      state: "pending",
      param: { headers: {}, data: "" },
      value: { headers: {}, data: "" },
      tags: {},
      timeoutAt: LATER,
      createdAt: T0,
    });
  });

  it("is idempotent by id: a second create returns the first record", async () => {
    await create("pc-2", {}, b64("first"));
    const again = await create("pc-2", { extra: "x" }, b64("second"));
    expectAnswer(again, "promise.create", 200);
    expect(again.body.data.promise.param.data).toBe(b64("first"));
    expect(again.body.data.promise.tags).toEqual({});
  });

  it("keeps base64 payload data and headers exactly", async () => {
    const data = b64({ func: "add", args: [1, 2], version: 1 });
    const answer = await t.send({ kind: "promise.create", data: { id: "pc-3", timeoutAt: LATER, param: { headers: { h: "v" }, data }, tags: {} } });
    expect(answer.body.data.promise.param).toEqual({ headers: { h: "v" }, data });
  });

  it("refuses a malformed target address with 400 naming it", async () => {
    const answer = await create("pc-4", { "resonate:target": "ftp://nowhere" });
    expectAnswer(answer, "promise.create", 400);
    expect(answer.body.data).toContain("resonate:target");
    expectAnswer(await t.send({ kind: "promise.get", data: { id: "pc-4" } }), "promise.get", 404);
  });

  it("lets a payload over the protocol's 4 MiB limit reach validation, which names the field", async () => {
    const data = Buffer.alloc(4 * 1024 * 1024 + 3).toString("base64");
    const answer = await t.send({ kind: "promise.create", data: { id: "pc-6", timeoutAt: LATER, param: { headers: {}, data } } });
    expectAnswer(answer, "promise.create", 400);
    expect(answer.body.data).toContain("data.param.data");
  });

  it("refuses a timeoutAt that is not an integer with 400 naming the field", async () => {
    const answer = await t.send({ kind: "promise.create", data: { id: "pc-5", timeoutAt: "tomorrow" } });
    expectAnswer(answer, "promise.create", 400);
    expect(answer.body.data).toContain("timeoutAt");
  });
});

describe("promise.get", () => {
  it("answers 200 with the record", async () => {
    await create("pg-1");
    const answer = await t.send({ kind: "promise.get", data: { id: "pg-1" } });
    expectAnswer(answer, "promise.get", 200);
    expect(answer.body.data.promise.id).toBe("pg-1");
  });

  it("answers 404 with a sentence for an unknown id", async () => {
    expectAnswer(await t.send({ kind: "promise.get", data: { id: "pg-missing" } }), "promise.get", 404);
  });
});

describe("promise.settle", () => {
  it("answers 200 with the settled record", async () => {
    await create("ps-1");
    const answer = await settle("ps-1", "resolved", b64(42));
    expectAnswer(answer, "promise.settle", 200);
    expect(answer.body.data.promise).toMatchObject({ state: "resolved", value: { headers: {}, data: b64(42) }, settledAt: T0 });
  });

  it("is idempotent on a settled promise: 200 with the record unchanged", async () => {
    await create("ps-2");
    await settle("ps-2", "rejected", b64("no"));
    const again = await settle("ps-2", "resolved", b64("yes"));
    expectAnswer(again, "promise.settle", 200);
    expect(again.body.data.promise).toMatchObject({ state: "rejected", value: { data: b64("no") } });
  });

  it("answers 404 for an unknown promise", async () => {
    expectAnswer(await settle("ps-missing"), "promise.settle", 404);
  });

  it("refuses an unknown state with 400", async () => {
    await create("ps-3");
    const answer = await settle("ps-3", "done");
    expectAnswer(answer, "promise.settle", 400);
    expect(answer.body.data).toContain("state");
  });
});

describe("promise.register_callback", () => {
  it("answers 200 with the awaited promise", async () => {
    await create("rc-1", target());
    await create("rc-1:0");
    const answer = await t.send({ kind: "promise.register_callback", data: { awaited: "rc-1:0", awaiter: "rc-1" } });
    expectAnswer(answer, "promise.register_callback", 200);
    expect(answer.body.data.promise.id).toBe("rc-1:0");
  });

  it("answers 404 when the awaited promise does not exist", async () => {
    await create("rc-2", target());
    expectAnswer(await t.send({ kind: "promise.register_callback", data: { awaited: "rc-2:0", awaiter: "rc-2" } }), "promise.register_callback", 404);
  });

  it("answers 422 when the awaiter has no target", async () => {
    await create("rc-3");
    await create("rc-3.1");
    expectAnswer(await t.send({ kind: "promise.register_callback", data: { awaited: "rc-3.1", awaiter: "rc-3" } }), "promise.register_callback", 422);
  });
});

describe("promise.register_listener", () => {
  it("answers 200 with the promise", async () => {
    await create("rl-1");
    const answer = await t.send({ kind: "promise.register_listener", data: { awaited: "rl-1", address: "poll://uni@clients/c1" } });
    expectAnswer(answer, "promise.register_listener", 200);
    expect(answer.body.data.promise.id).toBe("rl-1");
  });

  it("answers 404 for an unknown promise", async () => {
    expectAnswer(await t.send({ kind: "promise.register_listener", data: { awaited: "rl-missing", address: "poll://uni@clients/c1" } }), "promise.register_listener", 404);
  });
});

describe("promise.search", () => {
  it("finds by tags with limit and cursor", async () => {
    for (const id of ["srch-a", "srch-b", "srch-c"]) await create(id, { batch: "s1" });
    const first = await t.send({ kind: "promise.search", data: { tags: { batch: "s1" }, limit: 2 } });
    expectAnswer(first, "promise.search", 200);
    expect(first.body.data.promises.map((p: { id: string }) => p.id)).toEqual(["srch-a", "srch-b"]);
    expect(typeof first.body.data.cursor).toBe("string");
    const second = await t.send({ kind: "promise.search", data: { tags: { batch: "s1" }, limit: 2, cursor: first.body.data.cursor } });
    expect(second.body.data.promises.map((p: { id: string }) => p.id)).toEqual(["srch-c"]);
    expect(second.body.data.cursor).toBeUndefined();
  });

  it("refuses a limit over 1000 with 400", async () => {
    expectAnswer(await t.send({ kind: "promise.search", data: { limit: 5000 } }), "promise.search", 400);
  });
});

describe("task.create", () => {
  const taskCreate = (id: string, pid = "w1") =>
    t.send({ kind: "task.create", data: { pid, ttl: 30_000, action: { kind: "promise.create", data: { id, timeoutAt: LATER, param: { headers: {}, data: b64({ func: "f", args: [], version: 1 }) }, tags: { ...target(), "resonate:origin": id } } } } });

  it("creates the promise and its task acquired by the caller at version 1", async () => {
    const answer = await taskCreate("tc-1");
    expectAnswer(answer, "task.create", 200);
    expect(answer.body.data.task).toEqual({ id: "tc-1", state: "acquired", version: 1, resumes: 0, pid: "w1", ttl: 30_000 });
    expect(answer.body.data.promise.id).toBe("tc-1");
    expect(answer.body.data.preload).toEqual([]);
  });

  it("answers 409 while another holder has the task", async () => {
    await taskCreate("tc-2", "w1");
    expectAnswer(await taskCreate("tc-2", "w2"), "task.create", 409);
  });

  it("answers 422 for an existing promise without a task", async () => {
    await create("tc-3");
    expectAnswer(await taskCreate("tc-3"), "task.create", 422);
  });
});

describe("task.acquire and task.get", () => {
  it("acquires a pending task: version + 1, pid and ttl set, resumes a count", async () => {
    await create("ta-1", target());
    const answer = await acquire("ta-1", 0);
    expectAnswer(answer, "task.acquire", 200);
    expect(answer.body.data.task).toEqual({ id: "ta-1", state: "acquired", version: 1, resumes: 0, pid: "w1", ttl: 60_000 });
    expect(answer.body.data.promise.id).toBe("ta-1");
    expect(Array.isArray(answer.body.data.preload)).toBe(true);
  });

  it("answers 409 on a stale version", async () => {
    await create("ta-2", target());
    await acquire("ta-2", 0);
    expectAnswer(await acquire("ta-2", 0, "w2"), "task.acquire", 409);
  });

  it("answers 404 for an unknown task", async () => {
    expectAnswer(await acquire("ta-missing", 0), "task.acquire", 404);
  });

  it("task.get shows pid and ttl only while acquired", async () => {
    await create("tg-1", target());
    const pending = await t.send({ kind: "task.get", data: { id: "tg-1" } });
    expectAnswer(pending, "task.get", 200);
    expect(pending.body.data.task).toEqual({ id: "tg-1", state: "pending", version: 0, resumes: 0 });
    await acquire("tg-1", 0);
    const held = await t.send({ kind: "task.get", data: { id: "tg-1" } });
    expect(held.body.data.task).toMatchObject({ state: "acquired", pid: "w1", ttl: 60_000 });
    expectAnswer(await t.send({ kind: "task.get", data: { id: "tg-missing" } }), "task.get", 404);
  });
});

describe("task.release", () => {
  it("returns an acquired task to pending", async () => {
    await create("tr-1", target());
    await acquire("tr-1", 0);
    expectAnswer(await t.send({ kind: "task.release", data: { id: "tr-1", version: 1 } }), "task.release", 200);
    const task = (await t.send({ kind: "task.get", data: { id: "tr-1" } })).body.data.task;
    expect(task).toEqual({ id: "tr-1", state: "pending", version: 1, resumes: 0 });
  });

  it("answers 409 for the wrong version and 404 for an unknown task", async () => {
    await create("tr-2", target());
    await acquire("tr-2", 0);
    expectAnswer(await t.send({ kind: "task.release", data: { id: "tr-2", version: 7 } }), "task.release", 409);
    expectAnswer(await t.send({ kind: "task.release", data: { id: "tr-missing", version: 0 } }), "task.release", 404);
  });
});

describe("task.suspend", () => {
  const suspend = (id: string, version: number, awaited: string[]) =>
    t.send({ kind: "task.suspend", data: { id, version, actions: awaited.map((a) => ({ kind: "promise.register_callback", data: { awaiter: id, awaited: a } })) } });

  it("answers 200 {} and suspends while the awaited promise is pending", async () => {
    await create("su-1", target());
    await acquire("su-1", 0);
    await create("su-1:0", { "resonate:branch": "su-1", "resonate:parent": "su-1", "resonate:origin": "su-1" });
    const answer = await suspend("su-1", 1, ["su-1:0"]);
    expectAnswer(answer, "task.suspend", 200);
    expect(answer.body.data).toEqual({});
    expect((await t.send({ kind: "task.get", data: { id: "su-1" } })).body.data.task.state).toBe("suspended");
  });

  it("answers 300 with the preload when an awaited promise is already settled", async () => {
    await create("su-2", { ...target(), "resonate:branch": "su-2" });
    await acquire("su-2", 0);
    await create("su-2:0", { "resonate:branch": "su-2", "resonate:parent": "su-2", "resonate:origin": "su-2" });
    await settle("su-2:0", "resolved", b64(1));
    const answer = await suspend("su-2", 1, ["su-2:0"]);
    expectAnswer(answer, "task.suspend", 300);
    expect(answer.body.data.preload.map((p: { id: string }) => p.id)).toContain("su-2:0");
    expect((await t.send({ kind: "task.get", data: { id: "su-2" } })).body.data.task.state).toBe("acquired");
  });

  it("answers 409 for the wrong version and 404 for an unknown task", async () => {
    await create("su-3", target());
    await acquire("su-3", 0);
    await create("su-3:0");
    expectAnswer(await suspend("su-3", 5, ["su-3:0"]), "task.suspend", 409);
    expectAnswer(await suspend("su-missing", 1, ["su-missing:0"]), "task.suspend", 404);
  });

  it("answers 422 when an awaited promise does not exist", async () => {
    await create("su-4", target());
    await acquire("su-4", 0);
    expectAnswer(await suspend("su-4", 1, ["su-4:9"]), "task.suspend", 422);
  });
});

describe("task.fulfill", () => {
  const fulfill = (id: string, version: number, promiseId = id) =>
    t.send({ kind: "task.fulfill", data: { id, version, action: { kind: "promise.settle", data: { id: promiseId, state: "resolved", value: { headers: {}, data: b64("done") } } } } });

  it("settles the task's promise and answers it", async () => {
    await create("tf-1", target());
    await acquire("tf-1", 0);
    const answer = await fulfill("tf-1", 1);
    expectAnswer(answer, "task.fulfill", 200);
    expect(answer.body.data.promise).toMatchObject({ id: "tf-1", state: "resolved", value: { data: b64("done") } });
    expect((await t.send({ kind: "task.get", data: { id: "tf-1" } })).body.data.task.state).toBe("fulfilled");
  });

  it("answers 409 for the wrong version and 404 for an unknown task", async () => {
    await create("tf-2", target());
    await acquire("tf-2", 0);
    expectAnswer(await fulfill("tf-2", 3), "task.fulfill", 409);
    expectAnswer(await fulfill("tf-missing", 1), "task.fulfill", 404);
  });

  it("refuses to settle another promise with 400", async () => {
    await create("tf-3", target());
    await acquire("tf-3", 0);
    expectAnswer(await fulfill("tf-3", 1, "tf-other"), "task.fulfill", 400);
  });
});

describe("task.fence", () => {
  const fencedCreate = (taskId: string, version: number, id: string, corrId?: string) =>
    t.post(
      JSON.stringify({
        kind: "task.fence",
        head: { corrId: "outer", version: VERSION },
        data: {
          id: taskId,
          version,
          action: {
            kind: "promise.create",
            head: { corrId: corrId ?? "inner", version: VERSION },
            data: { id, timeoutAt: LATER, param: { headers: {}, data: "" }, tags: { "resonate:scope": "local", "resonate:branch": taskId, "resonate:parent": taskId, "resonate:origin": taskId } },
          },
        },
      }),
    );

  it("runs the inner create and answers a full response envelope echoing the inner corrId", async () => {
    await create("fe-1", target());
    await acquire("fe-1", 0);
    const answer = await fencedCreate("fe-1", 1, "fe-1:0", "inner-7");
    expectAnswer(answer, "task.fence", 200);
    expect(answer.body.head.corrId).toBe("outer");
    expect(answer.body.data.action).toMatchObject({ kind: "promise.create", head: { corrId: "inner-7", status: 200, version: VERSION }, data: { promise: { id: "fe-1:0", state: "pending" } } });
    expect(Array.isArray(answer.body.data.preload)).toBe(true);
  });

  it("runs an inner settle", async () => {
    await create("fe-2", target());
    await acquire("fe-2", 0);
    await fencedCreate("fe-2", 1, "fe-2:0");
    const answer = await t.send({ kind: "task.fence", data: { id: "fe-2", version: 1, action: { kind: "promise.settle", data: { id: "fe-2:0", state: "resolved", value: { data: b64(2) } } } } });
    expectAnswer(answer, "task.fence", 200);
    expect(answer.body.data.action).toMatchObject({ kind: "promise.settle", head: { status: 200 }, data: { promise: { id: "fe-2:0", state: "resolved", value: { data: b64(2) } } } });
  });

  it("answers 409 when the task is not held at that version, writing nothing", async () => {
    await create("fe-3", target());
    await acquire("fe-3", 0);
    expectAnswer(await fencedCreate("fe-3", 9, "fe-3:0"), "task.fence", 409);
    expectAnswer(await t.send({ kind: "promise.get", data: { id: "fe-3:0" } }), "promise.get", 404);
  });

  it("refuses an action on the task's own promise with 400", async () => {
    await create("fe-4", target());
    await acquire("fe-4", 0);
    expectAnswer(await fencedCreate("fe-4", 1, "fe-4"), "task.fence", 400);
  });
});

describe("task.heartbeat", () => {
  it("accepts tasks of several origins in one call (one worker holds both)", async () => {
    for (const id of ["hb-a", "hb-b"]) {
      await create(id, target());
      await acquire(id, 0, "hb-worker");
    }
    const answer = await t.send({ kind: "task.heartbeat", data: { pid: "hb-worker", tasks: [{ id: "hb-a", version: 1 }, { id: "hb-b", version: 1 }] } });
    expectAnswer(answer, "task.heartbeat", 200);
    expect(answer.body.data).toEqual({});
  });
});

describe("task.halt and task.continue", () => {
  it("halts a task and continues it back to pending", async () => {
    await create("hc-1", target());
    expectAnswer(await t.send({ kind: "task.halt", data: { id: "hc-1" } }), "task.halt", 200);
    expect((await t.send({ kind: "task.get", data: { id: "hc-1" } })).body.data.task.state).toBe("halted");
    expectAnswer(await t.send({ kind: "task.continue", data: { id: "hc-1" } }), "task.continue", 200);
    expect((await t.send({ kind: "task.get", data: { id: "hc-1" } })).body.data.task.state).toBe("pending");
  });

  it("answers 409 to continue a task that is not halted and 404 for an unknown one", async () => {
    await create("hc-2", target());
    expectAnswer(await t.send({ kind: "task.continue", data: { id: "hc-2" } }), "task.continue", 409);
    expectAnswer(await t.send({ kind: "task.halt", data: { id: "hc-missing" } }), "task.halt", 404);
  });
});

describe("task.search", () => {
  it("finds tasks by state", async () => {
    await create("ts-1", target());
    await t.send({ kind: "task.halt", data: { id: "ts-1" } });
    const answer = await t.send({ kind: "task.search", data: { state: "halted" } });
    expectAnswer(answer, "task.search", 200);
    expect(answer.body.data.tasks.map((x: { id: string }) => x.id)).toContain("ts-1");
    expect(answer.body.data.tasks.every((x: { state: string }) => x.state === "halted")).toBe(true);
  });
});

describe("schedule.*", () => {
  const scheduleCreate = (id: string, cron = "0 * * * *", tags: Record<string, string> = target()) =>
    t.send({ kind: "schedule.create", data: { id, cron, promiseId: "{{.id}}-{{.timestamp}}", promiseTimeout: 60_000, promiseParam: { headers: {}, data: b64({ func: "tick", args: [], version: 1 }) }, promiseTags: tags } });

  it("creates, gets, searches and deletes a schedule", async () => {
    const created = await scheduleCreate("sch-1");
    expectAnswer(created, "schedule.create", 200);
    expect(created.body.data.schedule).toMatchObject({ id: "sch-1", cron: "0 * * * *", promiseId: "{{.id}}-{{.timestamp}}", promiseTimeout: 60_000, createdAt: T0, nextRunAt: T0 + 3_600_000 });
    expect(created.body.data.schedule.promiseTags).toEqual(target());
    const got = await t.send({ kind: "schedule.get", data: { id: "sch-1" } });
    expectAnswer(got, "schedule.get", 200);
    const found = await t.send({ kind: "schedule.search", data: {} });
    expectAnswer(found, "schedule.search", 200);
    expect(found.body.data.schedules.map((s: { id: string }) => s.id)).toContain("sch-1");
    const deleted = await t.send({ kind: "schedule.delete", data: { id: "sch-1" } });
    expectAnswer(deleted, "schedule.delete", 200);
    expect(deleted.body.data).toEqual({});
    expectAnswer(await t.send({ kind: "schedule.get", data: { id: "sch-1" } }), "schedule.get", 404);
    expectAnswer(await t.send({ kind: "schedule.delete", data: { id: "sch-1" } }), "schedule.delete", 404);
  });

  it("refuses a cron that does not parse and one without a target, with 400", async () => {
    expectAnswer(await scheduleCreate("sch-2", "every tuesday"), "schedule.create", 400);
    expectAnswer(await scheduleCreate("sch-3", "0 * * * *", {}), "schedule.create", 400);
  });
});

describe("debug.*", () => {
  it("answers 403 while the node does not run with --debug", async () => {
    for (const kind of ["debug.start", "debug.reset", "debug.snap", "debug.stop"]) {
      const answer = await t.send({ kind, data: {} });
      expectAnswer(answer, kind, 403);
      expect(answer.body.data).toContain("--debug");
    }
    expectAnswer(await t.send({ kind: "debug.tick", data: { time: T0 } }), "debug.tick", 403);
  });

  it("answers 501 with --debug, since this node does not implement them", async () => {
    const debugNode = await startTestNode({ debug: true });
    try {
      expectAnswer(await debugNode.send({ kind: "debug.snap", data: {} }), "debug.snap", 501);
    } finally {
      await debugNode.close();
    }
  });
});

describe("compatibility with both official SDK versions", () => {
  const callback = (awaited: string, awaiter: string) => t.send({ kind: "promise.register_callback", data: { awaited, awaiter } });

  it("accepts child ids below the origin with ':' (0.11.5) and '.' (0.11.4), tagged with their lineage", async () => {
    await create("lin", { ...target(), "resonate:origin": "lin", "resonate:branch": "lin", "resonate:parent": "lin" });
    const lineage: [string, string][] = [["lin:0", "lin"], ["lin:0.1", "lin:0"], ["lin.1", "lin"], ["lin.1.2", "lin.1"]];
    for (const [child, parent] of lineage) {
      const created = await create(child, { "resonate:origin": "lin", "resonate:branch": "lin", "resonate:parent": parent, "resonate:scope": "local" });
      expectAnswer(created, "promise.create", 200);
      expectAnswer(await callback(child, "lin"), "promise.register_callback", 200);
    }
  });
});
