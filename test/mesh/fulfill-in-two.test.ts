// A task.fulfill carrying writes on JetStream R1 (mesh/node.ts fulfillInTwo):
// applied as task.fence_batch then task.fulfill, two commits of single
// messages instead of one atomic batch, which nats-server stages in a file
// store of its own on R1. Same answer as one commit; a failure between the
// two leaves the writes, and the worker's retry completes.

import { describe, expect, test } from "vitest";
import { createMeshNode, ManualClock } from "@resonate-mesh/node/local";
import { JetStreamStore, MemoryStore, StoreUnavailableError, type Store } from "@resonate-mesh/node/store";
import type { FencedWrite, RequestOf } from "@resonate-mesh/node/protocol";
import { useNats } from "../support/use-nats.ts";

const nats = useNats();

const T0 = 1_000_000;
const value = { headers: {}, data: "" };
let clusters = 0;

function openJetStream(): Promise<JetStreamStore> {
  return JetStreamStore.open({ servers: nats.url, namespace: `f${process.pid}x${++clusters}`, partitions: 1 });
}

/** The store, failing its `failAt`-th commit from now with UNAVAILABLE before anything is sent (a NATS outage). */
function failingCommit(store: Store, failAt: number): Store {
  let commits = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== "commit") {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      }
      return async (ops: Parameters<Store["commit"]>[0]) => {
        if (++commits === failAt) throw new StoreUnavailableError("injected: NATS went away");
        return target.commit(ops);
      };
    },
  });
}

async function acquiredRoot(node: ReturnType<typeof createMeshNode>, id: string): Promise<number> {
  const created = await node.handle({
    kind: "task.create",
    data: { pid: "w1", ttl: 60_000, action: { kind: "promise.create", data: { id, timeoutAt: T0 + 3_600_000, tags: { "resonate:target": "poll://any@g" } } } },
  });
  expect(created.status).toBe(200);
  return (created as { data: { task: { version: number } } }).data.task!.version;
}

const fulfill = (id: string, version: number, actions: FencedWrite[]): RequestOf<"task.fulfill"> => ({
  kind: "task.fulfill",
  data: { id, version, action: { kind: "promise.settle", data: { id, state: "resolved", value } }, actions },
});
const lastStep = (id: string): FencedWrite => ({
  kind: "promise.create",
  data: { id, timeoutAt: T0 + 3_600_000, settled: { state: "resolved", value } },
});

describe("a fulfill carrying writes on JetStream R1", () => {
  test("is two commits, answered as the memory engine answers its one", async () => {
    const jet = await openJetStream();
    const memory = new MemoryStore();
    const onJet = createMeshNode({ store: jet, clock: new ManualClock(T0) });
    const onMemory = createMeshNode({ store: memory, clock: new ManualClock(T0) });
    try {
      const answers = [];
      for (const node of [onMemory, onJet]) {
        const version = await acquiredRoot(node, "wf");
        const before = node.stats().store.commits;
        answers.push(await node.handle(fulfill("wf", version, [lastStep("wf.3")])));
        answers.push(node.stats().store.commits - before);
      }
      const [memoryAnswer, memoryCommits, jetAnswer, jetCommits] = answers;
      expect(jetAnswer).toEqual(memoryAnswer);
      expect((jetAnswer as { status: number }).status).toBe(200);
      expect([memoryCommits, jetCommits]).toEqual([1, 2]);
      expect(jet.prefersSingleUnitCommits).toBe(true);
    } finally {
      await onJet.stop();
      await onMemory.stop();
      await jet.close();
      await memory.close();
    }
  });

  test("a failure between the writes and the settlement leaves the writes; the retry settles and finds them made", async () => {
    const jet = await openJetStream();
    const node = createMeshNode({ store: failingCommit(jet, 3), clock: new ManualClock(T0) }); // 1: task.create, 2: the writes, 3: the settlement
    try {
      const version = await acquiredRoot(node, "wf");
      const failed = await node.handle(fulfill("wf", version, [lastStep("wf.3")]));
      expect(failed.status).toBe(503);
      expect((await node.handle({ kind: "promise.get", data: { id: "wf.3" } })).status).toBe(200);
      expect((await node.handle({ kind: "promise.get", data: { id: "wf" } })) as { data: { promise: { state: string } } }).toMatchObject({
        data: { promise: { state: "pending" } },
      });
      const retried = await node.handle(fulfill("wf", version, [lastStep("wf.3")]));
      expect(retried.status).toBe(200);
      expect(retried).toMatchObject({ data: { promise: { state: "resolved" }, actions: [{ kind: "promise.create", status: 200 }] } });
    } finally {
      await node.stop();
      await jet.close();
    }
  });
});
