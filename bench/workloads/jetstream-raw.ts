// The raw ceiling of the JetStream engine: the same writes create+settle
// makes (one promise record created, then replaced by its settled version),
// published straight to a stream with the same compare-and-set header the
// node sets, over one shared connection (as a node has one), to a stream of
// the node's replica count. A commit of one record is one such publish (the
// store sends an atomic batch only for several); the node's create+settle
// rows on JetStream compare against this.

import { jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { closedLoop } from "../lib/measure.ts";
import type { RunContext, Workload } from "../lib/types.ts";

const data = Buffer.from(JSON.stringify({ func: "bench", args: [1, 2, 3], version: 1 })).toString("base64");

function record(id: string, state: string): Uint8Array {
  const now = Date.now();
  return new TextEncoder().encode(
    JSON.stringify({
      id,
      state,
      param: { headers: {}, data },
      value: state === "pending" ? { headers: {}, data: "" } : { headers: {}, data },
      tags: {},
      timeoutAt: now + 3_600_000,
      createdAt: now,
      ...(state === "pending" ? {} : { settledAt: now }),
      callbacks: [],
      listeners: [],
    }),
  );
}

async function casPublish(nc: NatsConnection, subject: string, payload: Uint8Array, expected: number): Promise<number> {
  const h = headers();
  h.set("Nats-Expected-Last-Subject-Sequence", String(expected));
  const reply = await nc.request(subject, payload, { headers: h, timeout: 10_000 });
  const ack = reply.json<{ seq?: number; error?: { description: string } }>();
  if (ack.error !== undefined || ack.seq === undefined) throw new Error(`publish refused: ${ack.error?.description}`);
  return ack.seq;
}

export const workload: Workload = {
  name: "raw JetStream CAS",
  operation: "two compare-and-set publishes of a promise record (created, then settled) straight to a stream, one connection",
  concurrency: [1, 64],
  async run(ctx: RunContext) {
    if (ctx.natsUrl === undefined) throw new Error("the raw JetStream row needs a JetStream store");
    const nc = await connect({ servers: ctx.natsUrl.split(","), noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    const stream = `RAW_${ctx.concurrency}_${Date.now()}`;
    await jsm.streams.add({
      name: stream,
      subjects: [`raw${ctx.concurrency}x${Date.now()}.>`],
      allow_atomic: true,
      allow_direct: true,
      max_msgs_per_subject: 1,
      num_replicas: ctx.replicas ?? 1,
    } as never);
    const info = await jsm.streams.info(stream);
    const prefix = info.config.subjects![0]!.slice(0, -1);
    try {
      return await closedLoop(ctx, (index) => ({
        op: async (seq) => {
          const id = `${index}-${seq}`;
          const subject = `${prefix}${id}`;
          const created = await casPublish(nc, subject, record(id, "pending"), 0);
          await casPublish(nc, subject, record(id, "resolved"), created);
        },
        close: () => undefined,
      }));
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  },
};
