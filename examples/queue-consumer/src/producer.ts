// Publish purge requests to the stream, each with a message id.
//   npx tsx src/producer.ts [account:records ...]      (default: acct-1:50 acct-2:40 acct-3:30)

import { jetstream } from "@nats-io/jetstream";
import { connectNats, SUBJECT, type PurgeRequest } from "./stream.ts";

const args = process.argv.slice(2);
const requests: PurgeRequest[] = (args.length > 0 ? args : ["acct-1:50", "acct-2:40", "acct-3:30"]).map((arg) => {
  const [account, records] = arg.split(":");
  if (!account || !/^\d+$/.test(records ?? "")) throw new Error(`"${arg}" is not account:records (e.g. acct-1:50)`);
  return { account, records: Number(records) };
});

const { nc } = await connectNats("purge-producer");
const js = jetstream(nc);
for (const request of requests) {
  // The message id names the work: the consumer keys the workflow by it.
  const msgID = `purge-${request.account}`;
  const ack = await js.publish(SUBJECT, JSON.stringify(request), { msgID });
  console.log(`[producer] ${msgID}: ${ack.duplicate ? "duplicate, dropped by the stream" : `published (stream seq ${ack.seq})`}`);
}
await nc.drain();
