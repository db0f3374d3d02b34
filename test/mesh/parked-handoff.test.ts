// Work that waits on a node where no worker of its group is attached moves
// to a worker of that group as soon as one attaches to another node: it does
// not wait for the owner's retry timer (30 s).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type RunningNode } from "@resonate-mesh/node";
import { NodeClient } from "@resonate-mesh/node/client";
import type { Message } from "@resonate-mesh/node/protocol";
import { useNats } from "../support/use-nats.ts";
import { waitFor } from "../support/wait.ts";

const nats = useNats();
const nodes: RunningNode[] = [];
const clients: NodeClient[] = [];

beforeAll(async () => {
  for (const name of ["park-a", "park-b"]) {
    const node = await startNode({
      store: { kind: "jetstream", servers: nats.url, namespace: "handoff", partitions: 2 },
      port: 0,
      host: "127.0.0.1",
      mesh: { nodeId: name, heartbeatMs: 200, expireMs: 1_000 },
      server: { shutdownGraceMs: 200 },
    });
    await node.ready;
    nodes.push(node);
  }
  await waitFor("both nodes to see each other", () => nodes.every((n) => n.members().length === 2), 10_000);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.close().catch(() => undefined);
});

describe("parked work across the mesh", () => {
  it("an execute parked on node A goes to a worker that attaches to node B, well before the retry interval", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const onA = new NodeClient({ address: a.address });
    const onB = new NodeClient({ address: b.address });
    clients.push(onA, onB);
    await onA.call({
      kind: "promise.create",
      data: { id: "parked-1", timeoutAt: Date.now() + 120_000, tags: { "resonate:target": "poll://any@late-workers" } },
    });
    await waitFor("the execute to wait on node A", () => (a.node.stats().messages as { waiting: number }).waiting >= 1, 10_000);

    const received: Message[] = [];
    const stream = onB.poll("late-workers", "late-1", { onData: (m) => received.push(m), onEnd: () => undefined });
    try {
      // The retry timer would send it again after 30 s; the hand-off takes well under 10.
      await waitFor("the parked execute to reach the worker on node B", () => received.length > 0, 10_000);
      expect(received[0]).toMatchObject({ kind: "execute", task: { id: "parked-1" } });
      expect((a.node.stats().messages as { waiting: number }).waiting).toBe(0);
    } finally {
      stream.cancel();
    }
  }, 60_000);
});
