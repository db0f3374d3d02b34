// Issue 14, item 5: slow readers are not buffered without limit, and work
// goes to workers that keep up. A worker stream that never reads is cut at
// the node's bound and its work goes to a worker that reads; a worker frozen
// with SIGSTOP gets no new `any` work while a healthy worker of its group is
// connected, and what it sat on is re-dispatched after --worker-stall-ms.

import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Resonate } from "@resonate-mesh/sdk";
import { startNode, type NodeProc } from "../support/node.ts";
import { spawnProcess, stopAll, type Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

const program = join(dirname(fileURLToPath(import.meta.url)), "programs/idle-worker.ts");
const clients: Resonate[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await stopAll();
});

const b64 = (text: string) => Buffer.from(text).toString("base64");
const FAR = 4_102_444_800_000;

async function envelope(node: NodeProc, kind: string, data: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${node.url}/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind, head: { corrId: "c", version: "2026-04-01" }, data }),
  });
  return { status: res.status, body: await res.json() };
}

async function metric(node: NodeProc, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

/** An SSE reader that reads: its messages as parsed JSON. */
async function sseReader(node: NodeProc, group: string, pid: string): Promise<{ messages: any[]; close: () => void }> {
  const controller = new AbortController();
  const res = await fetch(`${node.url}/poll/${group}/${pid}`, { signal: controller.signal });
  const messages: any[] = [];
  void (async () => {
    let buffer = "";
    try {
      for await (const chunk of res.body!) {
        buffer += Buffer.from(chunk).toString();
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (event.startsWith("data: ")) messages.push(JSON.parse(event.slice(6)));
        }
      }
    } catch {
      // aborted
    }
  })();
  return { messages, close: () => controller.abort() };
}

describe("a worker stream that never reads", () => {
  it("is cut at --max-queued-bytes-per-stream and its work goes to a worker that reads", async () => {
    const node = await startNode({ args: ["--max-queued-bytes-per-stream", "1048576", "--log-level", "error"] });
    const workers = () => metric(node, /^resonate_node_messages_workers (\d+)/m);
    const base = await workers(); // the node's own subscribers (Watch)
    // Connects, sends its request, and never reads a byte of the answer.
    const stuck = connect({ port: node.port, host: "127.0.0.1" });
    stuck.on("error", () => undefined);
    stuck.write(`GET /poll/sse-slow/stuck HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`);
    stuck.pause();
    await waitFor("the stuck stream to attach", async () => (await workers()) === base + 1);

    // 40 unblocks of 1 MiB for it (the 40 x 3 MiB made the node hold +160 MB), with a task in the middle.
    const big = b64("x".repeat(768 * 1024));
    for (let i = 0; i < 40; i++) {
      if (i === 20) await envelope(node, "promise.create", { id: "slow-task", timeoutAt: FAR, param: { data: b64("{}") }, tags: { "resonate:target": "poll://any@sse-slow" } });
      await envelope(node, "promise.create", { id: `slow-${i}`, timeoutAt: FAR });
      await envelope(node, "promise.register_listener", { awaited: `slow-${i}`, address: "poll://uni@sse-slow/stuck" });
      await envelope(node, "promise.settle", { id: `slow-${i}`, state: "resolved", value: { data: big } });
    }
    expect(await metric(node, /^resonate_server_refused_total\{reason="slow_reader"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(await workers()).toBe(base);

    // The task's execute went to the stuck stream or waited for a worker: a reader gets it now, not after the 30 s retry.
    const reader = await sseReader(node, "sse-slow", "reader");
    const execute = await waitFor(
      "the reader to get the task",
      () => reader.messages.find((m) => m.kind === "execute" && m.data.task.id === "slow-task"),
      10_000,
    );
    expect(execute.kind).toBe("execute");
    reader.close();
    stuck.destroy();
  }, 120_000);
});

async function startIdleWorker(node: NodeProc, group: string): Promise<Proc> {
  const proc = spawnProcess(`idle-worker(${group})`, process.execPath, ["--import", "tsx", program], {
    env: { RESONATE_URL: node.url, GROUP: group },
  });
  await proc.waitForLine(/started \S+/);
  return proc;
}

describe("a frozen worker", () => {
  it("gets no new `any` work while a healthy worker of its group is connected", async () => {
    const node = await startNode({ args: ["--worker-stall-ms", "1000"] });
    const base = await metric(node, /^resonate_node_messages_workers (\d+)/m);
    const frozen = await startIdleWorker(node, "fair");
    const healthy = await startIdleWorker(node, "fair");
    await waitFor("both workers to connect", async () => (await metric(node, /^resonate_node_messages_workers (\d+)/m)) === base + 2, 30_000);

    frozen.signalGroup("SIGSTOP");
    const caller = new Resonate({ url: node.url, group: "fair-callers", stopGraceMs: 0, handleSignals: false });
    clients.push(caller);
    const started = Date.now();
    const waits = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await caller.rpc<string>(`fair-${i}`, "greet", `n${i}`).target("fair");
        return Date.now() - started;
      }),
    );
    // Before: of 20 tasks, 5 waited 30 s and 5 waited 60 s (the retry interval). Now the healthy worker runs them all at once,
    // but for at most one the frozen worker took first, which goes to the healthy one after the 1 s stall limit.
    expect(Math.max(...waits), `waits ${waits.join(",")}`).toBeLessThan(15_000);
    expect(healthy.count(/^ran /)).toBe(20);

    frozen.signalGroup("SIGCONT");
    await new Promise((r) => setTimeout(r, 1_000));
    // What was queued for it is already done: its acquires are refused and it runs nothing.
    expect(frozen.count(/^ran /)).toBe(0);
  }, 120_000);
});
