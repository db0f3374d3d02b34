// The engine facts of one mesh node over the embedded store: work reaches
// workers whenever they connect, a worker that vanishes loses nothing, bad
// input never reaches the store, searches page in id order, and failures
// answer with stable codes.

import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/mesh/clock.ts";
import { createMeshNode } from "../../src/mesh/compose.ts";
import type { PromiseRecord, Request, StoredTask, TaskRecord } from "../../src/protocol/types.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { ConflictError, type CommitOp } from "../../src/store/types.ts";
import { Inbox, makeNode, req, stored, T0 } from "./helpers.ts";

const HOUR = 3_600_000;

describe("dispatch to workers", () => {
  it("a task for poll://any@g reaches a worker polling g", async () => {
    const { node } = makeNode();
    const worker = new Inbox();
    const elsewhere = new Inbox();
    node.poll("g", "w1", worker);
    node.poll("h", "w2", elsewhere);
    await node.handle(req.targeted("wf", T0 + HOUR, "poll://any@g"));
    expect(worker.executes).toEqual(["wf@0"]);
    expect(elsewhere.messages).toEqual([]);
  });

  it("a task for poll://any@g reaches a worker that connects after the task was created", async () => {
    const { node } = makeNode();
    await node.handle(req.targeted("wf", T0 + HOUR, "poll://any@g"));
    expect(node.stats().messages.waiting).toBe(1);
    const worker = new Inbox();
    node.poll("g", "late", worker);
    expect(worker.executes).toEqual(["wf@0"]);
    expect((await node.handle(req.acquire("wf", 0, "late"))).status).toBe(200);
  });

  it("a worker that disconnects mid-task: the task returns to pending at lease end and goes to another worker", async () => {
    const { node, store, clock } = makeNode();
    const first = new Inbox();
    const sub = node.poll("g", "first", first);
    await node.handle(req.targeted("wf", T0 + HOUR, "poll://any@g"));
    expect((await node.handle(req.acquire("wf", 0, "first", 10_000))).status).toBe(200);
    sub.close();
    const second = new Inbox();
    node.poll("g", "second", second);
    expect(second.messages).toEqual([]);
    clock.set(T0 + 10_000);
    await node.tick();
    expect(await stored<StoredTask>(store, "t/wf")).toMatchObject({ state: "pending", version: 1 });
    expect(second.executes).toEqual(["wf@1"]);
    expect(first.executes).toEqual(["wf@0"]);
    expect((await node.handle(req.acquire("wf", 1, "second"))).status).toBe(200);
    expect(node.stats().messages.workers).toBe(1);
  });

  it("a listener's unblock reaches its worker when the promise settles", async () => {
    const { node } = makeNode();
    const client = new Inbox();
    node.poll("clients", "c1", client);
    await node.handle(req.create("p1", T0 + HOUR));
    await node.handle({ kind: "promise.register_listener", data: { awaited: "p1", address: "poll://uni@clients/c1" } });
    await node.handle(req.settle("p1"));
    expect(client.unblocks).toEqual(["p1"]);
  });

  it("messages go out only after their writes commit: a request that fails to commit sends nothing", async () => {
    const store = new (class extends MemoryStore {
      override async commit(): Promise<void> {
        throw new Error("disk on fire");
      }
    })();
    const node = createMeshNode({ store, clock: new ManualClock(T0) });
    const worker = new Inbox();
    node.poll("g", "w", worker);
    const answer = await node.handle(req.targeted("wf", T0 + HOUR, "poll://any@g"));
    expect(answer.status).toBe(500);
    expect(worker.messages).toEqual([]);
  });
});

describe("bad input and failures", () => {
  it("an invalid request answers 400 INVALID_ARGUMENT naming the field, and never touches the store", async () => {
    const touched: string[] = [];
    const store = new (class extends MemoryStore {
      override async get(key: string) {
        touched.push(`get ${key}`);
        return super.get(key);
      }
      override async commit(ops: CommitOp[]) {
        touched.push("commit");
        return super.commit(ops);
      }
    })();
    const node = createMeshNode({ store, clock: new ManualClock(T0) });
    const bad: unknown[] = [
      { kind: "promise.create", data: { id: "", timeoutAt: T0 + HOUR } },
      { kind: "promise.create", data: { id: "a\u0000b", timeoutAt: T0 + HOUR } },
      { kind: "promise.create", data: { id: "x", timeoutAt: T0 + HOUR, tags: { "resonate:target": "poll://nope" } } },
      { kind: "task.acquire", data: { id: "x", version: 0, pid: "", ttl: 1000 } },
      { kind: "promise.search", data: { limit: 5000 } },
      { kind: "no.such.kind", data: {} },
      null,
    ];
    for (const request of bad) {
      const answer = await node.handle(request as Request);
      expect(answer.status).toBe(400);
      expect(answer.status === 400 && answer.error.code).toBe("INVALID_ARGUMENT");
      expect(answer.status === 400 && answer.error.message.length).toBeGreaterThan(10);
    }
    expect(touched).toEqual([]);
    expect(node.stats().requests["unknown"]).toEqual({ 400: 2 });
  });

  it("a record contended beyond the retry budget answers 503 UNAVAILABLE", async () => {
    const store = new (class extends MemoryStore {
      override async commit(ops: CommitOp[]): Promise<void> {
        throw new ConflictError(ops[0]!.key, ops[0]!.expectedRevision, ops[0]!.expectedRevision + 1);
      }
    })();
    const node = createMeshNode({ store, clock: new ManualClock(T0) });
    const answer = await node.handle(req.create("hot", T0 + HOUR));
    expect(answer.status).toBe(503);
    expect(answer.status === 503 && answer.error.code).toBe("UNAVAILABLE");
    expect(node.stats().store.exhausted).toBe(1);
  });

  it("an unexpected store failure answers 500 INTERNAL and is logged once", async () => {
    const lines: unknown[] = [];
    const logger = { error: (...a: unknown[]) => lines.push(a), warn: () => undefined } as never;
    const store = new (class extends MemoryStore {
      override async get(): Promise<never> {
        throw new Error("connection reset");
      }
    })();
    const node = createMeshNode({ store, clock: new ManualClock(T0), logger });
    const answer = await node.handle(req.get("p1"));
    expect(answer.status).toBe(500);
    expect(answer.status === 500 && answer.error.message).toMatch(/connection reset/);
    expect(lines).toHaveLength(1);
  });

  it("counts requests by kind and status", async () => {
    const { node } = makeNode();
    await node.handle(req.create("p1", T0 + HOUR));
    await node.handle(req.get("p1"));
    await node.handle(req.get("nope"));
    expect(node.stats().requests).toMatchObject({ "promise.create": { 200: 1 }, "promise.get": { 200: 1, 404: 1 } });
  });
});

describe("search", () => {
  async function seeded() {
    const made = makeNode();
    const { node } = made;
    for (const id of ["b", "a.2", "a", "c", "a.1", "a:0"]) {
      await node.handle(req.create(id, T0 + HOUR, { color: id.startsWith("a") ? "red" : "blue" }));
    }
    await node.handle(req.settle("c"));
    return made;
  }
  const ids = (a: { status: number }) =>
    a.status === 200 ? (a as unknown as { data: { promises: PromiseRecord[] } }).data.promises.map((p) => p.id) : [`status ${a.status}`];

  it("promise.search answers in id order", async () => {
    const { node } = await seeded();
    expect(ids(await node.handle({ kind: "promise.search", data: {} }))).toEqual(["a", "a.1", "a.2", "a:0", "b", "c"]);
  });

  it("promise.search filters by state, by tags and by id prefix or glob", async () => {
    const { node } = await seeded();
    expect(ids(await node.handle({ kind: "promise.search", data: { state: "resolved" } }))).toEqual(["c"]);
    expect(ids(await node.handle({ kind: "promise.search", data: { tags: { color: "blue" } } }))).toEqual(["b", "c"]);
    expect(ids(await node.handle({ kind: "promise.search", data: { id: "a." } }))).toEqual(["a.1", "a.2"]);
    expect(ids(await node.handle({ kind: "promise.search", data: { id: "a*2" } }))).toEqual(["a.2"]);
  });

  it("promise.search pages with limit and a cursor given only while more rows exist", async () => {
    const { node } = await seeded();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await node.handle({ kind: "promise.search", data: { limit: 4, cursor } });
      expect(answer.status).toBe(200);
      const data = (answer as { data: { promises: PromiseRecord[]; cursor?: string } }).data;
      seen.push(...data.promises.map((p) => p.id));
      cursor = data.cursor;
      pages++;
    } while (cursor !== undefined);
    expect(seen).toEqual(["a", "a.1", "a.2", "a:0", "b", "c"]);
    expect(pages).toBe(2);
    const exact = await node.handle({ kind: "promise.search", data: { limit: 6 } });
    expect((exact as { data: { cursor?: string } }).data.cursor).toBeUndefined();
  });

  it("promise.search pages through a filter that matches few of many", async () => {
    const { node } = makeNode();
    for (let i = 0; i < 300; i++) {
      await node.handle(req.create(`k${String(i).padStart(3, "0")}`, T0 + HOUR, { pick: i % 100 === 0 ? "yes" : "no" }));
    }
    const first = await node.handle({ kind: "promise.search", data: { tags: { pick: "yes" }, limit: 2 } });
    expect(ids(first)).toEqual(["k000", "k100"]);
    const cursor = (first as { data: { cursor?: string } }).data.cursor;
    expect(cursor).toBe("k100");
    const second = await node.handle({ kind: "promise.search", data: { tags: { pick: "yes" }, limit: 2, cursor } });
    expect(ids(second)).toEqual(["k200"]);
    expect((second as { data: { cursor?: string } }).data.cursor).toBeUndefined();
  });

  it("promise.search shows a pending promise past its deadline as timed out", async () => {
    const { node, clock } = makeNode();
    await node.handle(req.create("late", T0 + 1_000));
    clock.set(T0 + 2_000);
    const answer = await node.handle({ kind: "promise.search", data: { state: "rejected_timedout" } });
    expect(ids(answer)).toEqual(["late"]);
    expect(ids(await node.handle({ kind: "promise.search", data: { state: "pending" } }))).toEqual([]);
  });

  it("task.search shows effective states: a task whose promise settled is fulfilled", async () => {
    const { node } = makeNode();
    await node.handle(req.targeted("t1", T0 + HOUR, "poll://any@g"));
    await node.handle(req.targeted("t2", T0 + HOUR, "poll://any@g"));
    await node.handle(req.acquire("t2", 0, "w"));
    await node.handle(req.targeted("t3", T0 + HOUR, "poll://any@g"));
    await node.handle(req.settle("t3"));
    const all = await node.handle({ kind: "task.search", data: {} });
    const tasks = (all as { data: { tasks: TaskRecord[] } }).data.tasks;
    expect(tasks.map((t) => [t.id, t.state])).toEqual([
      ["t1", "pending"],
      ["t2", "acquired"],
      ["t3", "fulfilled"],
    ]);
    const acquired = await node.handle({ kind: "task.search", data: { state: "acquired" } });
    expect((acquired as { data: { tasks: TaskRecord[] } }).data.tasks.map((t) => t.id)).toEqual(["t2"]);
  });

  it("schedule.search filters on the tags of the promises a schedule creates", async () => {
    const { node } = makeNode();
    for (const [id, group] of [["s1", "g"], ["s2", "h"], ["s3", "g"]] as const) {
      await node.handle({
        kind: "schedule.create",
        data: { id, cron: "0 * * * *", promiseId: "{{.id}}.{{.timestamp}}", promiseTimeout: 1000, promiseTags: { "resonate:target": `poll://any@${group}` } },
      });
    }
    const answer = await node.handle({ kind: "schedule.search", data: { tags: { "resonate:target": "poll://any@g" }, limit: 1 } });
    const data = (answer as { data: { schedules: { id: string }[]; cursor?: string } }).data;
    expect(data.schedules.map((s) => s.id)).toEqual(["s1"]);
    expect(data.cursor).toBe("s1");
    const next = await node.handle({
      kind: "schedule.search",
      data: { tags: { "resonate:target": "poll://any@g" }, limit: 1, cursor: data.cursor },
    });
    expect((next as { data: { schedules: { id: string }[] } }).data.schedules.map((s) => s.id)).toEqual(["s3"]);
  });
});
