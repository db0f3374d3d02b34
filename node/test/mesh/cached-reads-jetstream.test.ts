// Two nodes on one JetStream cluster (a real nats-server), each reading
// through its own local view: what one node has acknowledged, the other
// answers at once, whether or not its view has caught up yet (a read-only
// answer is confirmed by a fresh read; a write built on a stale view
// conflicts and is redone from fresh reads). The writes come in bursts so
// that the other view is often still applying them when the requests
// arrive; driver-cached-reads.test.ts has the stale case every time.

import { describe, expect, it } from "vitest";
import { useNats } from "../../../test/support/use-nats.ts";
import { ManualClock } from "../../src/mesh/clock.ts";
import { createMeshNode } from "../../src/mesh/compose.ts";
import { JetStreamStore } from "../../src/store/jetstream.ts";
import type { Response } from "../../src/protocol/types.ts";
import { req, T0 } from "./helpers.ts";

const dataOf = (response: Response): unknown => (response as { data?: unknown }).data;

const nats = useNats();

let clusters = 0;
async function twoNodes() {
  const namespace = `two${++clusters}`;
  const stores = [
    await JetStreamStore.open({ servers: nats.url, namespace, partitions: 4 }),
    await JetStreamStore.open({ servers: nats.url, namespace, partitions: 4 }),
  ];
  const clock = new ManualClock(T0);
  const [a, b] = stores.map((store) => createMeshNode({ store, clock }));
  return {
    a: a!,
    b: b!,
    async close() {
      await a!.stop();
      await b!.stop();
      for (const s of stores) await s.close();
    },
  };
}

describe("two nodes reading through their own views", () => {
  it("promises created on one node are found by the other at once", async () => {
    const { a, b, close } = await twoNodes();
    try {
      // A burst, so that the other node's view is still applying it when the reads come.
      const ids = Array.from({ length: 100 }, (_, i) => `p${i}`);
      const created = await Promise.all(ids.map((id) => a.handle(req.create(id, T0 + 60_000))));
      const got = await Promise.all(ids.map((id) => b.handle(req.get(id))));
      expect(got.map((r) => r.status)).toEqual(ids.map(() => 200));
      expect(got.map(dataOf)).toEqual(created.map(dataOf));
    } finally {
      await close();
    }
  });

  it("tasks created on one node are acquired on the other at once", async () => {
    const { a, b, close } = await twoNodes();
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `t${i}`);
      await Promise.all(ids.map((id) => a.handle(req.targeted(id, T0 + 60_000, "poll://any@g"))));
      const acquired = await Promise.all(ids.map((id) => b.handle(req.acquire(id, 0, "w"))));
      expect(acquired.map((r) => r.status)).toEqual(ids.map(() => 200));
    } finally {
      await close();
    }
  });

  it("promises created on one node are settled on the other at once, and the first node then reads them settled", async () => {
    const { a, b, close } = await twoNodes();
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
      await Promise.all(ids.map((id) => a.handle(req.create(id, T0 + 60_000))));
      const settled = await Promise.all(ids.map((id) => b.handle(req.settle(id))));
      expect(settled.map((r) => r.status)).toEqual(ids.map(() => 200));
      const seen = await Promise.all(ids.map((id) => a.handle(req.get(id))));
      expect(seen.map((r) => (dataOf(r) as { promise: { state: string } }).promise.state)).toEqual(ids.map(() => "resolved"));
    } finally {
      await close();
    }
  });
});
