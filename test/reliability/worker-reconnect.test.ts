// Issue 14, item 1: a worker never gives up on its node. It waits for a node
// that is not up yet, survives the node's death, reconnects with backoff to
// the node that comes back on the same port, logs the outage at a readable
// rate, and exits only on a signal, after releasing what it holds.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Resonate } from "@resonate-mesh/sdk";
import { freePort, startNode, type NodeProc } from "../support/node.ts";
import { spawnProcess, stopAll, type Proc } from "../support/processes.ts";

const program = join(dirname(fileURLToPath(import.meta.url)), "programs/idle-worker.ts");
const clients: Resonate[] = [];
const nodes: NodeProc[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
  await stopAll();
  nodes.splice(0);
});

async function startIdleWorker(port: number, group: string, env: Record<string, string> = {}): Promise<Proc> {
  const proc = spawnProcess(`idle-worker(${group})`, process.execPath, ["--import", "tsx", program], {
    env: { RESONATE_URL: `http://127.0.0.1:${port}`, GROUP: group, RESONATE_LOG_LEVEL: "warn", ...env },
  });
  await proc.waitForLine(/started \S+/);
  return proc;
}

async function node(port?: number): Promise<NodeProc> {
  const n = await startNode({ port });
  nodes.push(n);
  return n;
}

function caller(url: string): Resonate {
  const c = new Resonate({ url, group: "reliability-callers", stopGraceMs: 0, handleSignals: false });
  clients.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a worker whose node goes away", () => {
  it("keeps running while no node is up yet and serves the node once it starts", async () => {
    const port = await freePort();
    const worker = await startIdleWorker(port, "before-node");
    await sleep(2_000);
    expect(worker.running, worker.printed()).toBe(true);

    const n = await node(port);
    const result = await caller(n.url).rpc<string>("early-1", "greet", "early").target("before-node").timeout(60_000);
    expect(result).toBe("Hello, early!");
  });

  it("survives its node being killed and runs a workflow on the node brought back on the same port", async () => {
    const first = await node();
    const worker = await startIdleWorker(first.port, "outage");
    expect(await caller(first.url).rpc<string>("outage-1", "greet", "one").target("outage")).toBe("Hello, one!");

    await first.proc.crash();
    await sleep(3_000);
    expect(worker.running, worker.printed()).toBe(true);

    const second = await node(first.port);
    const result = await caller(second.url).rpc<string>("outage-2", "greet", "two").target("outage").timeout(60_000);
    expect(result).toBe("Hello, two!");
    expect(worker.running).toBe(true);
  });

  it("logs the outage once and the reconnection once, not every attempt", async () => {
    const first = await node();
    const worker = await startIdleWorker(first.port, "quiet");
    await first.proc.crash();
    await sleep(4_000); // a dozen attempts or more at the first backoff steps
    const second = await node(first.port);
    await caller(second.url).rpc<string>("quiet-1", "greet", "x").target("quiet").timeout(60_000);

    const unreachable = worker.stderr.split("\n").filter((l) => l.includes("is unreachable"));
    const reconnected = worker.stderr.split("\n").filter((l) => l.includes("reconnected to the node"));
    expect(unreachable, worker.printed()).toHaveLength(1);
    expect(reconnected, worker.printed()).toHaveLength(1);
    expect(reconnected[0]).toMatch(/after \d+ attempts/);
  });

  it("on SIGTERM releases the task it holds and exits", async () => {
    const n = await node();
    const worker = await startIdleWorker(n.port, "draining", { STOP_GRACE_MS: "100" });
    const c = caller(n.url);
    await c.rpc("drain-1", "hold").target("draining").spawn();
    await worker.waitForLine(/holding/);
    const held = await c.transport.send({ kind: "task.get", data: { id: "drain-1" } });
    expect(held.status === 200 && held.data.task.state).toBe("acquired");

    worker.signalGroup("SIGTERM");
    const code = await worker.exited;
    expect(code === 0 || code === null || code === 143, `exit code ${code}`).toBe(true);
    const after = await c.transport.send({ kind: "task.get", data: { id: "drain-1" } });
    // Released, not left to its 60 s lease: pending again (or already taken by no one else).
    expect(after.status === 200 && after.data.task.state).toBe("pending");
  });
});
