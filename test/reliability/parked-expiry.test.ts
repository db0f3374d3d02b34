// Issue 14, item 6: executes nobody can take (their task finished meanwhile,
// or their group never connects) expire actively after their time to live,
// without waiting for a worker of the group to connect. A node on a manual
// clock, driven by tick().

import { describe, expect, it } from "vitest";
import { createMeshNode, ManualClock } from "@resonate-mesh/node/local";
import { MemoryStore } from "@resonate-mesh/node/store";

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

describe("parked executes", () => {
  it("for tasks that finished are dropped after their time to live, with no worker ever connecting", async () => {
    const clock = new ManualClock(T0);
    const node = createMeshNode({ store: new MemoryStore(), clock, limits: { parkedExecuteTtlMs: 10 * MINUTE } });
    for (let i = 0; i < 50; i++) {
      const created = await node.handle({
        kind: "promise.create",
        data: { id: `gone-${i}`, timeoutAt: T0 + 60 * MINUTE, param: { headers: {}, data: "" }, tags: { "resonate:target": "poll://any@never-connects" } },
      });
      expect(created.status).toBe(200);
      // Settled from outside: the task is done, its execute is now undeliverable and useless.
      await node.handle({ kind: "promise.settle", data: { id: `gone-${i}`, state: "resolved", value: { headers: {}, data: "" } } });
    }
    expect(node.stats().messages.waiting).toBe(50);

    clock.advance(9 * MINUTE);
    await node.tick();
    expect(node.stats().messages.waiting).toBe(50);

    clock.advance(2 * MINUTE);
    await node.tick();
    expect(node.stats().messages.waiting).toBe(0);
    expect(node.stats().messages.expired).toBe(50);
    await node.stop();
  });
});
