// The one composition (mesh/compose.ts): what it builds and wires, checked
// through the assembled node. A node outside a mesh sends to its own
// workers; nodes composed into a mesh over one JetStream cluster (a real
// nats-server) see each other, hand work to each other's workers, and leave
// when stopped.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNats, type NatsServer } from "../../../test/support/nats.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { ManualClock } from "../../src/mesh/clock.ts";
import { composeNode, createMeshNode, type ComposedNode } from "../../src/mesh/compose.ts";
import { JetStreamStore } from "../../src/store/jetstream.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { Inbox, req, T0 } from "./helpers.ts";

const HOUR = 3_600_000;

describe("a node outside a mesh", () => {
  it("sends what a commit makes to its own workers", async () => {
    const node = createMeshNode({ store: new MemoryStore(), clock: new ManualClock(T0) });
    const worker = new Inbox();
    node.poll("g", "w1", worker);
    await node.handle(req.targeted("wf", T0 + HOUR, "poll://any@g"));
    expect(worker.executes).toEqual(["wf@0"]);
  });

  it("cannot join a mesh over the memory store: composing one is refused, naming the store", () => {
    expect(() => composeNode({ store: new MemoryStore(), mesh: { nodeId: "a" } })).toThrow(/needs the jetstream store.*"memory"/);
  });
});

describe("nodes composed into a mesh over one JetStream cluster", () => {
  let nats: NatsServer;
  const opened: JetStreamStore[] = [];
  const composed: ComposedNode[] = [];
  let clusters = 0;

  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    for (const c of composed) await c.stop().catch(() => undefined);
    for (const s of opened) await s.close().catch(() => undefined);
    await nats?.stop();
  });

  /** Two nodes, each with its own connection, over a fresh cluster; both joined. */
  async function twoNodes(): Promise<[ComposedNode, ComposedNode]> {
    const namespace = `compose${++clusters}`;
    const nodes: ComposedNode[] = [];
    for (const nodeId of ["node-a", "node-b"]) {
      const store = await JetStreamStore.open({ servers: nats.url, namespace, partitions: 4 });
      opened.push(store);
      const c = composeNode({ store, clock: new ManualClock(T0), mesh: { nodeId, heartbeatMs: 50, expireMs: 500 } });
      composed.push(c);
      await c.join();
      nodes.push(c);
    }
    return nodes as [ComposedNode, ComposedNode];
  }

  it("see each other once both have joined", async () => {
    const [a, b] = await twoNodes();
    const both = ["node-a", "node-b"];
    await waitFor("node-a to hear node-b", () => a.membership!.members().join() === both.join());
    await waitFor("node-b to hear node-a", () => b.membership!.members().join() === both.join());
  });

  it("hand an execute made on one node to a worker attached to the other", async () => {
    const [a, b] = await twoNodes();
    const worker = new Inbox();
    a.node.poll("g", "w1", worker);
    // The worker's subscription is on the server before node-b looks for it.
    await (a.node.store as JetStreamStore).connection.flush();
    await b.node.handle(req.targeted("wf", T0 + HOUR, "poll://any@g"));
    await waitFor("the execute to reach the worker on node-a", () => worker.executes.length > 0);
    expect(worker.executes).toEqual(["wf@0"]);
  });

  it("leave the mesh when stopped: the other node stops counting it", async () => {
    const [a, b] = await twoNodes();
    await waitFor("node-b to hear node-a", () => b.membership!.members().includes("node-a"));
    await a.stop();
    await waitFor("node-b to forget node-a", () => b.membership!.members().join() === "node-b");
  });
});
