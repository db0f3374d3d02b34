// Start a batch on a worker and wait for all of it.
//   npx tsx src/client.ts [batch id]
// Three photos are quick (1, 2, 3 s) and three are slow (15 s), so there is
// time to kill the worker once the quick ones are done.

import { Resonate } from "@resonate-mesh/sdk";
import type { Photo, Thumbnail } from "./batch.ts";

const id = process.argv[2] ?? "batch-1";
const FAST_MS = Number(process.env.FAST_ITEM_MS ?? 1_000);
const SLOW_MS = Number(process.env.SLOW_ITEM_MS ?? 15_000);

const photos: Photo[] = [
  { name: "photo-1.jpg", ms: FAST_MS },
  { name: "photo-2.jpg", ms: 2 * FAST_MS },
  { name: "photo-3.jpg", ms: 3 * FAST_MS },
  { name: "photo-4.jpg", ms: SLOW_MS },
  { name: "photo-5.jpg", ms: SLOW_MS },
  { name: "photo-6.jpg", ms: SLOW_MS },
];

const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001" });
console.log(`[client] ${id}: ${photos.length} photos sent to group "workers"`);
const thumbnails = await resonate.rpc<Thumbnail[]>(id, "processBatch", photos).target("workers");
for (const t of thumbnails) console.log(`[client] ${t.photo} -> ${t.thumbnail}`);
console.log(`[client] ${id}: ${thumbnails.length} thumbnails`);
await resonate.stop();
