// Fan out: one durable step per photo, all started at once with spawn().
// Fan in: await every future. Each step is its own durable promise, recorded
// the moment it finishes, so a crash loses only the steps still running.

import { appendFileSync } from "node:fs";
import type { Context } from "@resonate-mesh/sdk";

export interface Photo {
  name: string;
  /** How long making its thumbnail takes (a stand-in for real work). */
  ms: number;
}

export interface Thumbnail {
  photo: string;
  thumbnail: string;
}

/** Where each finished thumbnail is logged: the side effect we must not repeat. */
const SIDE_EFFECTS_FILE = process.env.SIDE_EFFECTS_FILE ?? "side-effects.log";

export async function makeThumbnail(ctx: Context, photo: Photo): Promise<Thumbnail> {
  console.log(`[worker] ${photo.name}: started`);
  await new Promise((resolve) => setTimeout(resolve, photo.ms));
  const thumbnail = `thumbs/${photo.name}`;
  appendFileSync(SIDE_EFFECTS_FILE, `wrote ${thumbnail}\n`);
  console.log(`[worker] ${photo.name}: finished`);
  return { photo: photo.name, thumbnail };
}

/** Registered as "processBatch"; the client starts it with resonate.rpc. */
export async function processBatch(ctx: Context, photos: Photo[]): Promise<Thumbnail[]> {
  const futures = [];
  for (const photo of photos) {
    // spawn() starts the step and gives a future at once: all photos run in parallel.
    futures.push(await ctx.run(makeThumbnail, photo).spawn());
  }
  const thumbnails: Thumbnail[] = [];
  for (const future of futures) thumbnails.push(await future.result());
  console.log(`[worker] ${ctx.id}: all ${thumbnails.length} thumbnails done`);
  return thumbnails;
}
