// A node's view of an R3 cluster keeps up when a NATS server dies: the
// ordered consumers that feed it (and the timers and searches fed by it) may
// have lived on that server, and the view must follow on from where it was.

import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, JetStreamStore, StoreUnavailableError } from "@resonate-mesh/node/store";
import { startNatsCluster, type NatsCluster } from "../support/nats-cluster.ts";
import { waitFor } from "../support/wait.ts";

let cluster: NatsCluster | undefined;
let store: JetStreamStore | undefined;

afterAll(async () => {
  await store?.close();
  await cluster?.stop();
});

/** Commit `key` (new), retrying while the cluster elects new stream leaders. */
async function create(s: JetStreamStore, key: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await s.commit([{ key, value: { id: key }, expectedRevision: 0 }]);
      return;
    } catch (err) {
      // A commit whose outcome was unknown may have landed: the retry then conflicts, which is done.
      if (err instanceof ConflictError) return;
      if (attempt >= 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

describe("R3 cluster: the local view across a NATS server's death", () => {
  it("every change committed after one of three servers died reaches a watch", async () => {
    cluster = await startNatsCluster(3);
    // A cluster just formed may not be ready for new R3 streams yet: UNAVAILABLE says so, and a node retries its start as this does.
    store = await waitFor(
      "the store to open on the new cluster",
      () => JetStreamStore.open({ servers: cluster!.urls, replicas: 3, partitions: 2, namespace: "view-r3" }).catch((err: unknown) => {
        if (err instanceof StoreUnavailableError) return undefined;
        throw err;
      }),
      90_000,
      500,
    );
    const seen = new Set<string>();
    store.watch("p/", (change) => seen.add(change.key));
    for (let i = 0; i < 10; i++) await create(store, `p/before-${i}`);
    await waitFor("the changes before the fault", () => seen.size === 10, 30_000);

    // The server leading the view's consumers: its death is what the view must survive.
    await cluster.servers[await cluster.busiestConsumerLeader()]!.crash();
    for (let i = 0; i < 10; i++) await create(store, `p/after-${i}`);
    await waitFor(() => `every change after the fault (${seen.size} of 20 seen)`, () => seen.size === 20, 60_000, 100);
    expect([...seen].sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `p/after-${i}`), ...Array.from({ length: 10 }, (_, i) => `p/before-${i}`)].sort());
  }, 180_000);
});
