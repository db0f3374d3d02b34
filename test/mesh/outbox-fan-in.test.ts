// A settle that wakes awaiters of several other call trees, in several other
// partitions: each wake-up is an outbox entry (protocol/outbox.ts), and the
// node that commits the settle applies all of them (mesh/outbox.ts) before it
// answers, so the answer already finds every awaiter's task resumed, and each
// awaiter is dispatched once.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type RunningNode } from "@resonate-mesh/node";
import { createClient } from "@resonate-mesh/node/internal-for-tests";
import { PromiseService, TaskService } from "@resonate-mesh/node/proto";
import { partitionOf, promiseKey } from "@resonate-mesh/node/protocol";
import { Inbox, SettleState, TaskState, target } from "../conformance/harness.ts";
import { useNats } from "../support/use-nats.ts";

const PARTITIONS = 4;
const nats = useNats();
let node: RunningNode;

beforeAll(async () => {
  node = await startNode({
    store: { kind: "jetstream", servers: nats.url, namespace: "fanin", partitions: PARTITIONS },
    port: 0,
    host: "127.0.0.1",
    server: { shutdownGraceMs: 200 },
  });
  await node.ready;
}, 60_000);

afterAll(async () => {
  await node?.close().catch(() => undefined);
});

const partition = (id: string) => partitionOf(promiseKey(id), PARTITIONS);

describe("a settle waking awaiters in several other partitions", () => {
  it("answers once every awaiter's task is resumed, and dispatches each awaiter once", async () => {
    const awaited = "fanin-awaited";
    // One awaiter in each partition but the awaited's.
    const awaiters: string[] = [];
    const taken = new Set([partition(awaited)]);
    for (let i = 0; taken.size < PARTITIONS; i++) {
      const id = `fanin-awaiter-${i}`;
      if (taken.has(partition(id))) continue;
      taken.add(partition(id));
      awaiters.push(id);
    }

    const promises = createClient(PromiseService, node.address);
    const tasks = createClient(TaskService, node.address);
    const inbox = await Inbox.open(tasks, "fanin-workers", "w1");
    try {
      const timeoutAt = BigInt(Date.now() + 600_000);
      await promises.create({ id: awaited, timeoutAt });
      for (const id of awaiters) {
        await promises.create({ id, timeoutAt, tags: target("poll://any@fanin-workers") });
        expect(await inbox.nextExecute(10_000)).toEqual({ id, version: 0n });
        await tasks.acquire({ id, version: 0n, pid: "w1", ttl: 600_000n });
        await tasks.suspend({ id, version: 1n, actions: [{ awaited, awaiter: id }] });
      }

      await promises.settle({ id: awaited, state: SettleState.RESOLVED });
      // Read right after the answer: every wake-up was applied before it.
      for (const id of awaiters) {
        const task = (await tasks.get({ id })).task!;
        expect(task.state, `${id} resumed`).toBe(TaskState.PENDING);
        expect(task.resumes).toEqual([awaited]);
      }
      const resumed = [];
      for (let i = 0; i < awaiters.length; i++) resumed.push(await inbox.nextExecute(10_000));
      expect(resumed.map((r) => r.id).sort()).toEqual([...awaiters].sort());
      expect(resumed.every((r) => r.version === 1n)).toBe(true);
      await inbox.expectNothing(1_000);
    } finally {
      inbox.cancel();
      promises.close();
      tasks.close();
    }
  }, 60_000);
});
