// The replicated mesh survives a node and a NATS server dying: three
// nats-servers in a cluster with streams of three replicas, three
// `resonate serve` processes, workers attached to different nodes running
// workflows that fan out to leaves. One node is SIGKILLed mid-workflow, then
// one NATS server; every workflow still finishes, each leaf's side effect
// happened once unless its earlier run was on a worker that lost its node,
// and every promise is readable from every surviving node.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeClient } from "@resonate-mesh/node/client";
import type { PromiseRecord } from "@resonate-mesh/node/protocol";
import { Resonate } from "@resonate-mesh/sdk";
import { lines, tempFile } from "../support/files.ts";
import { serveJetStream } from "../support/mesh-processes.ts";
import { startNatsCluster, type NatsCluster } from "../support/nats-cluster.ts";
import type { NodeProc } from "../support/node.ts";
import { spawnProcess, stopAll, type Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

const WORKFLOWS = 6;
const FAN_OUT = 8;
const program = join(import.meta.dirname, "programs/fanout-worker.ts");

let cluster: NatsCluster;
let nodes: NodeProc[] = [];
let caller: Resonate | undefined;
const clients: NodeClient[] = [];

async function worker(node: NodeProc, group: string, effects: string): Promise<Proc & { pid: string }> {
  const proc = spawnProcess(`worker(${group}@${node.proc.name})`, process.execPath, ["--import", "tsx", program], {
    // A lease long enough to ride out a NATS leader election, short enough for the test.
    env: { RESONATE_URL: node.url, GROUP: group, EFFECTS: effects, TTL: "8000", LEAF_MS: "300", RESONATE_LOG_LEVEL: "error" },
  });
  const m = await proc.waitForOutput(/ready (\S+)/, 60_000);
  return Object.assign(proc, { pid: m[1]! });
}

function client(node: NodeProc): NodeClient {
  const c = new NodeClient({ address: node.address, requestTimeoutMs: 10_000 });
  clients.push(c);
  return c;
}

async function get(c: NodeClient, id: string): Promise<PromiseRecord | undefined> {
  try {
    const res = await c.send({ kind: "promise.get", data: { id } });
    return res.status === 200 ? res.data.promise : undefined;
  } catch {
    return undefined; // no answer (failover in progress): ask again
  }
}

/** A workflow's task as `c`'s node sees it, for a failure message. */
async function describeTask(c: NodeClient, id: string): Promise<string> {
  try {
    const res = await c.send({ kind: "task.get", data: { id } });
    return res.status === 200 ? `${id} task ${JSON.stringify(res.data.task)}` : `${id} task ${res.status}`;
  } catch (err) {
    return `${id} task: ${String(err)}`;
  }
}

/** Every promise whose id starts with `prefix`, as `c`'s node lists them. */
async function searchAll(c: NodeClient, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await c.call({ kind: "promise.search", data: { id: prefix, limit: 1000, ...(cursor ? { cursor } : {}) } });
    ids.push(...res.data.promises.map((p) => p.id));
    cursor = res.data.cursor;
    if (!cursor) break;
  }
  return ids.sort();
}

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  // One at a time: the first creates the cluster's streams (replicas 3).
  for (const name of ["node-a", "node-b", "node-c"]) {
    nodes.push(await serveJetStream({ nats: cluster.urls, name, replicas: 3, partitions: 4 }));
  }
}, 180_000);

afterAll(async () => {
  await caller?.stop().catch(() => undefined);
  for (const c of clients) c.close();
  await stopAll();
  await cluster?.stop();
  nodes = [];
});

describe("R3 cluster: a node and a NATS server die mid-workflow", () => {
  it("every workflow finishes, each completed leaf ran once, and every promise is readable from every surviving node", async () => {
    const [a, b, c] = nodes as [NodeProc, NodeProc, NodeProc];
    const effects = tempFile("leaves.txt");
    const onA = [await worker(a, "orchestrators", effects), await worker(a, "leaves", effects)];
    const workers = [...onA, await worker(b, "orchestrators", effects), await worker(b, "leaves", effects), await worker(c, "leaves", effects)];

    caller = new Resonate({ url: c.url, group: "callers", stopGraceMs: 0 });
    const ids = Array.from({ length: WORKFLOWS }, (_, i) => `r3-wf-${i}`);
    for (const id of ids) await caller.rpc(id, "fanOut", FAN_OUT).target("poll://any@orchestrators").spawn();

    await waitFor("leaves to start running", () => lines(effects).length >= FAN_OUT, 60_000);
    await a.proc.crash();
    const afterNodeKill = lines(effects).length;
    await waitFor("leaves to run after node A died", () => lines(effects).length >= afterNodeKill + 4, 90_000);
    // The server leading the most consumers (the nodes' views follow the streams through them).
    await cluster.servers[await cluster.busiestConsumerLeader()]!.crash();

    const leavesStarted = () => [...new Set(lines(effects).map((l) => l.split(" ")[1]!))];
    const fromB = client(b);
    const fromC = client(c);
    const expected = FAN_OUT * (FAN_OUT - 1) / 2;
    let unfinished: string[] = [];
    await waitFor(
      () =>
        `every workflow to finish; unfinished: ${unfinished.join("; ")}\n${lines(effects).length} leaf runs so far\n` +
        [...nodes, ...workers].map((p) => ("proc" in p ? p.proc : p).printed().slice(-4_000)).join("\n"),
      async () => {
        unfinished = [];
        for (const id of [...ids, ...leavesStarted()]) if ((await get(fromB, id))?.state !== "resolved") unfinished.push(await describeTask(fromB, id));
        return unfinished.length === 0;
      },
      120_000,
      500,
    );
    for (const id of ids) expect(await (await caller.get<number>(id)).result(), id).toBe(expected);

    // Side effects. A run that did not complete (its worker lost the task: its node died, or its lease
    // lapsed while NATS failed over) may be followed by another; the run that completed is the one whose
    // value the leaf's promise holds. Each leaf: that run's effect happened exactly once, and no run
    // started after the leaf had completed.
    const runs = new Map<string, { run: string; startedAt: number }[]>();
    for (const line of lines(effects)) {
      const [, id, , run, startedAt] = line.split(" ");
      if (!runs.has(id!)) runs.set(id!, []);
      runs.get(id!)!.push({ run: run!, startedAt: Number(startedAt) });
    }
    const leafIds = [...runs.keys()].filter((id) => ids.some((wf) => id.startsWith(`${wf}.`)));
    expect(leafIds).toHaveLength(WORKFLOWS * FAN_OUT);
    const nodeOf = new Map(workers.map((w) => [w.pid, w.name]));
    const rerunBy = new Map<string, number>();
    for (const id of leafIds) {
      const settled = (await get(fromC, id))!;
      const completed = (await (await caller.get<{ run: string }>(id)).result()).run;
      const ofLeaf = runs.get(id)!;
      expect(ofLeaf.filter((r) => r.run === completed), `${id}: the completed run ${completed} among ${JSON.stringify(ofLeaf)}`).toHaveLength(1);
      expect(ofLeaf.filter((r) => r.startedAt > settled.settledAt!), `${id}: runs after it completed at ${settled.settledAt}`).toEqual([]);
      for (const r of ofLeaf.filter((r) => r.run !== completed)) {
        const by = nodeOf.get(r.run.split("-")[0]!) ?? "?";
        rerunBy.set(by, (rerunBy.get(by) ?? 0) + 1);
      }
    }
    console.log(`r3-faults: ${WORKFLOWS * FAN_OUT} leaves; runs that did not complete, by worker: ${JSON.stringify(Object.fromEntries(rerunBy))}`);

    // No promise lost: the surviving nodes list the same promises, and each reads every one of them.
    const listedB = await searchAll(fromB, "r3-wf-");
    const listedC = await searchAll(fromC, "r3-wf-");
    expect(listedB).toEqual(listedC);
    expect(listedB).toEqual(expect.arrayContaining([...ids, ...leafIds]));
    for (const id of listedB) {
      expect((await get(fromB, id))?.id, `${id} on node B`).toBe(id);
      expect((await get(fromC, id))?.id, `${id} on node C`).toBe(id);
    }
  }, 420_000);
});
