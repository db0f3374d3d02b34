// Three nodes on one nats-server, one mesh: workers attached to different
// nodes, work created on any node reaches them, every node answers for every
// record, and each partition's timers run on one live owner.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resonate, type Context } from "@resonate-mesh/sdk";
import { startNode, type RunningNode } from "@resonate-mesh/node";
import { createClient, ownerOf } from "@resonate-mesh/node/internal-for-tests";
import { PromiseService, TaskService } from "@resonate-mesh/node/proto";
import { partitionOf, promiseKey } from "@resonate-mesh/node/protocol";
import { Inbox, PromiseState } from "../conformance/harness.ts";
import { scrape } from "../observability/prometheus.ts";
import { useNats } from "../support/use-nats.ts";
import { waitFor } from "../support/wait.ts";

const PARTITIONS = 4;
const nats = useNats();
const nodes: RunningNode[] = [];
const sdkClients: Resonate[] = [];

async function meshNode(name: string): Promise<RunningNode> {
  const node = await startNode({
    store: { kind: "jetstream", servers: nats.url, namespace: "mesh3", partitions: PARTITIONS },
    port: 0,
    host: "127.0.0.1",
    mesh: { nodeId: name, heartbeatMs: 200, expireMs: 1_000 },
    server: { shutdownGraceMs: 200 },
  });
  await node.ready;
  return node;
}

function sdk(node: RunningNode, group: string): Resonate {
  const c = new Resonate({ url: node.url, group, stopGraceMs: 0 });
  sdkClients.push(c);
  return c;
}

beforeAll(async () => {
  for (const name of ["node-a", "node-b", "node-c"]) nodes.push(await meshNode(name));
  await waitFor("every node to see three members", () => nodes.every((n) => n.members().length === 3), 10_000);
});

afterAll(async () => {
  for (const c of sdkClients) await c.stop().catch(() => undefined);
  for (const n of nodes) await n.close().catch(() => undefined);
});

describe("three nodes on one nats-server", () => {
  it("every node sees the same members and computes the same owner for each partition", () => {
    const [a, b, c] = nodes;
    expect(a!.members()).toEqual(["node-a", "node-b", "node-c"]);
    expect(b!.members()).toEqual(a!.members());
    expect(c!.members()).toEqual(a!.members());
    const owners = new Set(Array.from({ length: 64 }, (_, p) => ownerOf(p, a!.members())));
    // 64 partitions over three members: each gets some.
    expect(owners).toEqual(new Set(["node-a", "node-b", "node-c"]));
  });

  it("each node's /metrics counts three members, and every partition is owned by exactly one node, the one ownerOf names", async () => {
    const members = nodes[0]!.members();
    const scrapes = await Promise.all(nodes.map((n) => scrape(n.url)));
    for (const [i, s] of scrapes.entries()) {
      expect(s.families.get("resonate_mesh_members")).toBe("gauge");
      expect(s.value("resonate_mesh_members")).toBe(3);
      for (let p = 0; p < PARTITIONS; p++) {
        const owner = ownerOf(p, members) === nodes[i]!.nodeId ? 1 : 0;
        expect(s.value("resonate_mesh_partition_owned", { partition: String(p) }), `node ${nodes[i]!.nodeId}, partition ${p}`).toBe(owner);
      }
    }
    for (let p = 0; p < PARTITIONS; p++) {
      const owners = scrapes.map((s) => s.value("resonate_mesh_partition_owned", { partition: String(p) }) ?? 0);
      expect(owners.reduce((a, b) => a + b, 0), `partition ${p}`).toBe(1);
    }
  });

  it("a worker on node A receives an execute created on node C", async () => {
    const [a, , c] = nodes;
    const tasksOnA = createClient(TaskService, a!.address);
    const promisesOnC = createClient(PromiseService, c!.address);
    const inbox = await Inbox.open(tasksOnA, "only-on-a", "w1");
    try {
      await promisesOnC.create({
        id: "cross-node-1",
        timeoutAt: BigInt(Date.now() + 60_000),
        tags: { "resonate:target": "poll://any@only-on-a" },
      });
      const execute = await inbox.nextExecute(10_000);
      expect(execute.id).toBe("cross-node-1");
    } finally {
      inbox.cancel();
      tasksOnA.close();
      promisesOnC.close();
    }
  });

  it("a unicast execute for a pid reaches the node that pid is attached to", async () => {
    const [, b, c] = nodes;
    const tasksOnB = createClient(TaskService, b!.address);
    const promisesOnC = createClient(PromiseService, c!.address);
    const inbox = await Inbox.open(tasksOnB, "uni-group", "the-one");
    try {
      await promisesOnC.create({
        id: "cross-node-uni",
        timeoutAt: BigInt(Date.now() + 60_000),
        tags: { "resonate:target": "poll://uni@uni-group/the-one" },
      });
      expect((await inbox.nextExecute(10_000)).id).toBe("cross-node-uni");
    } finally {
      inbox.cancel();
      tasksOnB.close();
      promisesOnC.close();
    }
  });

  it("a fan-out workflow over workers on different nodes completes, and every node answers Get for every promise", async () => {
    const [a, b, c] = nodes;
    const leafRuns: string[] = [];
    async function leaf(ctx: Context, i: number): Promise<number> {
      leafRuns.push(ctx.id);
      return i * i;
    }
    async function fanOut(ctx: Context, n: number): Promise<number> {
      const futures = [];
      for (let i = 0; i < n; i++) futures.push(await ctx.rpc<number>("leaf", i).target("poll://any@leaves").spawn());
      let sum = 0;
      for (const f of futures) sum += await f.result();
      return sum;
    }
    const orchestrator = sdk(a!, "orchestrators");
    orchestrator.register(fanOut, { name: "fanOut" });
    for (const node of [b!, c!]) sdk(node, "leaves").register(leaf, { name: "leaf" });
    const caller = sdk(c!, "callers");

    const n = 12;
    // Attach every worker before starting, so the run shows dispatch rather than the hand-off of
    // parked work to a worker that attaches later (test/mesh/parked-handoff.test.ts covers that).
    const workersOn = (node: RunningNode) => node.node.stats().messages.workers;
    await waitFor("the workers to attach", () => workersOn(a!) >= 1 && workersOn(b!) >= 1 && workersOn(c!) >= 2, 10_000);
    const result = await caller.rpc<number>("fan-1", "fanOut", n).target("poll://any@orchestrators");
    expect(result).toBe(Array.from({ length: n }, (_, i) => i * i).reduce((x, y) => x + y, 0));
    expect(new Set(leafRuns).size).toBe(n);

    const ids = ["fan-1", ...Array.from({ length: n }, (_, i) => `fan-1.${i}`)];
    for (const node of nodes) {
      const promises = createClient(PromiseService, node.address);
      try {
        for (const id of ids) {
          const got = await promises.get({ id });
          expect(got.promise?.id, `${id} on ${node.nodeId}`).toBe(id);
        }
      } finally {
        promises.close();
      }
    }
  }, 60_000);

  // Last: it stops node B.
  it("when a partition's owner leaves, a live node takes its timers over and the timeout fires once", async () => {
    const [a, b] = nodes;
    const members = a!.members();
    let id = "";
    for (let i = 0; id === ""; i++) {
      if (ownerOf(partitionOf(promiseKey(`handover-${i}`), PARTITIONS), members) === "node-b") id = `handover-${i}`;
    }
    const tasksOnA = createClient(TaskService, a!.address);
    const promisesOnA = createClient(PromiseService, a!.address);
    const inbox = await Inbox.open(tasksOnA, "watchers", "w1");
    try {
      await promisesOnA.create({ id, timeoutAt: BigInt(Date.now() + 2_000) });
      await promisesOnA.registerListener({ awaited: id, address: "poll://uni@watchers/w1" });
      await b!.close();
      await waitFor("node B to leave the mesh", () => a!.members().length === 2, 10_000);
      const unblocked = await inbox.nextUnblock(15_000);
      expect(unblocked.id).toBe(id);
      expect(unblocked.state).toBe(PromiseState.REJECTED_TIMEDOUT);
      await inbox.expectNothing(1_500);
    } finally {
      inbox.cancel();
      tasksOnA.close();
      promisesOnA.close();
    }
  }, 60_000);
});
