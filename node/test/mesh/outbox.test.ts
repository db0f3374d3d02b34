// The outbox at the node level, on the memory engine split into partitions
// (commits confined to one partition, as on JetStream): answers and records
// equal one partition's, and an effect whose cause committed is applied once
// by whoever gets there, even when the node that committed it never does.

import fc from "fast-check";
import { describe, expect, test, vi } from "vitest";
import { ManualClock } from "../../src/mesh/clock.ts";
import { createMeshNode } from "../../src/mesh/compose.ts";
import type { MeshNode } from "../../src/mesh/node.ts";
import { OUTBOX_PREFIX, RECEIPT_PREFIX, partitionOfId, promiseKey, taskKey } from "../../src/protocol/keys.ts";
import { Tag, type Message, type Request, type StoredTask } from "../../src/protocol/types.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/types.ts";
import { IDS, opArb, toRequest, type Op } from "../protocol/generator.ts";

const T0 = 1_000_000;
const P = 4;
const TARGET = "poll://any@g";

async function dump(store: Store, prefixes = ["p/", "t/", "s/"]): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  for (const prefix of prefixes) for (const e of await store.list({ prefix })) out.push([e.key, e.value]);
  return out;
}

/** Two ids of different call trees whose partitions differ at P. */
function twoTrees(): [string, string] {
  const a = "wf-a";
  for (let i = 0; ; i++) if (partitionOfId(`wf-b${i}`, P) !== partitionOfId(a, P)) return [a, `wf-b${i}`];
}

/** Outbox entries applied over all runs: the property must exercise the outbox, not only pass. */
let crossed = 0;

async function runBoth(ops: Op[]): Promise<void> {
  const oneClock = new ManualClock(T0);
  const splitClock = new ManualClock(T0);
  const one = new MemoryStore();
  const split = new MemoryStore({ partitions: P });
  const a = createMeshNode({ store: one, clock: oneClock });
  const b = createMeshNode({ store: split, clock: splitClock });
  for (const [i, o] of ops.entries()) {
    if (o.op === "advance") {
      oneClock.advance(o.ms);
      splitClock.advance(o.ms);
      continue;
    }
    if (o.op === "timers") {
      expect(await b.tick(), `timers run at step ${i}`).toBe(await a.tick());
      continue;
    }
    const versions = new Map<string, number | undefined>();
    for (const id of IDS) versions.set(id, ((await one.get(taskKey(id)))?.value as { version?: number } | undefined)?.version);
    const request = toRequest(o, oneClock.now(), (id) => versions.get(id))!;
    const expected = await a.handle(request);
    expect(await b.handle(request), `step ${i}: ${JSON.stringify(request)}`).toEqual(expected);
  }
  // Stopping waits for deletions of applied entries still under way.
  await b.stop();
  expect(await dump(split)).toEqual(await dump(one));
  crossed += b.stats().outbox!.applied;
  // Every entry was applied and deleted (receipts outlive them a while).
  expect(await dump(split, [OUTBOX_PREFIX])).toEqual([]);
}

describe("a store split into partitions answers like one partition", () => {
  test("the generator's trees a and b live in different partitions (so effects cross)", () => {
    expect(partitionOfId("a", P)).not.toBe(partitionOfId("b", P));
  });

  test("random request sequences: identical answers and records, no outbox entry left", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40, size: "max" }), runBoth),
      { numRuns: Number(process.env.RESONATE_OUTBOX_RUNS ?? 300), endOnFailure: true },
    );
    expect(crossed).toBeGreaterThan(0);
  }, 300_000);
});

/** A node on `store` whose commits leave their outbox entries unapplied, as if it died right after each commit. */
function dyingNode(store: Store, clock: ManualClock): MeshNode {
  const node = createMeshNode({ store, clock });
  (node as unknown as { driver: { applyOutbox?: unknown } }).driver.applyOutbox = undefined;
  return node;
}

async function ok(node: MeshNode, request: Request) {
  const r = await node.handle(request);
  if (r.status !== 200 && r.status !== 300) throw new Error(`${request.kind}: ${JSON.stringify(r)}`);
  return r;
}

/** An awaiter `w` (targeted, acquired, suspended on `x` of another tree). */
async function suspendedAwaiter(node: MeshNode, clock: ManualClock, w: string, x: string): Promise<void> {
  const timeoutAt = clock.now() + 3_600_000;
  await ok(node, { kind: "promise.create", data: { id: x, timeoutAt } });
  await ok(node, { kind: "promise.create", data: { id: w, timeoutAt, tags: { [Tag.target]: TARGET } } });
  await ok(node, { kind: "task.acquire", data: { id: w, version: 0, pid: "p1", ttl: 60_000 } });
  await ok(node, {
    kind: "task.suspend",
    data: { id: w, version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: x, awaiter: w } }] },
  });
}

async function task(store: Store, id: string): Promise<StoredTask> {
  return (await store.get(taskKey(id)))!.value as StoredTask;
}

describe("an effect committed but not applied by its node", () => {
  test("a settle waking an awaiter of another tree: the next node to scan applies it, the awaiter is dispatched once", async () => {
    const [w, x] = twoTrees();
    const store = new MemoryStore({ partitions: P });
    const clock = new ManualClock(T0);
    const healthy = createMeshNode({ store, clock });
    await suspendedAwaiter(healthy, clock, w, x);
    expect((await task(store, w)).state).toBe("suspended");

    const before = healthy.stats().outbox!.applied;
    const dying = dyingNode(store, clock);
    await ok(dying, { kind: "promise.settle", data: { id: x, state: "resolved" } });
    // The cause is there, the effect is not yet: the entry carries it.
    expect(((await store.get(promiseKey(x)))!.value as { state: string }).state).toBe("resolved");
    expect((await task(store, w)).state).toBe("suspended");
    expect(await store.list({ prefix: OUTBOX_PREFIX })).toHaveLength(1);

    const sent: Message[] = [];
    healthy.poll("g", "w1", { send: (m) => (sent.push(m), true) });
    sent.length = 0; // the create's execute, parked until now
    await healthy.tick();
    await healthy.tick();
    const t = await task(store, w);
    expect(t.state).toBe("pending");
    expect(t.resumes).toEqual([x]);
    expect(sent.filter((m) => m.kind === "execute" && m.task.id === w)).toHaveLength(1);
    expect(await dump(store, [OUTBOX_PREFIX])).toEqual([]);
    expect(healthy.stats().outbox!.applied - before).toBe(1);
  });

  test("a callback registered across trees while its promise settles: the awaiter is resumed, not left suspended", async () => {
    const [w, x] = twoTrees();
    const store = new MemoryStore({ partitions: P });
    const clock = new ManualClock(T0);
    const healthy = createMeshNode({ store, clock });
    const dying = dyingNode(store, clock);
    const timeoutAt = clock.now() + 3_600_000;
    await ok(healthy, { kind: "promise.create", data: { id: x, timeoutAt } });
    await ok(healthy, { kind: "promise.create", data: { id: w, timeoutAt, tags: { [Tag.target]: TARGET } } });
    await ok(healthy, { kind: "task.acquire", data: { id: w, version: 0, pid: "p1", ttl: 60_000 } });
    // The suspend commits with the callback as an entry; before it is applied, x settles (no callback on it yet).
    const r = await ok(dying, {
      kind: "task.suspend",
      data: { id: w, version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: x, awaiter: w } }] },
    });
    expect(r.status).toBe(200);
    await ok(healthy, { kind: "promise.settle", data: { id: x, state: "resolved" } });
    expect((await task(store, w)).state).toBe("suspended");
    await healthy.tick();
    await healthy.tick();
    const t = await task(store, w);
    expect(t.state).toBe("pending");
    expect(t.resumes).toEqual([x]);
    expect(await dump(store, [OUTBOX_PREFIX])).toEqual([]);
  });

  test("two nodes applying the same entry at once apply it once", async () => {
    const [w, x] = twoTrees();
    const store = new MemoryStore({ partitions: P });
    const clock = new ManualClock(T0);
    const n1 = createMeshNode({ store, clock });
    const n2 = createMeshNode({ store, clock });
    await suspendedAwaiter(n1, clock, w, x);
    const before = n1.stats().outbox!.applied + n2.stats().outbox!.applied;
    await ok(dyingNode(store, clock), { kind: "promise.settle", data: { id: x, state: "resolved" } });
    const sent: Message[] = [];
    n1.poll("g", "w1", { send: (m) => (sent.push(m), true) });
    n2.poll("g", "w2", { send: (m) => (sent.push(m), true) });
    sent.length = 0; // the create's execute, parked until now
    await Promise.all([n1.tick(), n2.tick(), n1.tick(), n2.tick()]);
    const applied = n1.stats().outbox!.applied + n2.stats().outbox!.applied;
    expect(applied - before).toBe(1);
    expect(sent.filter((m) => m.kind === "execute" && m.task.id === w)).toHaveLength(1);
    expect((await task(store, w)).version).toBe(1);
  });

  test("an entry applied after its target moved on is re-derived, not replayed: a resume for a task acquired meanwhile is recorded, not dispatched", async () => {
    const [w, x] = twoTrees();
    const store = new MemoryStore({ partitions: P });
    const clock = new ManualClock(T0);
    const healthy = createMeshNode({ store, clock });
    await suspendedAwaiter(healthy, clock, w, x);
    await ok(dyingNode(store, clock), { kind: "promise.settle", data: { id: x, state: "resolved" } });
    // Meanwhile the task was released by an operator and acquired again (another path, same tree).
    await ok(healthy, { kind: "task.continue", data: { id: w } }).catch(() => undefined);
    await ok(healthy, { kind: "task.halt", data: { id: w } });
    await ok(healthy, { kind: "task.continue", data: { id: w } });
    await ok(healthy, { kind: "task.acquire", data: { id: w, version: 1, pid: "p2", ttl: 60_000 } });
    const sent: Message[] = [];
    healthy.poll("g", "w1", { send: (m) => (sent.push(m), true) });
    sent.length = 0; // executes parked before the worker came
    await healthy.tick();
    const t = await task(store, w);
    expect(t.state).toBe("acquired");
    expect(t.pid).toBe("p2");
    expect(t.resumes).toEqual([x]);
    expect(sent.filter((m) => m.kind === "execute")).toEqual([]);
  });

  test("a receipt stays while an applier may still hold its entry, and goes once the entry is gone and five minutes have passed", async () => {
    const [w, x] = twoTrees();
    const store = new MemoryStore({ partitions: P });
    const clock = new ManualClock(T0);
    const n = createMeshNode({ store, clock });
    await suspendedAwaiter(n, clock, w, x);
    await ok(n, { kind: "promise.settle", data: { id: x, state: "resolved" } });
    // Entries are deleted right after the answer.
    await vi.waitFor(async () => expect(await store.list({ prefix: OUTBOX_PREFIX })).toEqual([]));
    expect(await store.list({ prefix: RECEIPT_PREFIX })).toHaveLength(2);
    clock.advance(299_000);
    await n.tick();
    expect(await store.list({ prefix: RECEIPT_PREFIX })).toHaveLength(2);
    clock.advance(1_000);
    await n.tick();
    expect(await store.list({ prefix: RECEIPT_PREFIX })).toEqual([]);
  });
});
