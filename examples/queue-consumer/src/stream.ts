// The JetStream side shared by the producer and the consumer: where the
// server is, the stream of purge requests, and the message they carry.

import { jetstreamManager, RetentionPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
export const STREAM = "ACCOUNTS";
export const SUBJECT = "accounts.purge";

/** Delete every record of an account: the seeds' "delete a user's data" job. */
export interface PurgeRequest {
  account: string;
  records: number;
}

export async function connectNats(name: string): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connect({ servers: NATS_URL, name });
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm);
  return { nc, jsm };
}

/** Create the stream on first use; both sides call this, whichever starts first. */
async function ensureStream(jsm: JetStreamManager): Promise<void> {
  try {
    await jsm.streams.info(STREAM);
  } catch {
    await jsm.streams.add({
      name: STREAM,
      subjects: [SUBJECT],
      // Messages stay until consumed and acked (a work queue).
      retention: RetentionPolicy.Workqueue,
      // Publishing the same Nats-Msg-Id again within 2 minutes is dropped by the stream.
      duplicate_window: 120 * 1_000_000_000,
    });
  }
}
