// A durable JetStream consumer that turns each message into a durable
// workflow and moves on: it waits for the workflow's promise to EXIST on the
// node (spawn), not for the workflow to finish, then acks. The promise id is
// the message id, so a redelivered message (the consumer died before its ack,
// the ack was lost, ...) names a promise that already exists: no second run.

import { AckPolicy, jetstream, type JsMsg } from "@nats-io/jetstream";
import { Resonate } from "@resonate-mesh/sdk";
import { connectNats, STREAM, SUBJECT, type PurgeRequest } from "./stream.ts";

const DURABLE = "purger";
const ACK_WAIT_MS = Number(process.env.ACK_WAIT_MS ?? 10_000);
// Demo switch: die right after dispatching the first message, before acking it.
const CRASH_BEFORE_ACK = process.env.CRASH_BEFORE_ACK === "1";

const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001" });
const { nc, jsm } = await connectNats("purge-consumer");

// Durable: the server remembers what this consumer has acked across restarts.
try {
  await jsm.consumers.info(STREAM, DURABLE);
} catch {
  await jsm.consumers.add(STREAM, {
    durable_name: DURABLE,
    filter_subject: SUBJECT,
    ack_policy: AckPolicy.Explicit,
    // Unacked messages come again after this long.
    ack_wait: ACK_WAIT_MS * 1_000_000,
  });
}
const consumer = await jetstream(nc).consumers.get(STREAM, DURABLE);
const messages = await consumer.consume({ max_messages: 100 });
console.log(`[consumer] consuming ${STREAM} as durable consumer "${DURABLE}"`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void (async () => {
      messages.stop();
      await nc.drain();
      await resonate.stop();
      process.exit(0);
    })();
  });
}

/** The message's id (set by the producer), else its place in the stream. */
function workflowId(m: JsMsg): string {
  return m.headers?.get("Nats-Msg-Id") || `${m.info.stream}-${m.seq}`;
}

for await (const m of messages) {
  const id = workflowId(m);
  try {
    const request = m.json<PurgeRequest>();
    await resonate.rpc(id, "purgeAccount", request).target("workers").spawn();
  } catch (err) {
    console.error(`[consumer] ${id}: dispatch failed, redelivering in 1 s:`, err);
    m.nak(1_000);
    continue;
  }
  console.log(`[consumer] ${id}: dispatched (stream seq ${m.seq}, delivery ${m.info.deliveryCount})`);
  if (CRASH_BEFORE_ACK) {
    console.log(`[consumer] ${id}: crashing before the ack (CRASH_BEFORE_ACK=1)`);
    process.kill(process.pid, "SIGKILL");
  }
  m.ack();
}
