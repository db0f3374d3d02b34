// Issue 14, item 2: a node with a small heap and a memory budget stays up
// under a flood of large creates and refuses what does not fit with 429 and
// a sentence, writing nothing (before: a 200 MB heap aborted after 43 creates
// of 4 MiB); settled promises older than the retention age are removed with
// their tasks.

import { describe, expect, it } from "vitest";
import { createMeshNode, ManualClock } from "@resonate-mesh/node/local";
import { MemoryStore } from "@resonate-mesh/node/store";
import { startNode } from "../support/node.ts";
import { stopAll } from "../support/processes.ts";

describe("memory budget", () => {
  it("a 200 MB-heap node under a flood of 3 MiB creates stays up and refuses the excess with 429, writing nothing", async () => {
    const node = await startNode({ args: ["--memory-budget-mb", "100", "--log-level", "error"], env: { NODE_OPTIONS: "--max-old-space-size=200" } });
    try {
      const data = Buffer.alloc(3 * 1024 * 1024, 7).toString("base64");
      const statuses: number[] = [];
      let refusal = "";
      for (let i = 0; i < 60; i++) {
        const res = await fetch(`${node.url}/`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ kind: "promise.create", head: { corrId: `c${i}`, version: "2026-04-01" }, data: { id: `big-${i}`, timeoutAt: 4_102_444_800_000, param: { data } } }),
        });
        statuses.push(res.status);
        const body = (await res.json()) as { data: unknown };
        if (res.status === 429) refusal = String(body.data);
      }
      expect(node.proc.running, node.proc.printed()).toBe(true);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(5);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(10);
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      expect(refusal).toMatch(/memory budget .* nothing was written/);

      const firstRefused = statuses.indexOf(429);
      const get = await fetch(`${node.url}/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind: "promise.get", head: { corrId: "g", version: "2026-04-01" }, data: { id: `big-${firstRefused}` } }),
      });
      expect(get.status).toBe(404);
      expect((await fetch(`${node.url}/health`)).status).toBe(200);
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      expect(metrics).toMatch(/^resonate_node_memory_refused [1-9]/m);
    } finally {
      await stopAll();
    }
  }, 120_000);
});

describe("retention", () => {
  const T0 = 1_700_000_000_000;
  const HOUR = 3_600_000;
  const empty = { headers: {}, data: "" };

  it("removes settled promises and their tasks older than the retention age, and nothing else", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    const node = createMeshNode({ store, clock, limits: { retentionMs: 24 * HOUR } });
    await node.handle({ kind: "promise.create", data: { id: "old", timeoutAt: T0 + 100 * HOUR, param: empty, tags: { "resonate:target": "poll://any@g" } } });
    await node.handle({ kind: "promise.settle", data: { id: "old", state: "resolved", value: empty } });
    await node.handle({ kind: "promise.create", data: { id: "open", timeoutAt: T0 + 100 * HOUR, param: empty, tags: {} } });
    clock.advance(20 * HOUR);
    await node.handle({ kind: "promise.create", data: { id: "recent", timeoutAt: T0 + 100 * HOUR, param: empty, tags: {} } });
    await node.handle({ kind: "promise.settle", data: { id: "recent", state: "resolved", value: empty } });

    clock.advance(5 * HOUR); // "old" settled 25 h ago, "recent" 5 h ago
    await node.tick();

    expect((await node.handle({ kind: "promise.get", data: { id: "old" } })).status).toBe(404);
    expect(await store.get("t/old")).toBeUndefined();
    expect((await node.handle({ kind: "promise.get", data: { id: "open" } })).status).toBe(200);
    expect((await node.handle({ kind: "promise.get", data: { id: "recent" } })).status).toBe(200);
    expect(node.stats().retention.removed).toBe(1);
    await node.stop();
  });

  it("is off by default", async () => {
    const clock = new ManualClock(T0);
    const node = createMeshNode({ store: new MemoryStore(), clock });
    await node.handle({ kind: "promise.create", data: { id: "kept", timeoutAt: T0 + HOUR, param: empty, tags: {} } });
    await node.handle({ kind: "promise.settle", data: { id: "kept", state: "resolved", value: empty } });
    clock.advance(1_000 * 24 * HOUR);
    await node.tick();
    expect((await node.handle({ kind: "promise.get", data: { id: "kept" } })).status).toBe(200);
    await node.stop();
  });
});
