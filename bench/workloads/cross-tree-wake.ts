// A settle that wakes an awaiter of another call tree: the effect crosses
// partitions, so on JetStream it goes through the outbox (protocol/outbox.ts,
// mesh/outbox.ts). Each operation sets the scene with plain requests (the
// awaited promise in one tree, a targeted awaiter in another whose partition
// differs, its task acquired and suspended on the awaited), then settles the
// awaited promise and waits for the awaiter's task to come back to the poll
// stream as an `execute`. The latency is that last part only: settle until
// the resumed task is delivered; the CPU columns count the whole operation.

import { NodeClient } from "@resonate-mesh/node/client";
import { partitionOfId } from "@resonate-mesh/node/protocol";
import { closedLoop } from "../lib/measure.ts";
import type { Workload } from "../lib/types.ts";

/** The bench node's partitions (bench/lib/node-process.ts); the memory store has one, and the row is then the same operation within one. */
const PARTITIONS = 8;
const HOUR = 3_600_000;

/** An id `base-<n>` whose tree lives in another partition than `other`'s. */
function inAnotherPartition(base: string, other: string): string {
  for (let n = 0; ; n++) {
    const id = `${base}-${n}`;
    if (partitionOfId(id, PARTITIONS) !== partitionOfId(other, PARTITIONS)) return id;
  }
}

export const workload: Workload = {
  name: "cross-tree wake",
  operation:
    "create an awaited promise and a targeted awaiter in another tree and partition, acquire and suspend the awaiter on it (setup, untimed), then settle the awaited until the awaiter's execute arrives (timed)",
  concurrency: [1, 16],
  run: (ctx) =>
    closedLoop(ctx, (index) => {
      const client = new NodeClient({ address: ctx.address, maxConnections: 1 });
      const group = `${ctx.prefix}-g${index}`.replace(/[^A-Za-z0-9_-]/g, "-");
      const pid = `w${index}`;
      /** Executes received, by task id, for the operation waiting on them. */
      const waiting = new Map<string, { version: number; resolve: () => void }>();
      const early = new Map<string, number>();
      let opened!: () => void;
      let failed: ((err: Error) => void) | undefined;
      const open = new Promise<void>((resolve, reject) => {
        opened = resolve;
        failed = (err) => reject(err);
      });
      const stream = client.poll(group, pid, {
        onOpen: () => opened(),
        onData: (message) => {
          if (message.kind !== "execute") return;
          const w = waiting.get(message.task.id);
          if (w !== undefined && message.task.version >= w.version) {
            waiting.delete(message.task.id);
            w.resolve();
          } else early.set(message.task.id, Math.max(message.task.version, early.get(message.task.id) ?? -1));
        },
        onEnd: (error) => failed?.(new Error(`the poll stream ended: ${error?.message ?? "closed by the node"}`)),
      });
      const executed = (id: string, version: number): Promise<void> => {
        if ((early.get(id) ?? -1) >= version) {
          early.delete(id);
          return Promise.resolve();
        }
        return new Promise((resolve) => waiting.set(id, { version, resolve }));
      };
      return {
        op: async (seq) => {
          await open;
          const awaited = `${ctx.prefix}-${index}-${seq}-awaited`;
          const awaiter = inAnotherPartition(`${ctx.prefix}-${index}-${seq}-awaiter`, awaited);
          const timeoutAt = Date.now() + HOUR;
          await client.call({ kind: "promise.create", data: { id: awaited, timeoutAt } });
          const dispatched = executed(awaiter, 0);
          await client.call({ kind: "promise.create", data: { id: awaiter, timeoutAt, tags: { "resonate:target": `poll://uni@${group}/${pid}` } } });
          await dispatched;
          await client.call({ kind: "task.acquire", data: { id: awaiter, version: 0, pid, ttl: HOUR } });
          await client.call({
            kind: "task.suspend",
            data: { id: awaiter, version: 1, actions: [{ kind: "promise.register_callback", data: { awaited, awaiter } }] },
          });
          const resumed = executed(awaiter, 1);
          const started = performance.now();
          await client.call({ kind: "promise.settle", data: { id: awaited, state: "resolved" } });
          await resumed;
          const latency = performance.now() - started;
          // Done with the awaiter: its task goes, so nothing of it is left to retry.
          await client.call({ kind: "task.acquire", data: { id: awaiter, version: 1, pid, ttl: HOUR } });
          await client.call({ kind: "task.fulfill", data: { id: awaiter, version: 2, action: { kind: "promise.settle", data: { id: awaiter, state: "resolved" } } } });
          return latency;
        },
        close: () => {
          failed = undefined;
          stream.cancel();
          client.close();
        },
      };
    }),
};
