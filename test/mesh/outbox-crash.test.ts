// A node dies between committing a cause and applying its effect on another
// partition: a real `resonate serve` process SIGKILLs itself right after the
// commit (serve's hidden --test-kill-before-outbox-apply, mesh/outbox.ts), and the
// surviving node, once it owns the target partition, applies the outbox
// entry: the awaiter is resumed, exactly once.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type RunningNode } from "@resonate-mesh/node";
import { createClient, ownerOf } from "@resonate-mesh/node/internal-for-tests";
import { PromiseService, TaskService } from "@resonate-mesh/node/proto";
import { OUTBOX_PREFIX, partitionOf, promiseKey } from "@resonate-mesh/node/protocol";
import { Inbox, SettleState } from "../conformance/harness.ts";
import { freePort, resonateBin } from "../support/node.ts";
import { spawnProcess, stopAll, type Proc } from "../support/processes.ts";
import { useNats } from "../support/use-nats.ts";
import { waitFor } from "../support/wait.ts";

const PARTITIONS = 4;
const NAMESPACE = "outboxcrash";
const nats = useNats();
let survivor: RunningNode;

beforeAll(async () => {
  survivor = await startNode({
    store: { kind: "jetstream", servers: nats.url, namespace: NAMESPACE, partitions: PARTITIONS },
    port: 0,
    host: "127.0.0.1",
    // The dying node beats every second (the default); three missed beats and it is gone.
    mesh: { nodeId: "survivor", heartbeatMs: 200, expireMs: 3_000 },
    server: { shutdownGraceMs: 200 },
  });
  await survivor.ready;
}, 60_000);

afterAll(async () => {
  await stopAll();
  await survivor?.close().catch(() => undefined);
});

function dyingNode(port: number): Proc {
  return spawnProcess(
    "resonate serve (dies before applying its outbox)",
    process.execPath,
    [
      ...[resonateBin, "serve", "--host", "127.0.0.1", "--port", String(port), "--store", "jetstream", "--nats", nats.url],
      ...["--partitions", String(PARTITIONS), "--nats-namespace", NAMESPACE, "--test-kill-before-outbox-apply"],
    ],
  );
}

const partition = (id: string) => partitionOf(promiseKey(id), PARTITIONS);

/** The awaited promise, anywhere; the awaiter goes in another partition, one the dying node owns. */
const AWAITED = "crash-awaited";

/**
 * A dying node that owns a partition other than the awaited promise's. Node
 * ids are random, and with two members each of the 4 partitions goes to
 * either: some starts give the newcomer none that will do, so such a node
 * is crashed and another started.
 */
async function dyingNodeOwningAPartition(): Promise<{ proc: Proc; port: number; id: string }> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const proc = dyingNode(port);
    await waitFor("the dying node to join the mesh", () => survivor.members().length === 2, 30_000);
    const id = survivor.members().find((m) => m !== "survivor")!;
    const usable = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p !== partition(AWAITED) && ownerOf(p, survivor.members()) === id);
    if (usable.length > 0) return { proc, port, id };
    await proc.crash();
    await waitFor("the partitionless node to be gone from the mesh", () => survivor.members().length === 1, 30_000);
  }
  throw new Error("in 5 starts, no dying node was given a partition other than the awaited promise's");
}

describe("a node killed between a settle's commit and the wake-up of an awaiter in another partition", () => {
  it("the surviving node applies the outbox entry once it owns the awaiter's partition: the awaiter is dispatched exactly once", async () => {
    const { proc: dying, port, id: dyingId } = await dyingNodeOwningAPartition();

    // The awaiter in a partition the dying node owns, so only a takeover applies it.
    const awaited = AWAITED;
    let awaiter = "";
    for (let i = 0; awaiter === "" && i < 10_000; i++) {
      const id = `crash-awaiter-${i}`;
      if (partition(id) !== partition(awaited) && ownerOf(partition(id), survivor.members()) === dyingId) awaiter = id;
    }
    expect(awaiter, "an awaiter id in a partition of the dying node, other than the awaited's").not.toBe("");

    const promises = createClient(PromiseService, survivor.address);
    const tasks = createClient(TaskService, survivor.address);
    const onDying = createClient(PromiseService, `127.0.0.1:${port}`);
    const inbox = await Inbox.open(tasks, "crash-workers", "w1");
    try {
      const timeoutAt = BigInt(Date.now() + 600_000);
      await promises.create({ id: awaited, timeoutAt });
      await promises.create({ id: awaiter, timeoutAt, tags: { "resonate:target": "poll://any@crash-workers" } });
      expect(await inbox.nextExecute(10_000)).toEqual({ id: awaiter, version: 0n });
      await tasks.acquire({ id: awaiter, version: 0n, pid: "w1", ttl: 600_000n });
      await tasks.suspend({ id: awaiter, version: 1n, actions: [{ awaited, awaiter }] });

      // The settle commits on the dying node, which is killed before it applies the wake-up.
      await expect(onDying.settle({ id: awaited, state: SettleState.RESOLVED })).rejects.toThrow();
      await waitFor("the dying node to be gone", () => !dying.running, 30_000);
      expect((await promises.get({ id: awaited })).promise?.id).toBe(awaited);

      // Once the survivor owns the awaiter's partition, its scan applies the entry.
      expect(await inbox.nextExecute(30_000)).toEqual({ id: awaiter, version: 1n });
      await waitFor("the outbox entry to be deleted", async () => (await survivor.store.list({ prefix: OUTBOX_PREFIX })).length === 0, 30_000);
      // Exactly once: no second execute through the survivor's later scans (every second).
      await inbox.expectNothing(3_000);
      const task = (await tasks.get({ id: awaiter })).task!;
      expect(task.version).toBe(1n);
      expect(task.resumes).toEqual([awaited]);
    } finally {
      inbox.cancel();
      promises.close();
      tasks.close();
      onDying.close();
    }
  }, 120_000);
});
