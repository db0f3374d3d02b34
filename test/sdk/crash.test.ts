// Crash tests with real processes: workers are killed with SIGKILL mid-work
// and others take over; side effects are counted in a file.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Resonate } from "@resonate-mesh/sdk";
import { count, lines, tempFile } from "../support/files.ts";
import { startNode, type NodeProc } from "../support/node.ts";
import type { Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { startWorker } from "./harness.ts";

let node: NodeProc;
let caller: Resonate;
const procs: Proc[] = [];

beforeAll(async () => {
  node = await startNode();
  caller = new Resonate({ url: node.url, group: "crash-clients", stopGraceMs: 0 });
});

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop("SIGKILL")));
});

afterAll(async () => {
  await caller?.stop();
  await node?.stop();
});

async function task(id: string) {
  const res = await caller.transport.send({ kind: "task.get", data: { id } });
  if (res.status !== 200) throw new Error(`task ${id}: ${res.status}`);
  return res.data.task;
}

async function promise(id: string) {
  const res = await caller.transport.send({ kind: "promise.get", data: { id } });
  if (res.status !== 200) throw new Error(`promise ${id}: ${res.status}`);
  return res.data.promise;
}

describe("crash recovery with real processes", () => {
  it("a second worker finishes a workflow after the first is killed, without repeating a completed step", async () => {
    const effects = tempFile("effects.txt");
    const first = await startWorker(node.url, { GROUP: "crash-a", TTL: "1500", HANG: "1", EFFECTS: effects });
    procs.push(first);
    const handle = await caller.rpc<string>("order-1", "pipeline", "o-1").target("crash-a").spawn();
    await waitFor("the slow step to start", () => count(effects, `slow-start order-1.1 ${first.pid}`) === 1);
    expect(count(effects, "charge order-1.0")).toBe(1);

    await first.crash();
    const killedAt = Date.now();
    const second = await startWorker(node.url, { GROUP: "crash-a", TTL: "1500", EFFECTS: effects });
    procs.push(second);

    expect(await handle.result()).toBe("charged o-1; shipped o-1");
    expect(count(effects, "charge order-1.0")).toBe(1);
    expect(count(effects, `slow-done order-1.1 ${second.pid}`)).toBe(1);
    expect(lines(effects).filter((l) => l.startsWith("slow-done"))).toHaveLength(1);
    // The second worker got the task only after the first one's lease ended.
    expect((await task("order-1")).version).toBe(2);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(500);
  });

  it("a workflow killed during ctx.sleep wakes on the original timer, not a restarted one", async () => {
    const effects = tempFile("effects.txt");
    const first = await startWorker(node.url, { GROUP: "crash-nap", TTL: "1500", EFFECTS: effects });
    procs.push(first);
    const handle = await caller.rpc<number>("nap-1", "napper", 3_000).target("crash-nap").spawn();
    await waitFor("the workflow to suspend on its timer", async () => (await task("nap-1")).state === "suspended");
    const timer = await promise("nap-1.2");
    expect(timer.tags["resonate:timer"]).toBe("true");
    // The SDK computes the deadline a moment before the node stamps createdAt
    // (a moment that a loaded machine stretches).
    expect(Math.abs(timer.timeoutAt - timer.createdAt - 3_000)).toBeLessThan(1_000);

    await first.crash();
    const second = await startWorker(node.url, { GROUP: "crash-nap", TTL: "1500", EFFECTS: effects });
    procs.push(second);

    const slept = await handle.result();
    // The sleep was not restarted: the timer keeps the time recorded before
    // the crash (wall-clock bounds would only measure how loaded the machine is).
    expect(slept).toBeGreaterThanOrEqual(3_000);
    const after = await promise("nap-1.2");
    expect(after.timeoutAt).toBe(timer.timeoutAt);
    expect(after.settledAt).toBe(timer.timeoutAt);
    expect(count(effects, `nap-start nap-1.1 ${first.pid}`)).toBe(1);
    expect(count(effects, `nap-end nap-1.3 ${second.pid}`)).toBe(1);
  });

  it("two workers of one group share 100 rpc calls, each completed exactly once", async () => {
    const effects = tempFile("effects.txt");
    const workers = await Promise.all([
      startWorker(node.url, { GROUP: "crash-share", TTL: "5000", EFFECTS: effects }),
      startWorker(node.url, { GROUP: "crash-share", TTL: "5000", EFFECTS: effects }),
    ]);
    procs.push(...workers);
    const handles = await Promise.all(
      Array.from({ length: 100 }, (_, i) => caller.rpc<number>(`share-${i}`, "work", i).target("crash-share").spawn()),
    );
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));

    const work = lines(effects).filter((l) => l.startsWith("work "));
    expect(work).toHaveLength(100);
    for (let i = 0; i < 100; i++) expect(work.filter((l) => l.startsWith(`work ${i} `))).toHaveLength(1);
    for (const w of workers) expect(work.some((l) => l.endsWith(` ${w.pid}`))).toBe(true);
  });
});
