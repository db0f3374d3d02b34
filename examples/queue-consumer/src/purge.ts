// The durable workflow: delete an account's records in batches, each batch a
// ctx.run checkpoint. A worker that dies mid-purge is replaced; the new
// attempt replays the finished batches from their promises and continues with
// the first unfinished one.

import { appendFileSync } from "node:fs";
import type { Context } from "@resonate-mesh/sdk";
import type { PurgeRequest } from "./stream.ts";

const BATCH_SIZE = Number(process.env.BATCH_SIZE ?? 10);
const BATCH_MS = Number(process.env.BATCH_MS ?? 2_000);
/** Where each deleted batch is logged: the side effect we must not repeat. */
const SIDE_EFFECTS_FILE = process.env.SIDE_EFFECTS_FILE ?? "side-effects.log";

async function deleteBatch(ctx: Context, account: string, batch: number, of: number, size: number): Promise<number> {
  console.log(`[worker] ${account}: batch ${batch}/${of} deleting ${size} records`);
  await new Promise((resolve) => setTimeout(resolve, BATCH_MS)); // a stand-in for DELETE ... LIMIT n
  appendFileSync(SIDE_EFFECTS_FILE, `${account} batch ${batch}\n`);
  return size;
}

export interface PurgeResult {
  account: string;
  deleted: number;
  batches: number;
}

/** Registered as "purgeAccount"; the consumer starts one per message. */
export async function purgeAccount(ctx: Context, request: PurgeRequest): Promise<PurgeResult> {
  const batches = Math.ceil(request.records / BATCH_SIZE);
  let deleted = 0;
  for (let batch = 1; batch <= batches; batch++) {
    const size = Math.min(BATCH_SIZE, request.records - deleted);
    deleted += await ctx.run(deleteBatch, request.account, batch, batches, size);
  }
  console.log(`[worker] ${ctx.id}: purged ${request.account}: ${deleted} records in ${batches} batches`);
  return { account: request.account, deleted, batches };
}
