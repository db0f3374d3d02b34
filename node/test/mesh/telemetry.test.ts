// What a node reports for /metrics (MeshNode.telemetry()): latencies by
// request kind, promises and tasks by state kept from the store's changes,
// workers and backlog per group, how late timers fire, commit latency.

import { afterEach, describe, expect, it } from "vitest";
import type { MeshNode } from "../../src/mesh/node.ts";
import { Inbox, makeNode, req, T0 } from "./helpers.ts";

const HOUR = 3_600_000;
const started: MeshNode[] = [];

afterEach(async () => {
  for (const node of started.splice(0)) await node.stop();
});

async function startedNode() {
  const made = makeNode();
  await made.node.start();
  started.push(made.node);
  return made;
}

describe("node telemetry", () => {
  it("times every answered request in the histogram of its kind", async () => {
    const { node } = makeNode();
    await node.handle(req.create("a", T0 + HOUR));
    await node.handle(req.create("b", T0 + HOUR));
    await node.handle(req.get("a"));
    const latency = node.telemetry().requestLatency;
    expect(latency.get("promise.create")?.count).toBe(2);
    expect(latency.get("promise.get")?.count).toBe(1);
    expect(latency.get("promise.create")?.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it("counts promises and tasks by state as the store changes, without a scan", async () => {
    const { node } = await startedNode();
    await node.handle(req.targeted("wf", T0 + HOUR, "poll://any@g"));
    await node.handle(req.create("plain", T0 + HOUR));
    expect(node.telemetry().promises).toMatchObject({ pending: 2 });
    expect(node.telemetry().tasks).toMatchObject({ pending: 1 });
    await node.handle(req.settle("wf"));
    await node.handle(req.settle("plain", "rejected"));
    expect(node.telemetry().promises).toMatchObject({ pending: 0, resolved: 1, rejected: 1 });
    expect(node.telemetry().tasks).toMatchObject({ pending: 0, fulfilled: 1 });
  });

  it("reports live workers and parked messages per group", async () => {
    const { node } = makeNode();
    const sub = node.poll("served", "w1", new Inbox());
    await node.handle(req.targeted("orphan", T0 + HOUR, "poll://any@nobody"));
    expect(node.telemetry().groups).toEqual(
      expect.arrayContaining([
        { group: "served", workers: 1, waiting: 0 },
        { group: "nobody", workers: 0, waiting: 1 },
      ]),
    );
    sub.close();
    expect(node.telemetry().groups.find((g) => g.group === "served")?.workers ?? 0).toBe(0);
  });

  it("measures how late a timer fired: due at T0 + 1 s, run at T0 + 6 s, 5 s late", async () => {
    const { node, clock } = makeNode();
    // Targeted promises are timed out actively (untargeted ones lazily, with no timer).
    await node.handle(req.targeted("timeout", T0 + 1_000, "poll://any@g"));
    clock.set(T0 + 6_000);
    expect(await node.tick()).toBe(1);
    const lag = node.telemetry().timerLag.promise;
    expect(lag.count).toBe(1);
    expect(lag.sum).toBe(5);
    expect(node.telemetry().timerLag.task.count).toBe(0);
  });

  it("times store commits and counts them with the conflicts", async () => {
    const { node } = makeNode();
    await node.handle(req.create("a", T0 + HOUR));
    await node.handle(req.get("a"));
    const t = node.telemetry();
    expect(t.commits).toMatchObject({ commits: 1, conflicts: 0 });
    expect(t.commitLatency.count).toBe(1);
    expect(t.store).toEqual({ engine: "memory", connected: undefined, stats: undefined });
  });
});
