// The outbox on a real nats-server: a settle that wakes an awaiter of another
// partition lands both effects, and an entry applied while another writer
// changes the target, or by several nodes at once, is applied exactly once.

import { afterAll, describe, expect, it } from "vitest";
import { useNats } from "../../../test/support/use-nats.ts";
import { ManualClock } from "../../src/mesh/clock.ts";
import { createMeshNode } from "../../src/mesh/compose.ts";
import type { MeshNode } from "../../src/mesh/node.ts";
import { OUTBOX_PREFIX, partitionOfId, receiptKey, taskKey } from "../../src/protocol/keys.ts";
import { Tag, type Message, type Request, type StoredTask } from "../../src/protocol/types.ts";
import { JetStreamStore } from "../../src/store/jetstream.ts";
import type { Change, CommitOp, Entry, ListOptions, Store } from "../../src/store/types.ts";

const P = 4;
const T0 = 1_000_000;
const TARGET = "poll://any@g";

const nats = useNats();
const opened: Store[] = [];
const nodes: MeshNode[] = [];
afterAll(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  for (const s of opened) await s.close().catch(() => undefined);
});

let clusters = 0;
async function cluster(): Promise<() => Promise<JetStreamStore>> {
  const namespace = `ob${++clusters}`;
  return async () => {
    const store = await JetStreamStore.open({ servers: nats.url, namespace, partitions: P });
    opened.push(store);
    return store;
  };
}

function node(store: Store, clock: ManualClock, options: { dies?: boolean } = {}): MeshNode {
  const n = createMeshNode({ store, clock });
  nodes.push(n);
  // As if the process died right after each commit: its outbox entries stay for others to apply.
  if (options.dies === true) (n as unknown as { driver: { applyOutbox?: unknown } }).driver.applyOutbox = undefined;
  return n;
}

/** Commits go through `before` first (a concurrent writer slipped in right before). */
class Interposed implements Store {
  readonly name = "interposed";
  constructor(
    private readonly inner: Store,
    private readonly before: (ops: CommitOp[]) => Promise<void>,
  ) {}
  get partitions() {
    return this.inner.partitions;
  }
  get = (key: string): Promise<Entry | undefined> => this.inner.get(key);
  create = (key: string, value: unknown) => this.inner.create(key, value);
  update = (key: string, value: unknown, revision: number) => this.inner.update(key, value, revision);
  async commit(ops: CommitOp[]): Promise<void> {
    await this.before(ops);
    return this.inner.commit(ops);
  }
  list = (options: ListOptions): Promise<Entry[]> => this.inner.list(options);
  sync = () => this.inner.sync();
  watch = (prefix: string, onChange: (change: Change) => void) => this.inner.watch(prefix, onChange);
  deliverChanges = () => this.inner.deliverChanges?.();
  close = async () => undefined;
}

function twoTrees(): [string, string] {
  const w = "ob-w";
  for (let i = 0; ; i++) if (partitionOfId(`ob-x${i}`, P) !== partitionOfId(w, P)) return [w, `ob-x${i}`];
}

async function ok(n: MeshNode, request: Request) {
  const r = await n.handle(request);
  if (r.status !== 200 && r.status !== 300) throw new Error(`${request.kind}: ${JSON.stringify(r)}`);
  return r;
}

async function suspendedAwaiter(n: MeshNode, w: string, x: string): Promise<void> {
  const timeoutAt = T0 + 3_600_000;
  await ok(n, { kind: "promise.create", data: { id: x, timeoutAt } });
  await ok(n, { kind: "promise.create", data: { id: w, timeoutAt, tags: { [Tag.target]: TARGET } } });
  await ok(n, { kind: "task.acquire", data: { id: w, version: 0, pid: "p1", ttl: 60_000 } });
  await ok(n, { kind: "task.suspend", data: { id: w, version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: x, awaiter: w } }] } });
}

async function task(store: Store, id: string): Promise<StoredTask> {
  return (await store.get(taskKey(id)))!.value as StoredTask;
}

function executesOf(sent: Message[], id: string): Message[] {
  return sent.filter((m) => m.kind === "execute" && m.task.id === id);
}

describe("outbox on JetStream (4 partitions)", () => {
  it("a settle that wakes an awaiter in another partition has both effects once it answers", async () => {
    const open = await cluster();
    const store = await open();
    const clock = new ManualClock(T0);
    const n = node(store, clock);
    const [w, x] = twoTrees();
    await suspendedAwaiter(n, w, x);
    const settled = await ok(n, { kind: "promise.settle", data: { id: x, state: "resolved" } });
    expect(settled.status).toBe(200);
    expect(await task(store, w)).toMatchObject({ state: "pending", resumes: [x] });
    // The entry is deleted after the answer; stopping waits for that.
    await n.stop();
    await store.sync();
    expect(await store.list({ prefix: OUTBOX_PREFIX })).toEqual([]);
  });

  it("a concurrent writer on the target between read and commit: the apply retries, re-derives, and the resume is kept, once", async () => {
    const open = await cluster();
    const base = await open();
    const clock = new ManualClock(T0);
    const [w, x] = twoTrees();
    const setup = node(base, clock);
    await suspendedAwaiter(setup, w, x);
    await ok(node(base, clock, { dies: true }), { kind: "promise.settle", data: { id: x, state: "resolved" } });

    // The applier's first commit of a receipt finds an operator's halt of the awaiter committed just before it.
    let injected = 0;
    const applierStore = new Interposed(await open(), async (ops) => {
      if (injected === 0 && ops.some((op) => op.key.startsWith("r/"))) {
        injected++;
        await ok(setup, { kind: "task.halt", data: { id: w } });
      }
    });
    const applier = node(applierStore, clock);
    const sent: Message[] = [];
    applier.poll("g", "w1", { send: (m) => (sent.push(m), true) });
    sent.length = 0;
    await applier.tick();
    expect(injected).toBe(1);
    expect(applier.stats().store.conflicts).toBeGreaterThanOrEqual(1);
    expect(applier.stats().outbox).toMatchObject({ applied: 1 });
    // Halted meanwhile: the resume is recorded for when it continues, not dispatched.
    expect(await task(base, w)).toMatchObject({ state: "halted", resumes: [x] });
    expect(executesOf(sent, w)).toEqual([]);
    await ok(setup, { kind: "task.continue", data: { id: w } });
    expect(await task(base, w)).toMatchObject({ state: "pending", resumes: [x], version: 1 });
  });

  it("three nodes applying one entry at once apply it once and dispatch the awaiter once", async () => {
    const open = await cluster();
    const clock = new ManualClock(T0);
    const [w, x] = twoTrees();
    const first = await open();
    await suspendedAwaiter(node(first, clock), w, x);
    await ok(node(first, clock, { dies: true }), { kind: "promise.settle", data: { id: x, state: "resolved" } });
    await first.sync();
    const [entry] = await first.list({ prefix: OUTBOX_PREFIX });
    expect(entry).toBeDefined();

    const appliers = [node(await open(), clock), node(await open(), clock), node(await open(), clock)];
    const sent: Message[] = [];
    appliers.forEach((a, i) => a.poll("g", `w${i}`, { send: (m) => (sent.push(m), true) }));
    sent.length = 0;
    await Promise.all(appliers.map((a) => a.tick()));
    const applied = appliers.reduce((sum, a) => sum + a.stats().outbox!.applied, 0);
    expect(applied).toBe(1);
    expect(executesOf(sent, w)).toHaveLength(1);
    expect(await task(first, w)).toMatchObject({ state: "pending", resumes: [x], version: 1 });
    expect(await first.get(entry!.key)).toBeUndefined();
    expect(await first.get(receiptKey(entry!.key))).toBeDefined();
  });
});
