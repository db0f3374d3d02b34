// The timer loop driven by a ManualClock through MeshNode.tick(): what time
// makes due happens at the tick, once, and not before.

import { afterEach, describe, expect, it, vi } from "vitest";
import { TimerIndex } from "../../src/mesh/timers.ts";
import type { StoredPromise, StoredTask } from "../../src/protocol/types.ts";
import { Inbox, makeNode, req, stored, T0 } from "./helpers.ts";

const MINUTE = 60_000;

describe("timer index", () => {
  it("gives due keys earliest first and only those due", () => {
    const index = new TimerIndex();
    index.set("t/b", 20);
    index.set("t/a", 10);
    index.set("t/c", 30);
    expect(index.next()).toBe(10);
    expect(index.takeDue(25, 10)).toEqual(["t/a", "t/b"]);
    expect(index.next()).toBe(30);
  });

  it("a rescheduled or cleared key is taken only at its current due time", () => {
    const index = new TimerIndex();
    index.set("t/a", 10);
    index.set("t/a", 50);
    index.set("t/b", 5);
    index.set("t/b", undefined);
    expect(index.takeDue(40, 10)).toEqual([]);
    expect(index.takeDue(50, 10)).toEqual(["t/a"]);
    expect(index.size).toBe(0);
  });

  it("superseded entries do not pile up when due times keep changing", () => {
    const index = new TimerIndex();
    for (let i = 0; i < 10_000; i++) index.set(`t/${i % 10}`, 1_000_000 + i);
    expect(index.size).toBe(10);
    expect(index.heapSize).toBeLessThan(1_100);
    expect(index.takeDue(2_000_000, 100)).toHaveLength(10);
  });
});

describe("timers through the node", () => {
  const nodes: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });
  function setup(options: Parameters<typeof makeNode>[0] = {}) {
    const made = makeNode(options);
    nodes.push(made.node);
    return made;
  }

  it("a targeted promise is timed out actively at the tick of its deadline, not before", async () => {
    const { node, store, clock } = setup();
    await node.handle(req.targeted("p1", T0 + 5_000, "poll://any@g"));
    clock.set(T0 + 4_999);
    await node.tick();
    expect((await stored<StoredPromise>(store, "p/p1"))?.state).toBe("pending");
    clock.set(T0 + 5_000);
    await node.tick();
    const p = await stored<StoredPromise>(store, "p/p1");
    expect(p).toMatchObject({ state: "rejected_timedout", settledAt: T0 + 5_000 });
    expect((await stored<StoredTask>(store, "t/p1"))?.state).toBe("fulfilled");
  });

  it("a timer promise resolves at its deadline and wakes its suspended awaiter", async () => {
    const { node, store, clock } = setup();
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.handle(req.targeted("wf", T0 + 10 * MINUTE, "poll://any@g"));
    await node.handle(req.acquire("wf", 0, "w"));
    await node.handle({
      kind: "task.fence",
      data: {
        id: "wf",
        version: 1,
        action: req.targeted("wf.1", T0 + 1_000, "poll://any@g", { "resonate:timer": "true" }) as never,
      },
    });
    const suspended = await node.handle({
      kind: "task.suspend",
      data: { id: "wf", version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: "wf.1", awaiter: "wf" } }] },
    });
    expect(suspended.status).toBe(200);
    clock.set(T0 + 1_000);
    await node.tick();
    expect((await stored<StoredPromise>(store, "p/wf.1"))?.state).toBe("resolved");
    expect(await stored<StoredTask>(store, "t/wf")).toMatchObject({ state: "pending", resumes: ["wf.1"] });
    expect(worker.executes).toEqual(["wf@0", "wf@1"]);
  });

  it("a latent promise that a suspended task awaits times out at its deadline and wakes the awaiter", async () => {
    const { node, store, clock } = setup();
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.handle(req.targeted("wf", T0 + 10 * MINUTE, "poll://any@g"));
    await node.handle(req.acquire("wf", 0, "w"));
    await node.handle(req.create("approval", T0 + 1_000));
    const suspended = await node.handle({
      kind: "task.suspend",
      data: { id: "wf", version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: "approval", awaiter: "wf" } }] },
    });
    expect(suspended.status).toBe(200);
    clock.set(T0 + 1_000);
    await node.tick();
    expect((await stored<StoredPromise>(store, "p/approval"))?.state).toBe("rejected_timedout");
    expect(await stored<StoredTask>(store, "t/wf")).toMatchObject({ state: "pending", resumes: ["approval"] });
    expect(worker.executes).toEqual(["wf@0", "wf@1"]);
  });

  it("an untargeted promise nothing awaits is not timed out actively (only lazily when read)", async () => {
    const { node, store, clock } = setup();
    await node.handle(req.create("p1", T0 + 1_000));
    clock.set(T0 + 2_000);
    expect(await node.tick()).toBe(0);
    expect((await stored<StoredPromise>(store, "p/p1"))?.state).toBe("pending");
    const read = await node.handle(req.get("p1"));
    expect(read.status === 200 && (read.data as { promise: StoredPromise }).promise.state).toBe("rejected_timedout");
  });

  it("a lease that ends returns the task to pending at the same version and sends execute again", async () => {
    const { node, store, clock } = setup();
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g"));
    expect((await node.handle(req.acquire("t1", 0, "w", 5_000))).status).toBe(200);
    clock.set(T0 + 4_999);
    await node.tick();
    expect((await stored<StoredTask>(store, "t/t1"))?.state).toBe("acquired");
    clock.set(T0 + 5_000);
    await node.tick();
    expect(await stored<StoredTask>(store, "t/t1")).toMatchObject({ state: "pending", version: 1 });
    expect(worker.executes).toEqual(["t1@0", "t1@1"]);
  });

  it("a heartbeat pushes the lease end out", async () => {
    const { node, store, clock } = setup();
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g"));
    await node.handle(req.acquire("t1", 0, "w", 5_000));
    clock.set(T0 + 4_000);
    await node.handle({ kind: "task.heartbeat", data: { pid: "w", tasks: [{ id: "t1", version: 1 }] } });
    clock.set(T0 + 8_000);
    await node.tick();
    expect((await stored<StoredTask>(store, "t/t1"))?.state).toBe("acquired");
    clock.set(T0 + 9_000);
    await node.tick();
    expect((await stored<StoredTask>(store, "t/t1"))?.state).toBe("pending");
  });

  it("a pending task is re-dispatched every 30 s until acquired", async () => {
    const { node, clock } = setup();
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g"));
    expect(worker.executes).toEqual(["t1@0"]);
    clock.set(T0 + 29_999);
    await node.tick();
    expect(worker.executes).toHaveLength(1);
    clock.set(T0 + 30_000);
    await node.tick();
    expect(worker.executes).toEqual(["t1@0", "t1@0"]);
    clock.set(T0 + 60_000);
    await node.tick();
    expect(worker.executes).toHaveLength(3);
    await node.handle(req.acquire("t1", 0, "w", 5 * MINUTE));
    clock.set(T0 + 4 * MINUTE);
    await node.tick();
    expect(worker.executes).toHaveLength(3);
  });

  it("a task created with resonate:delay gets its first execute at the delay, not at creation", async () => {
    const { node, clock } = setup();
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g", { "resonate:delay": String(T0 + 5_000) }));
    expect(worker.executes).toEqual([]);
    clock.set(T0 + 4_999);
    await node.tick();
    expect(worker.executes).toEqual([]);
    clock.set(T0 + 5_000);
    await node.tick();
    expect(worker.executes).toEqual(["t1@0"]);
  });

  it("the retry interval comes from the protocol config", async () => {
    const { node, clock } = setup({ protocol: { retryIntervalMs: 1_000 } });
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g"));
    clock.set(T0 + 1_000);
    await node.tick();
    expect(worker.executes).toEqual(["t1@0", "t1@0"]);
  });

  it("a schedule fires every missed tick exactly once, each at its scheduled time", async () => {
    const { node, store, clock } = setup();
    const created = await node.handle({
      kind: "schedule.create",
      data: {
        id: "every-minute",
        cron: "* * * * *",
        promiseId: "{{.id}}-{{.timestamp}}",
        promiseTimeout: MINUTE,
        promiseTags: { "resonate:target": "poll://any@g" },
      },
    });
    expect(created.status).toBe(200);
    clock.set(T0 + 3 * MINUTE + 30_000);
    await node.tick();
    await node.tick();
    const ids = (await store.list({ prefix: "p/every-minute-" })).map((e) => e.key);
    expect(ids).toEqual([1, 2, 3].map((m) => `p/every-minute-${T0 + m * MINUTE}`));
    const first = await stored<StoredPromise>(store, `p/every-minute-${T0 + MINUTE}`);
    expect(first).toMatchObject({ createdAt: T0 + MINUTE, timeoutAt: T0 + 2 * MINUTE });
    expect(first?.tags["resonate:schedule"]).toBe("every-minute");
    clock.set(T0 + 4 * MINUTE);
    await node.tick();
    expect(await store.list({ prefix: "p/every-minute-" })).toHaveLength(4);
  });

  it("a timer that fails is tried again a second later, and the failure is counted", async () => {
    const { node, store, clock } = setup();
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g"));
    const commit = store.commit.bind(store);
    let failures = 1;
    store.commit = async (ops) => {
      if (failures-- > 0) throw new Error("store briefly unavailable");
      return commit(ops);
    };
    clock.set(T0 + 30_000);
    await node.tick();
    expect(worker.executes).toEqual(["t1@0"]);
    expect(node.stats().timers.failed).toBe(1);
    clock.set(T0 + 31_000);
    await node.tick();
    expect(worker.executes).toEqual(["t1@0", "t1@0"]);
  });

  it("timers already in the store when the node starts are found and run", async () => {
    const { node, store, clock } = setup();
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g"));
    const { createMeshNode } = await import("../../src/mesh/compose.ts");
    const restarted = createMeshNode({ store, clock });
    nodes.push(restarted);
    const worker = new Inbox();
    restarted.poll("g", "w", worker);
    clock.set(T0 + 30_000);
    expect(await restarted.tick()).toBeGreaterThanOrEqual(1);
    expect(worker.executes).toEqual(["t1@0"]);
  });

  it("due timers run many at a time, and each exactly once", async () => {
    const { node, store, clock } = setup();
    const worker = new Inbox();
    node.poll("g", "w", worker);
    const n = 600;
    for (let i = 0; i < n; i++) await node.handle(req.targeted(`t${i}`, T0 + 10 * MINUTE, "poll://any@g"));
    worker.messages.length = 0;
    let inFlight = 0;
    let peak = 0;
    const get = store.get.bind(store);
    store.get = async (key: string) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 0));
      try {
        return await get(key);
      } finally {
        inFlight--;
      }
    };
    clock.set(T0 + 30_000);
    expect(await node.tick()).toBe(n);
    expect(new Set(worker.executes).size).toBe(n);
    expect(worker.executes).toHaveLength(n);
    expect(peak).toBeGreaterThan(8);
  });

  it("the running loop fires due timers without tick() being called", async () => {
    const made = makeNode();
    const { createMeshNode } = await import("../../src/mesh/compose.ts");
    const node = createMeshNode({ store: made.store, clock: made.clock, timerPollMs: 5 });
    nodes.push(node);
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.start();
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g"));
    made.clock.set(T0 + 30_000);
    await vi.waitFor(() => expect(worker.executes).toEqual(["t1@0", "t1@0"]), { timeout: 2_000, interval: 5 });
    await node.stop();
  });

  it("stop() ends the loop: nothing fires after it", async () => {
    const made = makeNode();
    const { createMeshNode } = await import("../../src/mesh/compose.ts");
    const node = createMeshNode({ store: made.store, clock: made.clock, timerPollMs: 5 });
    const worker = new Inbox();
    node.poll("g", "w", worker);
    await node.start();
    await node.handle(req.targeted("t1", T0 + 10 * MINUTE, "poll://any@g"));
    await node.stop();
    made.clock.set(T0 + 30_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(worker.executes).toEqual(["t1@0"]);
  });
});
